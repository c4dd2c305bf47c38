"""The Garantie jeunes marts against an independent Polars implementation (tests/crosscheck.py) computed
straight from the delivery files, and both against the generator's ground truth.

One small delivery set (crosscheck.WINDOW at crosscheck.SCALE, fixed seed) is generated into a temporary
MILO_DATA_DIR and materialised through Dagster and dbt; the warehouse is only read here, to compare.
Every comparison is exact. Where the truth and the deliveries legitimately differ, the test says why and
checks that the difference is exactly that.
"""

from __future__ import annotations

from datetime import date

import crosscheck as cc
import duckdb
import polars as pl
import pytest

from orchestration.lib.pseudonymise import DEMO_KEY, PseudoKey

pytestmark = pytest.mark.e2e

WINDOW_START = date.fromisoformat(f"{cc.WINDOW[0]}-01")
FAULT_LINES = ("malformed_missing_field", "malformed_extra_field", "malformed_unclosed_quote", "unknown_code")


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> cc.Built:
    return cc.shared_build(tmp_path_factory)


@pytest.fixture(scope="session")
def independent(built) -> cc.CrossCheck:
    return cc.compute(built.landing)


@pytest.fixture(scope="session")
def marts(built) -> dict[str, pl.DataFrame]:
    queries = {
        "gj_cohorts": "SELECT entry_month, entrants, entrants_excl_renewals FROM marts.gj_cohorts "
        "WHERE geo_level = 'national'",
        "monthly": "SELECT month, gj_stock, individual_interviews, young_people_in_contact "
        "FROM marts.monthly_activity WHERE geo_level = 'national'",
        "intensity": "SELECT cohort_month, seniority_month, people, individual_interviews_per_person, "
        "people_with_individual_interview FROM marts.gj_support_intensity "
        "WHERE scheme = 'GJ' AND cohort_level = 'month' AND seniority_month <= 3",
        "quarantine": "SELECT DISTINCT file_path, line FROM audit.quarantine",
        "spells": "SELECT person_id AS person, entry_date AS entry, spell_renewals AS renewals, "
        "spell_end_date AS end, crosses_switch_over FROM marts.fct_gj_spells WHERE renewal_number = 0",
    }
    con = duckdb.connect(str(built.warehouse), read_only=True)
    try:
        frames = {name: con.sql(sql).pl() for name, sql in queries.items()}
    finally:
        con.close()
    # DuckDB sums come back as HUGEINT / DECIMAL: compare as plain integers
    return {
        name: frame.with_columns(pl.col(pl.Decimal, pl.Int128, pl.UInt32).cast(pl.Int64))
        for name, frame in frames.items()
    }


@pytest.fixture(scope="session")
def truth(built) -> dict[str, pl.DataFrame]:
    key = PseudoKey(DEMO_KEY, is_demo=True)
    persons = pl.read_parquet(built.truth / "persons.parquet")
    # The generator's person -> the pseudonym the warehouse gives them: a Parcours 3 dossier number when they
    # had one (migrated I-Milo dossiers carry it), else the I-Milo identifier.
    persons = persons.with_columns(
        person=pl.Series(
            [
                key.pseudonym("parcours3", p3) if p3 is not None else key.pseudonym("imilo", im)
                for p3, im in zip(persons["num_dossier_p3"], persons["id_jeune"], strict=True)
            ],
            dtype=pl.String,
        )
    )
    spells = (
        pl.read_parquet(built.truth / "spells.parquet")
        .filter(pl.col("scheme") == "GJ")
        .join(persons.select("person_key", "person"), on="person_key", how="left")
    )
    monthly = pl.read_csv(built.truth / "monthly_totals.csv").with_columns(pl.col("month").str.to_date("%Y-%m"))
    return {"spells": spells, "monthly": monthly, "faults": pl.read_csv(built.truth / "faults.csv")}


def _int(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col(pl.UInt32, pl.UInt64, pl.Int32).cast(pl.Int64))


def assert_same(left: pl.DataFrame, right: pl.DataFrame, on: list[str], what: str) -> None:
    """Equal rows, keyed by `on`; the message lists the rows that differ."""
    left, right = _int(left), _int(right).select(left.columns)
    joined = left.join(right, on=on, how="full", suffix="_independent", coalesce=True, nulls_equal=True)
    differ = pl.lit(False)
    for column in left.columns:
        if column not in on:
            differ = differ | pl.col(column).ne_missing(pl.col(f"{column}_independent"))
    bad = joined.filter(differ)
    assert bad.height == 0, f"{what}: {bad.height} rows differ\n{bad}"


# ------------------------------------------------------------------------------------- the pipeline


def test_pipeline_succeeded_with_every_dbt_test_passing(built):
    assert built.success
    assert built.failed_checks == ()


