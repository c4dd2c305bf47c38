"""National volumes the simulation is calibrated on (BRIEF sections 2-4), as monthly series at scale 1.

Published figures are used where they exist; the years in between are this project's assumptions,
marked "assumption" below, chosen to join the published points smoothly.
"""

from __future__ import annotations

import numpy as np

from orchestration.lib.synth.timeutil import mi_of

# Month profile of first welcomes: the Sep-Oct peak after the school year ends, the August trough.
WELCOME_SEASON = np.array([1.00, 0.95, 1.00, 0.92, 0.85, 0.85, 0.90, 0.60, 1.30, 1.35, 1.18, 0.85])
# Scheme entries follow the same school calendar, a little sharper (PACEA September ~1.45x the mean).
ENTRY_SEASON = np.array([0.95, 0.95, 1.00, 0.92, 0.88, 0.88, 0.80, 0.60, 1.45, 1.25, 1.20, 1.12])

# First welcomes a year: 2012-2014 published (Sénat r16-575); 2019-2021 average 422,500 (DA n°63),
# with the 2020 lockdown dip made up in 2019 and 2021; other years are assumptions.
FIRST_WELCOMES = {
    2007: 500_000,
    2008: 505_000,
    2009: 515_000,
    2010: 510_000,
    2011: 500_000,
    2012: 507_000,
    2013: 534_000,
    2014: 515_000,
    2015: 500_000,
    2016: 480_000,
    2017: 460_000,
    2018: 440_000,
    2019: 432_000,
    2020: 403_500,
    2021: 432_000,
    2022: 430_000,
    2023: 435_000,
    2024: 435_000,
    2025: 435_000,
}
# The first 2020 lockdown (17 Mar - 11 May): fewer first welcomes and face-to-face meetings.
LOCKDOWN = {mi_of("2020-03"): 0.75, mi_of("2020-04"): 0.35, mi_of("2020-05"): 0.65}

# New scheme spells a year (renewals excluded unless said).
CIVIS = {
    2007: 180_000, 2008: 180_000, 2009: 185_000, 2010: 213_000, 2011: 190_000, 2012: 185_000,
    2013: 180_000, 2014: 175_000, 2015: 182_878, 2016: 106_185,
}  # fmt: skip  # 2010, 2015, 2016 published; ~180k/yr 2006-2010 published; rest assumption
ANI = {2011: 12_000, 2012: 25_000, 2013: 25_000, 2014: 22_000, 2015: 10_000}  # assumption (Jan 2011-Jun 2015)
# Emplois d'avenir: "modest" volumes (assumption)
EAV = {2012: 8_000, 2013: 40_000, 2014: 40_000, 2015: 35_000, 2016: 30_000, 2017: 8_000}
PPAE = dict.fromkeys(range(2007, 2026), 30_000)  # assumption: "some"
PACEA = {
    2017: 290_000, 2018: 320_000, 2019: 338_364, 2020: 349_885, 2021: 370_000, 2022: 260_000,
    2023: 230_000, 2024: 230_000, 2025: 230_000,
}  # fmt: skip  # 2019-2020 published; 2021 set so that entries with renewals come near the published ~442k
# CEJ: 62% of the published entries are in ML (DA n°46); 2024-2025 assumed flat.
CEJ = {2022: 277_500 * 0.62, 2023: 313_500 * 0.62, 2024: 190_000, 2025: 190_000}

# Garantie jeunes entries *with renewals* (POEM counts renewals; they are ~8% of entries).
GJ_YEARLY = {2013: 2_000, 2014: 10_000, 2015: 34_000, 2016: 46_000, 2017: 87_000, 2018: 95_000, 2019: 97_800}
GJ_MONTHLY = {
    # 2020: Jan+Feb 17,473, April 306, Jun-Dec ~9,500/month, total 92,038 (March and May assumed)
    **dict(
        zip(
            range(mi_of("2020-01"), mi_of("2021-01")),
            [8_300, 9_173, 5_000, 306, 2_759, 9_500, 9_500, 9_500, 9_500, 9_500, 9_500, 9_500],
            strict=True,
        )
    ),
    # 2021 POEM monthly, incl. renewals
    **dict(
        zip(
            range(mi_of("2021-01"), mi_of("2022-01")),
            [10_627, 12_108, 13_590, 12_694, 12_643, 13_933, 11_340, 9_534, 18_291, 20_001, 20_556, 19_319],
            strict=True,
        )
    ),
    mi_of("2022-01"): 10_717,
    mi_of("2022-02"): 14_351,
}
GJ_RENEWAL_SHARE = 0.08
GJ_FIRST = mi_of("2013-10")
GJ_LAST = mi_of("2022-02")  # closed 1 Mar 2022: renewals only afterwards

