"""The missions locales: their codes and départements (from the repository's seed), their relative sizes,
the month each one switches from Parcours 3 to I-Milo, and the month Garantie jeunes reaches each
département."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from orchestration.lib.contract import DEPARTEMENT_PATTERN, ML_CODE_PATTERN
from orchestration.lib.synth import targets as T
from orchestration.lib.synth.timeutil import mi_of

TEXT_COLUMNS = ("code_ml", "nom_ml", "code_departement", "code_region_2016")
SEED_FILE = Path(__file__).resolve().parents[3] / "seeds" / "ref_missions_locales.csv"
IDF_REGION = "11"  # Île-de-France migrated last, in July 2015 (ARML IdF 2015)
SWITCH_FIRST, SWITCH_LAST = mi_of("2015-02"), mi_of("2015-07")
# Saint-Martin (978) is outside the contract's département list: its young people live in "971" records.
DEPT_FALLBACK = {"978": "971"}


@dataclass
class Network:
    codes: list[str]  # ML codes
    dept: np.ndarray  # département index of each ML (into `depts`)
    depts: list[str]  # département codes
    region: list[str]  # 2016 region of each ML
    weight: np.ndarray  # relative size of each ML (sums to 1)
    switch_mi: np.ndarray  # first I-Milo month of each ML
    gj_start_dept: np.ndarray  # first month of GJ entries per département index

    @property
    def n(self) -> int:
        return len(self.codes)

    def switch_table(self) -> pl.DataFrame:
        from orchestration.lib.synth.timeutil import month_str

        return pl.DataFrame(
            {
                "code_ml": self.codes,
                "code_departement": [self.depts[d] for d in self.dept],
                "code_region_2016": self.region,
                "switch_month": [month_str(int(m)) for m in self.switch_mi],
            }
        )


def load_missions_locales(path: Path | None = None) -> pl.DataFrame:
    """The seed's ML list, without the placeholder codes (99999S00 and the like are not real MLs)."""
    df = pl.read_csv(
        path or SEED_FILE,
        schema_overrides=dict.fromkeys(TEXT_COLUMNS, pl.String),
    )
    code = pl.col("code_ml")
    df = df.filter(~code.str.starts_with("9999") & code.str.contains(ML_CODE_PATTERN))
    if "is_placeholder" in df.columns:
        df = df.filter(pl.col("is_placeholder").cast(pl.String).str.to_lowercase() != "true")
    # A missing département is taken from the head-office INSEE commune code the ML code starts with.
    dep = pl.col("code_departement").fill_null(
        pl.when(pl.col("code_ml").str.slice(0, 2) == "97")
        .then(pl.col("code_ml").str.slice(0, 3))
        .otherwise(pl.col("code_ml").str.slice(0, 2))
    )
    df = df.with_columns(dep.replace(DEPT_FALLBACK).alias("code_departement"))
    df = df.filter(pl.col("code_departement").str.contains(DEPARTEMENT_PATTERN))
    return df.sort("code_ml").unique("code_ml", keep="first", maintain_order=True)


def build_network(rng: np.random.Generator, path: Path | None = None) -> Network:
    df = load_missions_locales(path)
    codes = df["code_ml"].to_list()
    dep_codes = df["code_departement"].to_list()
    regions = [r if r is not None else "" for r in df["code_region_2016"].to_list()]
    depts = sorted(set(dep_codes))
    dept = np.array([depts.index(d) for d in dep_codes], dtype=np.int16)
    # Sizes: lognormal, so a few big urban MLs and many small ones (the real spread is about that wide).
    weight = rng.lognormal(0.0, 0.55, len(codes))
    weight /= weight.sum()

    # Switch-over: each region migrates in one month (Mar-Jun), with ~15% pilots and stragglers anywhere
    # in Feb-Jul; Île-de-France all in July.
    region_month = {r: int(rng.integers(SWITCH_FIRST + 1, SWITCH_LAST)) for r in sorted(set(regions))}
    other = rng.integers(SWITCH_FIRST, SWITCH_LAST + 1, len(codes))
    stray = rng.random(len(codes)) < 0.15
    switch = np.array([region_month[r] for r in regions])
    switch = np.where(stray, other, switch)
    switch = np.where(np.array(regions) == IDF_REGION, SWITCH_LAST, switch)

    # GJ territories: waves 1 and 2 as published, then enough départements in 2015 and 2016 to reach the
    # published counts, the rest in January 2017.
    gj = np.full(len(depts), mi_of("2017-01"), dtype=np.int64)
    w1 = [i for i, d in enumerate(depts) if d in T.GJ_WAVE1]
    w2 = [i for i, d in enumerate(depts) if d in T.GJ_WAVE2]
    gj[w1] = T.GJ_FIRST
    gj[w2] = mi_of("2015-01")
    rest = np.array([i for i in range(len(depts)) if i not in w1 and i not in w2])
    rest = rest[rng.permutation(len(rest))]
    n15 = max(0, T.GJ_DEPTS_2015 - len(w1) - len(w2))
    n16 = max(0, T.GJ_DEPTS_2016 - T.GJ_DEPTS_2015)
    gj[rest[:n15]] = rng.integers(mi_of("2015-02"), mi_of("2015-12") + 1, n15)
    wave16 = rest[n15 : n15 + n16]
    gj[wave16] = rng.integers(mi_of("2016-01"), mi_of("2016-10") + 1, wave16.size)
    return Network(codes, dept, depts, regions, weight, switch.astype(np.int64), gj)


def dept_number(codes: list[str]) -> np.ndarray:
    """Two-digit numeric département for a NIR (Corsica 2A/2B -> 20, overseas 97x -> 97)."""
    out = []
    for c in codes:
        out.append(20 if c in ("2A", "2B") else int(c[:2]) if re.fullmatch(r"[0-9]+", c) else 75)
    return np.array(out, dtype=np.int64)
