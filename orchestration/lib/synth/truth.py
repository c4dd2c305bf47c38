"""The ground truth of a run, written beside the deliveries (never ingested): who the people really are,
every scheme spell, the true monthly and yearly totals, and every planted fault."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from orchestration.lib.synth import records as R
from orchestration.lib.synth.events import Tally
from orchestration.lib.synth.network import Network
from orchestration.lib.synth.population import LEVELS, Population
from orchestration.lib.synth.schemes import REASONS, SCHEMES, Schemes
from orchestration.lib.synth.situations import CATEGORIES, SUBTYPES, Situations
from orchestration.lib.synth.timeutil import month_end, month_of, month_start, month_str


def _date(days) -> pl.Series:
    d = np.asarray(days, dtype=np.int64)
    s = pl.Series(np.where(d >= 0, d, 0).astype(np.int32)).cast(pl.Date)
    return pl.select(pl.when(pl.Series(d >= 0)).then(s)).to_series()


def write_truth(
    path: Path,
    start_mi: int,
    end_mi: int,
    net: Network,
    pop: Population,
    sch: Schemes,
    sits: Situations,
    tally: Tally,
    planted: list[dict],
    late: list[dict],
    delivered: np.ndarray,
) -> None:
    path.mkdir(parents=True, exist_ok=True)
    w_start, w_end = month_start(start_mi), month_end(end_mi)

    # People whose contact overlaps the window, and anyone a delivered record names (a situation declared
    # after the contact ended, for instance).
    overlap = np.flatnonzero(((pop.end_mi >= start_mi) & (pop.fw_mi <= end_mi)) | delivered[: pop.n])
    _write_chunked(path / "persons.parquet", overlap, lambda keys: _persons(keys, end_mi, net, pop, delivered))

    # Spells overlapping the window; ends after the window are not known yet.
    sp, en = sch.sp, sch.en
    last_planned = np.zeros(sp.n, dtype=np.int64)
    np.maximum.at(last_planned, en["spell"], en["planned"].astype(np.int64))
    ren = en["renewal"] & (en["entry"] < w_end)
    renewals = np.bincount(en["spell"][ren], minlength=sp.n)

    def spells(s: np.ndarray) -> pl.DataFrame:
        exit_day = sp["exit"][s].astype(np.int64)
        known = exit_day < w_end
        person = sp["person"][s]
        switch_day = month_start(net.switch_mi[pop.ml[person]])
        return pl.DataFrame(
            {
                "spell_key": s,
                "person_key": person,
                "scheme": pl.Series(SCHEMES).gather(sp["scheme"][s]),
                "code_ml": pl.Series(net.codes).gather(pop.ml[person]),
                "entry_date": _date(sp["entry"][s]),
                "planned_end": _date(last_planned[s]),
                "actual_end": _date(np.where(known, exit_day, -1)),
                "exit_reason": pl.select(
                    pl.when(pl.Series(known)).then(pl.Series(REASONS).gather(sp["reason"][s]))
                ).to_series(),
                "renewals": renewals[s],
                "crosses_switch_over": sp["p3_entry"][s] & (exit_day >= switch_day),
                "parent_spell_key": pl.Series(sp["parent"][s]).replace(-1, None),
                "age_at_entry": sp["age"][s],
                "level_at_entry": pl.Series(LEVELS).gather(sp["level"][s]),
                "diploma_at_entry": sp["dipl"][s],
                "known_3_months_before": sp["known"][s],
                "sex": pl.Series(np.where(pop.female[person], "F", "H")),
                "qpv": pop.qpv[person],
                "zrr": pop.zrr[person],
            }
        )

    overlap = np.flatnonzero((sp["exit"] >= w_start) & (sp["entry"] < w_end))
    _write_chunked(path / "spells.parquet", overlap, spells)

    def enrolments(e: np.ndarray) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "enrolment_key": e,
                "spell_key": en["spell"][e],
                "person_key": en["person"][e],
                "scheme": pl.Series(SCHEMES).gather(en["scheme"][e]),
                "entry_date": _date(en["entry"][e]),
                "planned_end": _date(en["planned"][e]),
                "actual_end": _date(np.where(en["actual"][e] < w_end, en["actual"][e], -1)),
                "renewal": en["renewal"][e],
                "parent_enrolment_key": pl.Series(en["parent"][e]).replace(-1, None),
            }
        )

    e = np.flatnonzero((en["entry"] < w_end) & ((en["actual"] < 0) | (en["actual"] >= w_start)))
    _write_chunked(path / "enrolments.parquet", e, enrolments)
    t = sits.t

    def situations(k: np.ndarray) -> pl.DataFrame:
        sub = t["sub"][k]
        return pl.DataFrame(
            {
                "situation_key": k,
                "person_key": t["person"][k],
                "category": pl.Series(CATEGORIES).gather(t["cat"][k]),
                "subtype": pl.select(
                    pl.when(pl.Series(sub >= 0)).then(pl.Series(SUBTYPES).gather(np.maximum(sub, 0)))
                ).to_series(),
                "start_date": _date(t["start"][k]),
                "end_date": _date(t["end"][k]),
            }
        )

    k = np.flatnonzero((t["start"] < w_end) & ((t["end"] < 0) | (t["end"] >= w_start)))
    _write_chunked(path / "situations.parquet", k, situations)

    months = np.arange(start_mi, end_mi + 1)
    monthly = _monthly(months, pop, sch, tally)
    monthly.with_columns(pl.col("month").map_elements(month_str, return_dtype=pl.String)).write_csv(
        path / "monthly_totals.csv"
    )
    _yearly(monthly, tally).write_csv(path / "yearly_totals.csv")
    intensity = pl.concat(tally.intensity) if tally.intensity else pl.DataFrame()
    if intensity.height:
        intensity = (
            intensity.with_columns(year=pl.col("month") // 12)
            .group_by("year", "scheme", "month_of_stay")
            .agg(pl.exclude("month").sum())
            .sort("year", "scheme", "month_of_stay")
        )
    intensity.write_csv(path / "intensity.csv")
    pl.DataFrame(planted, schema={"file": pl.String, "line": pl.Int64, "kind": pl.String}).sort(
        "file", "line"
    ).write_csv(path / "faults.csv")
    pl.DataFrame(
        late,
        schema={
            "system": pl.String,
            "table": pl.String,
            "record_month": pl.String,
            "delivery_month": pl.String,
            "records": pl.Int64,
        },
    ).write_csv(path / "late_records.csv")
    net.switch_table().write_csv(path / "switch_over.csv")


def _persons(keys: np.ndarray, end_mi: int, net: Network, pop: Population, delivered: np.ndarray) -> pl.DataFrame:
    switch = net.switch_mi[pop.ml[keys]]
    in_imilo = (pop.end_mi[keys] >= switch) & (switch <= end_mi)
    p3 = R.p3_dossier(pop, keys)
    ids = R.imilo_person(keys)
    return pl.DataFrame(
        {
            "person_key": keys,
            "num_dossier_p3": p3,
            "id_jeune": pl.select(pl.when(pl.Series(in_imilo)).then(ids)).to_series(),
            "code_ml": pl.Series(net.codes).gather(pop.ml[keys]),
            "code_departement_ml": pl.Series(net.depts).gather(net.dept[pop.ml[keys]]),
            "departement_residence": pl.Series(net.depts).gather(pop.dept[keys]),
            "birth_date": _date(pop.birth[keys]),
            "sex": pl.Series(np.where(pop.female[keys], "F", "H")),
            "level_at_welcome": pl.Series(LEVELS).gather(pop.level0[keys]),
            "diploma_at_welcome": pop.dipl0[keys],
            "level_last": pl.Series(LEVELS).gather(pop.level[keys]),
            "diploma_last": pop.dipl[keys],
            "zus": pop.zus[keys],
            "qpv": pop.qpv[keys],
            "zrr": pop.zrr[keys],
            "first_welcome": _date(pop.fw_day[keys]),
            "last_contact_month": _date(month_start(pop.end_mi[keys])).dt.strftime("%Y-%m"),
            "migrated": (pop.fw_mi[keys] < switch) & in_imilo,
            # named by at least one delivered record (dossier, event, enrolment or situation): the people a
            # warehouse built from the deliveries can count
            "has_delivered_record": delivered[keys],
        }
    )


def _write_chunked(path: Path, index: np.ndarray, build, chunk: int = 1_000_000) -> None:
    """Write the frame of `index` to parquet a chunk at a time (row groups), so that a national run never
    holds a whole truth table in memory."""
    if index.size == 0:
        build(index).write_parquet(path)
        return
    writer = None
    try:
        for lo in range(0, index.size, chunk):
            table = build(index[lo : lo + chunk]).to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


def _monthly(months: np.ndarray, pop: Population, sch: Schemes, tally: Tally) -> pl.DataFrame:
    lo = int(months[0])
    size = int(months[-1]) - lo + 1

    def per_month(m: np.ndarray) -> np.ndarray:
        m = m[(m >= lo) & (m < lo + size)] - lo
        return np.bincount(m, minlength=size)

    cols: dict[str, np.ndarray] = {"month": months, "first_welcomes": per_month(pop.fw_mi.astype(np.int64))}
    ev = pl.DataFrame(tally.monthly).filter(pl.col("month").is_between(lo, lo + size - 1)).sort("month")
    for c in (
        "in_contact",
        "received_individual",
        "individual_interviews",
        "workshops",
        "collective_information",
        "remote_contacts",
    ):
        cols[c] = ev[c].to_numpy() if ev.height == size else np.zeros(size, dtype=np.int64)
    sp, en = sch.sp, sch.en
    entry_m = month_of(sp["entry"])
    exit_m = month_of(sp["exit"])
    en_m = month_of(en["entry"])
    for code, name in enumerate(SCHEMES):
        cols[f"entries_{name}"] = per_month(entry_m[sp["scheme"] == code])
        cols[f"entries_with_renewals_{name}"] = per_month(en_m[en["scheme"] == code])
        # End-of-month stock: entered by the month's end and not yet out.
        e_all = np.bincount(np.clip(entry_m[sp["scheme"] == code] - lo, -1, size) + 1, minlength=size + 2)
        x_all = np.bincount(np.clip(exit_m[sp["scheme"] == code] - lo, -1, size) + 1, minlength=size + 2)
        cols[f"stock_{name}"] = (np.cumsum(e_all) - np.cumsum(x_all))[1 : size + 1]
    return pl.DataFrame(cols)


def _yearly(monthly: pl.DataFrame, tally: Tally) -> pl.DataFrame:
    sums = [
        c
        for c in monthly.columns
        if c not in ("month", "in_contact", "received_individual") and not c.startswith("stock_")
    ]
    stocks = [c for c in monthly.columns if c.startswith("stock_")]
    y = (
        monthly.with_columns(year=pl.col("month") // 12)
        .group_by("year", maintain_order=True)
        .agg(
            [pl.col(c).sum() for c in sums] + [pl.col(c).last() for c in stocks] + [pl.len().alias("months")],
        )
    )
    tally_years = pl.DataFrame(
        tally.yearly,
        schema=dict.fromkeys(("year", "in_contact", "received_individual", "received"), pl.Int64),
    )
    y = y.join(tally_years, on="year", how="left")
    first = ["year", "months", "first_welcomes", "in_contact", "received", "received_individual"]
    return y.select(first + [c for c in y.columns if c not in first])
