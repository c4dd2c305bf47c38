"""Compare a run's ground truth with the published figures it is calibrated on (BRIEF sections 2-4).

Counts are rescaled to national level (divided by the scale). A gap is within tolerance when it is
below 5% of the target (model error) plus three standard deviations of the sampling noise of the
scale: Poisson noise of the count, inflated where records come in clusters (GJ groups of ~15, several
interviews per person). Shares use the binomial standard error of the sample plus 3 points.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from orchestration.lib.synth import targets as T

MODEL_TOLERANCE = 0.05  # relative, on counts
SHARE_TOLERANCE = 0.03  # absolute, on shares
GJ_CLUSTER = 15.0  # design effect of entries in groups
INTERVIEW_CLUSTER = 4.0  # design effect of counting events that come several per person
GJ_ENTRIES = "GJ entries incl. renewals"
GJ_CUM = "GJ entries incl. renewals (cumulative)"
PUBLISHED = {  # Sénat r16-575 (DARES)
    "first_welcomes": {2012: 507_000, 2013: 534_000, 2014: 515_000},
    "in_contact": {2012: 1_430_000, 2013: 1_446_000, 2014: 1_446_000},
    "received_individual": {2012: 1_151_000, 2013: 1_223_000, 2014: 1_251_000},
    "individual_interviews": {2012: 4_240_000, 2013: 4_379_000, 2014: 4_550_000},
}
GJ_EARLY_REASONS = (("EXCLUSION", 0.41), ("ABANDON", 0.21), ("DEMENAGEMENT", 0.12), ("AUTRE", 0.26))


def _row(period, indicator, generated, target, tol, at_least=False) -> dict:
    gap = generated - target
    ok = generated >= target - tol if at_least else abs(gap) <= tol
    return {
        "period": str(period),
        "indicator": indicator,
        "generated": float(generated),
        "target": float(target),
        "abs_gap": float(gap),
        "rel_gap": float(gap / target) if target else None,
        "tolerance": float(tol),
        "within_tolerance": bool(ok),
    }


def _count(period, indicator, generated, target, scale, cluster=1.0) -> dict:
    """A count of the run, rescaled to national level, against a national figure."""
    sigma = np.sqrt(max(target, 1.0) * scale * cluster) / scale
    return _row(period, indicator, generated / scale, target, MODEL_TOLERANCE * target + 3 * sigma)


def _share(period, indicator, value, target, n, half_range=0.0) -> dict | None:
    if n == 0:
        return None
    tol = SHARE_TOLERANCE + half_range + 3 * np.sqrt(max(target * (1 - target), 1e-4) / n)
    return _row(period, indicator, value, target, tol)


def calibration_report(truth_dir: Path, scale: float) -> pl.DataFrame:
    """One row per calibrated figure: period, indicator, generated (national), target, gaps, verdict."""
    truth_dir = Path(truth_dir)
    yearly = pl.read_csv(truth_dir / "yearly_totals.csv")
    monthly = pl.read_csv(truth_dir / "monthly_totals.csv")
    spells = pl.read_parquet(truth_dir / "spells.parquet")
    persons = pl.read_parquet(truth_dir / "persons.parquet")
    ifile = truth_dir / "intensity.csv"
    intensity = pl.read_csv(ifile) if ifile.stat().st_size > 1 else None
    full = {r["year"]: r for r in yearly.filter(pl.col("months") == 12).iter_rows(named=True)}
    months = {r["month"]: r for r in monthly.iter_rows(named=True)}
    rows: list[dict | None] = []
    rows += _activity(full, scale)
    rows += _schemes(full, months, monthly, scale)
    rows += _welcomes(persons, full)
    rows += _gj_entrants(spells, full)
    if intensity is not None:
        rows += _intensity(intensity)
    return pl.DataFrame([r for r in rows if r is not None])


def _activity(full: dict, scale: float) -> list[dict]:
    rows = []
    for indicator, by_year in PUBLISHED.items():
        cluster = INTERVIEW_CLUSTER if indicator == "individual_interviews" else 1.0
        for year, target in by_year.items():
            if year in full:
                rows.append(_count(year, indicator, full[year][indicator], target, scale, cluster))
    if all(y in full for y in (2019, 2020, 2021)):  # DA n°63: ~422,500 a year over 2019-2021
        avg = sum(full[y]["first_welcomes"] for y in (2019, 2020, 2021)) / 3
        rows.append(_count("2019-2021", "first_welcomes (yearly mean)", avg, 422_500, scale))
    for year in (2012, 2013, 2014):  # the published ratio (3.6-3.8) comes from these years
        r = full.get(year)
        if r and r["received_individual"]:
            ratio = r["individual_interviews"] / r["received_individual"]
            rows.append(_row(year, "interviews per young person interviewed", ratio, 3.7, 0.15))
    return rows


def _schemes(full: dict, months: dict, monthly: pl.DataFrame, scale: float) -> list[dict]:
    rows = []

    def entries(year, schemes, renewals=False):
        prefix = "entries_with_renewals_" if renewals else "entries_"
        return sum(full[year][f"{prefix}{s}"] for s in schemes)

    civis = ("CIVIS_R", "CIVIS_DC")
    for year, target in ((2015, 182_878), (2016, 106_185)):
        if year in full:
            rows.append(_count(year, "CIVIS entries", entries(year, civis), target, scale))
    if 2017 in full:
        rows.append(_row(2017, "CIVIS entries", entries(2017, civis) / scale, 0, 1_000))
    for year, target in ((2017, 87_000), (2019, 97_800), (2020, 92_038)):
        if year in full:
            gj = entries(year, ("GJ",), True)
            rows.append(_count(year, GJ_ENTRIES, gj, target, scale, GJ_CLUSTER))
    gj_monthly = {f"{mi // 12}-{mi % 12 + 1:02d}": v for mi, v in T.GJ_MONTHLY.items() if mi >= 2021 * 12}
    gj_monthly["2020-04"] = 306
    for month, target in sorted(gj_monthly.items()):
        if month in months:
            gj = months[month]["entries_with_renewals_GJ"]
            rows.append(_count(month, GJ_ENTRIES, gj, target, scale, GJ_CLUSTER))
    for last, target in (("2015-12", 46_000), ("2022-03", 655_000)):
        if "2013-10" in months and last in months:
            cum = monthly.filter(pl.col("month") <= last)["entries_with_renewals_GJ"].sum()
            rows.append(_count(f"2013-10..{last}", GJ_CUM, cum, target, scale, GJ_CLUSTER))
    for year, target in ((2019, 338_364), (2020, 349_885)):
        if year in full:
            rows.append(_count(year, "PACEA entries", entries(year, ("PACEA",)), target, scale))
    if 2021 in full:
        pacea = entries(2021, ("PACEA",), True)
        rows.append(_count(2021, "PACEA entries incl. renewals", pacea, 442_000, scale))
    for year in (2019, 2021):
        sep = f"{year}-09"
        if year in full and sep in months:
            ratio = months[sep]["entries_PACEA"] / (entries(year, ("PACEA",)) / 12)
            noise = 3 * 1.45 / np.sqrt(max(months[sep]["entries_PACEA"], 1))
            rows.append(_row(year, "PACEA September / monthly mean", ratio, 1.45, 0.05 + noise))
    for year, target in ((2022, 277_500 * 0.62), (2023, 313_500 * 0.62)):
        if year in full:
            rows.append(_count(year, "CEJ entries (in ML)", entries(year, ("CEJ",)), target, scale))
    return rows


def _welcomes(persons: pl.DataFrame, full: dict) -> list[dict | None]:
    """Who the first welcomes are (2013-2014)."""
    days = (pl.col("first_welcome") - pl.col("birth_date")).dt.total_days()
    fw = persons.with_columns(year=pl.col("first_welcome").dt.year(), age=(days / 365.25).floor())
    rows = []
    for year in (2013, 2014):
        sub = fw.filter(pl.col("year") == year)
        if year in full and sub.height:
            women, minors = (sub["sex"] == "F").mean(), (sub["age"] < 18).mean()
            rows.append(_share(year, "first welcomes: share of women", women, 0.49, sub.height))
            rows.append(_share(year, "first welcomes: share of minors", minors, 0.15, sub.height))
    return rows


def _gj_entrants(spells: pl.DataFrame, full: dict) -> list[dict | None]:
    rows: list[dict | None] = []
    window = pl.col("entry_date").is_between(date(2019, 1, 1), date(2021, 12, 31))
    gj = spells.filter((pl.col("scheme") == "GJ") & window)
    if gj.height and all(y in full for y in (2019, 2020, 2021)):
        n, age, level = gj.height, gj["age_at_entry"], gj["level_at_entry"]
        below = level.is_in(["VI", "VBIS"]) | ((level == "V") & ~gj["diploma_at_entry"])
        for name, value, target, half in (
            ("share of men", (gj["sex"] == "H").mean(), 0.55, 0.0),
            ("share of minors", (age < 18).mean(), 0.16, 0.0),
            ("share aged 18-21", ((age >= 18) & (age <= 21)).mean(), 0.65, 0.0),
            ("share below CAP-BEP", below.mean(), 0.50, 0.0),
            ("share in a QPV", gj["qpv"].mean(), 0.23, 0.02),
            ("share in a ZRR", gj["zrr"].mean(), 0.079, 0.0),
            ("share known 3+ months before", gj["known_3_months_before"].mean(), 2 / 3, 0.0),
        ):
            rows.append(_share("2019-2021", f"GJ entrants: {name}", value, target, n, half))
    ended = (pl.col("entry_date").dt.year() == 2018) & pl.col("actual_end").is_not_null()
    gj18 = spells.filter((pl.col("scheme") == "GJ") & ended)
    if gj18.height:
        early = gj18.filter(pl.col("exit_reason") != "FIN_PREVUE")
        share = early.height / gj18.height
        rows.append(_share(2018, "GJ: share leaving early", share, 0.26, gj18.height))
        if early.height:
            stay = ((early["actual_end"] - early["entry_date"]).dt.total_days() / 30.44).mean()
            tol = 0.5 + 3 * 2.9 / np.sqrt(early.height)
            rows.append(_row(2018, "GJ: months before an early exit", stay, 8.0, tol))
            for reason, target in GJ_EARLY_REASONS:
                value = (early["exit_reason"] == reason).mean()
                name = f"GJ early exits: share {reason.lower()}"
                rows.append(_share(2018, name, value, target, early.height))
    return rows


def _intensity(intensity: pl.DataFrame) -> list[dict]:
    """Support intensity (DA n°63): PACEA without GJ, each month of the first year; the GJ collective
    phase."""
    rows = []
    first_year = pl.col("year").is_between(2019, 2021) & (pl.col("month_of_stay") < 12)
    pac = (
        intensity.filter((pl.col("scheme") == "PACEA") & first_year)
        .group_by("month_of_stay")
        .agg(pl.col("young_people", "with_interview", "with_remote_contact").sum())
        .sort("month_of_stay")
    )
    for r in pac.iter_rows(named=True):
        k, n = r["month_of_stay"] + 1, r["young_people"]
        se = 3 * np.sqrt(0.25 / max(n, 1))
        interviewed, contacted = r["with_interview"] / n, r["with_remote_contact"] / n
        label = f"PACEA month {k}: share"
        rows.append(_row("2019-2021", f"{label} interviewed (>=)", interviewed, 0.20, se, True))
        rows.append(_row("2019-2021", f"{label} contacted (>=)", contacted, 0.30, se, True))
    gj = intensity.filter((pl.col("scheme") == "GJ") & (pl.col("month_of_stay") == 1))
    if gj.height:
        per_person = gj["workshops"].sum() / gj["young_people"].sum()
        rows.append(_row("all", "GJ first full month: workshops per young person", per_person, 25.0, 5.0))
    return rows


def format_report(df: pl.DataFrame) -> str:
    """The report as an aligned text table, one line per indicator, and a count of those within tolerance."""
    lines = [f"{'period':<17} {'indicator':<52} {'generated':>12} {'target':>12} {'gap %':>7}  ok"]
    for r in df.iter_rows(named=True):
        big = abs(r["target"]) >= 100 or abs(r["generated"]) >= 100
        fmt = "{:>12,.0f}" if big else "{:>12.3f}"
        rel = f"{100 * r['rel_gap']:>+7.1f}" if r["rel_gap"] is not None else f"{'':>7}"
        ok = "yes" if r["within_tolerance"] else "NO"
        gen, tgt = fmt.format(r["generated"]), fmt.format(r["target"])
        lines.append(f"{r['period']:<17} {r['indicator'][:52]:<52} {gen} {tgt} {rel}  {ok}")
    n_ok = int(df["within_tolerance"].sum()) if df.height else 0
    lines.append(f"{n_ok}/{df.height} indicators within tolerance")
    return "\n".join(lines)
