"""Month indices and day numbers: the simulation counts months as ``year * 12 + month - 1`` and days as
days since 1970-01-01, so every date computation is integer arithmetic on numpy arrays."""

from __future__ import annotations

import numpy as np

_EPOCH_MI = 1970 * 12


def mi_of(month: str) -> int:
    year, mon = (int(x) for x in month.split("-"))
    return year * 12 + mon - 1


def month_str(mi: int) -> str:
    return f"{mi // 12:04d}-{mi % 12 + 1:02d}"


def month_start(mi):
    """First day (day number) of month index `mi` (scalar or array)."""
    m = np.asarray(mi, dtype=np.int64) - _EPOCH_MI
    return m.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def month_end(mi):
    """Day number of the first day of the next month (exclusive end)."""
    return month_start(np.asarray(mi, dtype=np.int64) + 1)


def month_of(days):
    d = np.asarray(days, dtype=np.int64)
    return d.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) + _EPOCH_MI


def add_months(days, k):
    """Same day of month `k` months later, clipped to the month's length (31 Jan + 1 month = 28/29 Feb)."""
    d = np.asarray(days, dtype=np.int64)
    mi = month_of(d)
    dom = d - month_start(mi)
    target = mi + np.asarray(k, dtype=np.int64)
    length = month_end(target) - month_start(target)
    return month_start(target) + np.minimum(dom, length - 1)


def business_days(rng: np.random.Generator, lo, hi):
    """A random working day in [lo, hi) for each pair (counsellors do not work at weekends); a window
    without a working day gets any day of the window."""
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.maximum(np.asarray(hi, dtype=np.int64), lo + 1)
    u = rng.random(lo.shape[0])
    lo_d, hi_d = lo.astype("datetime64[D]"), hi.astype("datetime64[D]")
    nb = np.busday_count(lo_d, hi_d)
    k = np.floor(u * nb).astype(np.int64)
    day = np.busday_offset(lo_d, k, roll="forward").astype(np.int64)
    plain = lo + np.floor(u * (hi - lo)).astype(np.int64)
    return np.where(nb > 0, day, plain)


def next_business_day(days):
    """The day itself if a working day, else the next Monday."""
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    return np.busday_offset(d, 0, roll="forward").astype(np.int64)


def busday_count(lo, hi):
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.maximum(np.asarray(hi, dtype=np.int64), lo)
    return np.busday_count(lo.astype("datetime64[D]"), hi.astype("datetime64[D]"))


def years_between(birth, day):
    """Age in completed years at `day` (vectorised; 365.25-day years, so at most a day off at a birthday)."""
    d = np.asarray(day, dtype=np.int64) - np.asarray(birth, dtype=np.int64)
    return d * 4 // 1461
