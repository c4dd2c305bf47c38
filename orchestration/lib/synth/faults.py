"""Deliberate defects, planted where a real extract would have them, and listed so tests can check that
the loader catches each one. Faults re-export `Faults` (the rates) from config."""

from __future__ import annotations

import numpy as np
import polars as pl

from orchestration.lib.synth.config import Faults

__all__ = ["Faults", "render", "split_late", "corrupt_v1"]

UNKNOWN_CODE = {"parcours3": ("TYPE_EVT", "7"), "imilo": ("type_evenement", "ENTRETIEN_COLLECTIF")}
MALFORMED = ("malformed_missing_field", "malformed_extra_field", "malformed_unclosed_quote")
UNKNOWN_ID_BASE = {"parcours3": 900_000_000, "imilo": 1 << 40}  # far above any real record number


def split_late(df: pl.DataFrame, rate: float, rng: np.random.Generator, last_mi: np.ndarray) -> pl.DataFrame:
    """Give each record a delivery month: its own, or 1-3 months later for a share `rate` of them, never past
    the last month its ML delivers in the same system (`last_mi`, per row). Returns df with `deliver`."""
    n = df.height
    delay = np.where(rng.random(n) < rate, rng.choice([1, 2, 3], n, p=[0.7, 0.2, 0.1]), 0)
    own = df["month"].to_numpy().astype(np.int64)
    deliver = np.maximum(np.minimum(own + delay, last_mi), own)
    return df.with_columns(deliver=pl.Series(deliver, dtype=pl.Int32))


def _line(values: list[str | None], sep: str) -> str:
    out = []
    for v in values:
        v = v or ""
        if any(c in v for c in (sep, '"', "\n", "\r")):
            v = '"' + v.replace('"', '""') + '"'
        out.append(v)
    return sep.join(out)


def render(
    df: pl.DataFrame,
    header: list[str],
    sep: str,
    eol: str,
    encoding: str,
    rng: np.random.Generator,
    faults: Faults,
    entity: str,
    system: str,
    unknown_counter: list[int],
) -> tuple[bytes, list[tuple[int, str]]]:
    """CSV bytes of `df` with the file faults planted: duplicate lines, extra unknown-code event lines and
    malformed lines. Returns the bytes and the (1-based line number, kind) of each planted line."""
    n = df.height
    planted: list[tuple[int, str]] = []
    order = np.arange(n)
    kinds = np.zeros(n, dtype=np.int8)  # 0 normal, 1 duplicate, 2 unknown code
    extra = []
    if n and faults.unknown_code_rate and entity == "events":
        k = int(rng.binomial(n, faults.unknown_code_rate))
        if k:
            col, code = UNKNOWN_CODE[system]
            src = df[np.sort(rng.choice(n, k, replace=False)).tolist()]
            base = UNKNOWN_ID_BASE[system] + unknown_counter[0]
            unknown_counter[0] += k
            if system == "parcours3":
                ids = pl.Series(np.arange(base, base + k)).cast(pl.String)
            else:
                from orchestration.lib.synth.names import imilo_ids
                from orchestration.lib.synth.records import SALT_EVENT

                ids = imilo_ids(np.arange(base, base + k), SALT_EVENT)
            extra.append(src.with_columns(ids.alias(header[1]), pl.lit(code).alias(col)))
    if extra:
        k = extra[0].height
        pos = np.sort(rng.integers(0, n + 1, k))
        order = np.insert(order, pos, np.arange(n, n + k))
        kinds = np.insert(kinds, pos, 2)
        df = pl.concat([df, extra[0]])
    if n and faults.duplicate_rate:
        k = int(rng.binomial(n, faults.duplicate_rate))
        if k:
            at = np.sort(rng.choice(order.size, k, replace=False))
            order = np.insert(order, at + 1, order[at])
            kinds = np.insert(kinds, at + 1, 1)
    body = df.select(pl.all().gather(order)) if order.size != df.height or extra else df
    text = body.write_csv(separator=sep, include_header=False, line_terminator=eol, quote_style="necessary")
    lines_total = order.size
    # Malformed lines: copies of real rows with a field missing or one too many, anywhere in the file; an
    # unclosed quote only as the last line, so it cannot swallow real records.
    n_bad = int(rng.binomial(n, faults.malformed_rate)) if n and faults.malformed_rate else 0
    inserts: list[tuple[int, str, str]] = []
    unclosed = False
    for _ in range(n_bad):
        row = df.row(int(rng.integers(0, n)))
        kind = MALFORMED[int(rng.choice(3, p=[0.4, 0.4, 0.2]))]
        if kind == "malformed_unclosed_quote" and unclosed:  # only one: it must be the last line
            kind = "malformed_missing_field"
        unclosed |= kind == "malformed_unclosed_quote"
        values = list(row)
        if kind == "malformed_missing_field":
            values = values[:-2] + values[-1:]
            inserts.append((int(rng.integers(0, lines_total + 1)), _line(values, sep), kind))
        elif kind == "malformed_extra_field":
            values = values + ["EN TROP"]
            inserts.append((int(rng.integers(0, lines_total + 1)), _line(values, sep), kind))
        else:
            values[-1] = '"' + (values[-1] or "Note sans fin").replace('"', "")
            inserts.append((10**12, sep.join(v or "" for v in values), kind))
    inserts.sort(key=lambda x: x[0])
    if inserts:
        raw = text.split(eol)
        tail = raw.pop() if raw and raw[-1] == "" else None
        fault_lines = []
        for shift, (pos, line, kind) in enumerate(inserts):
            at = min(pos, lines_total) + shift
            raw.insert(at, line)
            fault_lines.append((at, kind))
        new_index = np.arange(lines_total)
        for pos, _, _ in inserts:
            new_index[min(pos, lines_total) :] += 1
        planted += [(at + 2, kind) for at, kind in fault_lines]
        if tail is not None:
            raw.append(tail)
        text = eol.join(raw)
    else:
        new_index = np.arange(lines_total)
    for at in np.flatnonzero(kinds == 1):
        planted.append((int(new_index[at]) + 2, "duplicate_line"))
    for at in np.flatnonzero(kinds == 2):
        planted.append((int(new_index[at]) + 2, "unknown_code"))
    data = (sep.join(header) + eol + text).encode(encoding)
    return data, sorted(planted)


def corrupt_v1(df: pl.DataFrame, entity: str, rate: float, rng: np.random.Generator):
    """The faulty first delivery of a re-delivered month: some records missing, some with a wrong date.
    Returns (v1 frame, v1 rows that v2 corrects, v2 rows missing from v1), rows 0-based."""
    n = df.height
    if n == 0 or rate <= 0:
        return df, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    u = rng.random(n)
    missing = np.flatnonzero(u < rate)
    wrong = np.flatnonzero((u >= rate) & (u < 2 * rate))
    date_col = {
        "young_people": "date_maj",
        "events": "date_evenement",
        "scheme_enrolments": "date_fin_prevue",
        "situations": "date_debut",
    }[entity]
    col = df[date_col].str.to_date("%Y-%m-%d")
    shifted = col.gather(wrong).dt.offset_by("-1d").dt.strftime("%Y-%m-%d") if wrong.size else None
    v1 = df
    if wrong.size:
        v1 = df.with_columns(df[date_col].scatter(wrong, shifted))
    keep = np.setdiff1d(np.arange(n), missing)
    v1 = v1.select(pl.all().gather(keep)) if missing.size else v1
    wrong_in_v1 = np.searchsorted(keep, wrong)
    return v1, wrong_in_v1, missing