def test_lines_set_aside_are_the_planted_faults_and_the_quarantine(built, independent, truth, marts):
    """The independent reader rejects exactly the malformed and unknown-code lines the generator planted
    (in the delivery versions in force) and exactly the lines the loader quarantined."""
    rejected = independent.deliveries.rejected_frame().select("file", "line").unique().sort("file", "line")
    in_force = set(independent.deliveries.lines)
    planted = (
        truth["faults"]
        .filter(pl.col("kind").is_in(FAULT_LINES) & pl.col("file").is_in(in_force))
        .select("file", "line")
        .unique()
        .sort("file", "line")
    )
    assert rejected.height > 0, "the delivery set should hold planted faults"
    assert_same(
        rejected.with_columns(found=pl.lit(True)),
        planted.with_columns(found=pl.lit(True)),
        ["file", "line"],
        "rejects vs planted",
    )
    landing = str(built.landing.resolve()) + "/"
    quarantined = (
        marts["quarantine"]
        .select(file=pl.col("file_path").str.strip_prefix(landing), line=pl.col("line"))
        .unique()
        .sort("file", "line")
    )
    assert_same(
        rejected.with_columns(found=pl.lit(True)),
        quarantined.with_columns(found=pl.lit(True)),
        ["file", "line"],
        "rejects vs quarantine",
    )


def test_a_redelivered_month_is_read_in_its_corrected_version(built, independent, truth):
    corrected = truth["faults"].filter(pl.col("kind") == "corrected_in_v2")["file"].unique().to_list()
    assert corrected, "the delivery set should hold a re-delivered month"
    for v1_file in corrected:
        assert v1_file not in independent.deliveries.lines  # the v1 files are superseded...
        assert v1_file.replace("/v1/", "/v2/") in independent.deliveries.lines  # ...by the v2 ones


# ---------------------------------------------------------------------------------- marts = independent


def test_gj_entries_per_month_equal_the_mart(independent, marts):
    assert_same(marts["gj_cohorts"], independent.gj_entries, ["entry_month"], "GJ entries (national gj_cohorts)")


def test_gj_end_of_month_stock_equals_the_mart(independent, marts):
    mart = marts["monthly"].select("month", "gj_stock")
    assert_same(mart, independent.gj_stock, ["month"], "GJ stock (national monthly_activity)")


def test_individual_interviews_and_young_people_in_contact_equal_the_mart(independent, marts):
    mart = marts["monthly"].select("month", "individual_interviews", "young_people_in_contact")
    assert_same(mart, independent.monthly, ["month"], "national monthly_activity")


def test_gj_interviews_in_months_1_to_3_equal_the_mart_for_every_monthly_cohort(independent, marts):
    mart = marts["intensity"]
    cohorts = sorted(set(mart["cohort_month"].to_list()))
    biggest = independent.spells.filter(pl.col("entry_month") >= WINDOW_START).group_by("entry_month").len()
    assert biggest.height and max(biggest["len"]) >= 20, "a cohort of some size should be in the window"
    for cohort in cohorts:
        mine = independent.intensity(cohort).select(
            "seniority_month", "people", "individual_interviews_per_person", "people_with_individual_interview"
        )
        theirs = mart.filter(pl.col("cohort_month") == cohort).drop("cohort_month")
        assert_same(theirs, mine, ["seniority_month"], f"GJ support intensity, cohort {cohort}")
    assert set(cohorts) == set(independent.spells["entry_month"].to_list())


def test_gj_continuous_spells_equal_fct_gj_spells(independent, marts):
    """Person, entry date, renewals, end and switch-over flag of every continuous spell."""
    mine = independent.spells.select("person", "entry", "renewals", "end", "crosses_switch_over")
    assert_same(marts["spells"], mine, ["person", "entry"], "GJ continuous spells (fct_gj_spells)")


# --------------------------------------------------------------------------------- independent = truth


def test_gj_entries_and_stock_equal_the_ground_truth_in_the_delivered_months(independent, truth):
    """Within the delivered months nothing is lost: the planted malformed and unknown-code lines are extra
    copies of true records (synth README), duplicates count once, the re-delivered month is read in v2."""
    t = truth["monthly"].select(
        "month",
        entrants=pl.col("entries_with_renewals_GJ"),
        entrants_excl_renewals=pl.col("entries_GJ"),
        gj_stock=pl.col("stock_GJ"),
    )
    mine = (
        t.select("month")
        .join(independent.gj_entries.rename({"entry_month": "month"}), on="month", how="left")
        .join(independent.gj_stock, on="month", how="left")
        .fill_null(0)
    )
    assert t.height == len(cc.month_range(WINDOW_START, independent.deliveries.last_month))
    assert_same(t, mine, ["month"], "GJ entries and stock vs truth")


def test_events_equal_the_ground_truth(independent, truth):
    t = truth["monthly"].select(
        "month", individual_interviews=pl.col("individual_interviews"), young_people_in_contact=pl.col("in_contact")
    )
    assert_same(t, independent.monthly, ["month"], "interviews and people in contact vs truth")