# Territories: wave 1 (Oct 2013), wave 2 (Jan 2015); 72 départements during 2015, 91 during 2016, all 2017.
GJ_WAVE1 = ("13", "93", "974", "84", "47", "03", "63", "29", "27", "11", "88")
GJ_WAVE2 = ("91", "76", "62", "24", "35", "73", "60", "02", "38", "23")
GJ_DEPTS_2015 = 72
GJ_DEPTS_2016 = 91

SCHEME_WINDOWS = {  # first and last month of new entries
    "CIVIS": (mi_of("2005-04"), mi_of("2016-12")),
    "ANI": (mi_of("2011-01"), mi_of("2015-06")),
    "EAV": (mi_of("2012-11"), mi_of("2017-12")),
    "PPAE": (mi_of("2005-01"), mi_of("2099-12")),
    "GJ": (GJ_FIRST, GJ_LAST),
    "PACEA": (mi_of("2017-01"), mi_of("2099-12")),
    "CEJ": (mi_of("2022-03"), mi_of("2099-12")),
}


def _season(mi: int, profile: np.ndarray) -> float:
    return float(profile[mi % 12] / profile.mean())


def first_welcomes(mi: int) -> float:
    year = mi // 12
    base = FIRST_WELCOMES.get(year, FIRST_WELCOMES[max(FIRST_WELCOMES)] if year > 2025 else 500_000)
    value = base / 12 * _season(mi, WELCOME_SEASON) * LOCKDOWN.get(mi, 1.0)
    if year == 2020:  # the published yearly figure already includes the dip: spread the rest
        lost = sum(base / 12 * _season(m, WELCOME_SEASON) * (1 - f) for m, f in LOCKDOWN.items())
        if mi not in LOCKDOWN:
            rest = sum(_season(m, WELCOME_SEASON) for m in range(2020 * 12, 2021 * 12) if m not in LOCKDOWN)
            value += lost * _season(mi, WELCOME_SEASON) / rest
    return value


def _yearly(table: dict[int, float], mi: int, first: int, last: int) -> float:
    if not first <= mi <= last:
        return 0.0
    year = mi // 12
    value = table.get(year, table[max(table)] if year > max(table) else 0.0)
    months = [m for m in range(year * 12, year * 12 + 12) if first <= m <= last]
    weights = np.array([_season(m, ENTRY_SEASON) for m in months])
    return value * _season(mi, ENTRY_SEASON) / weights.sum()


def gj_entries_with_renewals(mi: int) -> float:
    if mi in GJ_MONTHLY:
        return float(GJ_MONTHLY[mi])
    if not GJ_FIRST <= mi <= GJ_LAST:
        return 0.0
    return _yearly(GJ_YEARLY, mi, GJ_FIRST, mi_of("2019-12"))


def scheme_entries(scheme: str, mi: int) -> float:
    """New spells (renewals excluded) at scale 1 for the month; PACEA counts those opened for a GJ too."""
    first, last = SCHEME_WINDOWS[scheme]
    if scheme == "GJ":
        return gj_entries_with_renewals(mi) * (1 - GJ_RENEWAL_SHARE)
    table = {"CIVIS": CIVIS, "ANI": ANI, "EAV": EAV, "PPAE": PPAE, "PACEA": PACEA, "CEJ": CEJ}[scheme]
    value = _yearly(table, mi, first, last)
    if scheme == "PACEA" and mi // 12 == 2020:  # the lockdown dip moves entries to later months of 2020
        factor = LOCKDOWN.get(mi, 1.0)
        lost = sum(_yearly(table, m, first, last) * (1 - f) for m, f in LOCKDOWN.items())
        rest = sum(_yearly(table, m, first, last) for m in range(2020 * 12, 2021 * 12) if m not in LOCKDOWN)
        value = value * factor if mi in LOCKDOWN else value * (1 + lost / rest)
    return value