def _truth_spells(truth) -> pl.DataFrame:
    spells = truth["spells"]
    assert spells["person"].null_count() == 0
    return spells.select(
        "person",
        entry=pl.col("entry_date"),
        renewals=pl.col("renewals"),
        end=pl.col("actual_end"),
        crosses_switch_over=pl.col("crosses_switch_over"),
    )


def _my_spells(independent) -> pl.DataFrame:
    return independent.spells.select("person", "entry", "renewals", "end", "crosses_switch_over")


def test_gj_spells_begun_in_the_window_equal_the_ground_truth(independent, truth):
    """Person (through the P3 number of migrated dossiers), entry date, renewals, end date and whether the
    spell crosses the switch-over: one spell for one truth spell, including the P3 -> I-Milo ones."""
    t = _truth_spells(truth).filter(pl.col("entry") >= WINDOW_START)
    mine = _my_spells(independent).filter(pl.col("entry") >= WINDOW_START)
    assert t["crosses_switch_over"].sum() > 0, "the window should hold spells crossing the switch-over"
    assert_same(t, mine, ["person", "entry"], "GJ spells begun in the window vs truth")


def test_gj_cohorts_before_the_first_delivery_hold_only_spells_still_open_then(independent, truth, marts):
    """Legitimate differences for spells begun before the first delivered month. Such a spell is delivered
    only if a record of it arrives later (its end, a renewal, or the switch-over copy), so:
    - gj_cohorts rows for those months count exactly the spells still open at the first delivery (the truth
      lists them: spells.parquet keeps the spells overlapping the window), not those that ended before;
    - a spell begun in Parcours 3 before the first delivery and open at its mission locale's switch-over is
      seen through its I-Milo copy only: it crossed the switch-over (its entry date says so), but it is not
      "delivered by both systems" in this warehouse."""
    t = _truth_spells(truth).filter(pl.col("entry") < WINDOW_START)
    mine = _my_spells(independent).filter(pl.col("entry") < WINDOW_START)
    assert t.height > 0
    assert_same(t, mine, ["person", "entry"], "GJ spells begun before the window vs truth")
    flags = independent.spells.filter(pl.col("entry") < WINDOW_START)
    crossing_unseen = flags.filter(pl.col("crosses_switch_over") & ~pl.col("delivered_by_both_systems"))
    assert crossing_unseen.height > 0
    # exactly the crossing spells whose Parcours 3 entry record was delivered before the window
    assert not crossing_unseen["in_parcours3"].any()
    assert (
        flags.filter(pl.col("in_parcours3"))["delivered_by_both_systems"]
        .eq(flags.filter(pl.col("in_parcours3"))["crosses_switch_over"])
        .all()
    )
    early = (
        marts["gj_cohorts"]
        .filter(pl.col("entry_month") < WINDOW_START)
        .select("entry_month", open_at_first_delivery=pl.col("entrants_excl_renewals"))
    )
    expected = (
        t.with_columns(entry_month=pl.col("entry").dt.truncate("1mo"))
        .group_by("entry_month")
        .agg(open_at_first_delivery=pl.len())
    )
    assert_same(early, expected, ["entry_month"], "pre-window GJ cohorts")


def test_spells_begun_in_the_window_cross_the_switch_over_exactly_when_delivered_by_both(independent):
    inside = independent.spells.filter(pl.col("entry") >= WINDOW_START)
    assert inside["crosses_switch_over"].eq(inside["delivered_by_both_systems"]).all()


def test_the_intensity_truth_is_not_comparable_cell_by_cell(built):
    """Not a cell-by-cell comparison, on purpose: intensity.csv counts calendar months of stay (0 = the
    entry month, usually partial) summed by event year, with the generator's own notion of who is in the
    scheme; the mart counts anniversary months (entry + s - 1 months to entry + s months) per entry cohort.
    Both must show the collective phase: workshops per person peak in the first anniversary month of the
    mart, and in calendar month 0 or 1 of the truth, the two calendar months that anniversary month spans."""
    t = pl.read_csv(built.truth / "intensity.csv").filter(pl.col("scheme") == "GJ")
    con = duckdb.connect(str(built.warehouse), read_only=True)
    try:
        mart = con.sql(
            "SELECT seniority_month, sum(people) AS people, sum(people * workshops_per_person) AS workshops "
            "FROM marts.gj_support_intensity WHERE scheme = 'GJ' AND cohort_level = 'month' GROUP BY 1"
        ).pl()
    finally:
        con.close()
    rate = mart.with_columns(rate=pl.col("workshops") / pl.col("people")).sort("seniority_month")["rate"]
    truth_rate = (
        t.group_by("month_of_stay")
        .agg(rate=pl.col("workshops").sum() / pl.col("young_people").sum())
        .sort("month_of_stay")["rate"]
    )
    assert rate[0] == max(rate)
    assert max(truth_rate[:2]) == max(truth_rate)
    assert rate[0] > 3 * max(rate[2:]) and max(truth_rate[:2]) > 3 * max(truth_rate[3:])
