"""Property tests of statistical secrecy on the published marts (docs/secrecy.md).

On a built warehouse (the small delivery set of tests/crosscheck.py), for pub_gj_cohorts,
pub_monthly_activity and pub_gj_support_intensity, compared cell by cell with their unmasked marts:

- no published count of people lies in 1..k-1, and every such count is masked as `masked_small_count`;
- a masked value is null and carries a flag other than `published`; a published value is the true one;
- along each hierarchy (geography: mission locale -> its département -> that département's 2016 region ->
  national; intensity: monthly entry cohorts -> their year's cohort, per scheme and seniority month), no
  published parent has exactly one masked child, and no masked parent is the plain sum of its children when
  they are all published;
- an attacker who knows every published cell and the additive relations cannot derive any masked count
  (closure of both subtractions until nothing new is learnt);
- a ratio is null, and flagged, when its denominator counts fewer than k people or is itself masked;
- the same count published in two tables (GJ entries) carries the same mask in both;
- rebuilding the published models with another k (`dbt build --vars '{secrecy_k: 5}'` on a copy of the
  warehouse) moves the masks accordingly, and the properties hold there too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import crosscheck as cc
import duckdb
import polars as pl
import pytest

pytestmark = pytest.mark.e2e

DBT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
PUBLISHED = ("pub_gj_cohorts", "pub_monthly_activity", "pub_gj_support_intensity")
MASKED_COUNT_FLAGS = ("masked_small_count", "masked_secondary")
RATIO_FLAGS = ("published", "masked_small_denominator", "masked_secondary", "not_applicable")
SMALLER_K = 5

# Each published ratio and the count of people it is a share (or mean) of.
COHORT_RATIOS = {
    "share_women": "entrants_excl_renewals",
    "share_minors": "entrants_excl_renewals",
    "share_aged_18_21": "entrants_excl_renewals",
    "share_below_cap_bep": "entrants_excl_renewals",
    "share_qpv": "qpv_known",
    "share_zus": "zus_known",
    "share_zrr": "entrants_excl_renewals",
    "share_already_known": "entrants_excl_renewals",
    "mean_duration_months": "spells_ended",
    "median_duration_months": "spells_ended",
    "share_early_exits": "spells_ended",
    "share_early_exits_exclusion": "early_exits",
    "share_early_exits_abandonment": "early_exits",
    "share_early_exits_moving": "early_exits",
    "share_early_exits_other": "early_exits",
    "share_employment_6m": "observed_6m",
    "share_durable_employment_6m": "observed_6m",
    "share_training_6m": "observed_6m",
    "share_employment_12m": "observed_12m",
    "share_durable_employment_12m": "observed_12m",
    "share_training_12m": "observed_12m",
}
INTENSITY_RATIOS = dict.fromkeys(
    (
        "individual_interviews_per_person",
        "workshops_per_person",
        "collective_information_per_person",
        "remote_contacts_per_person",
        "share_with_individual_interview",
        "share_with_collective_activity",
    ),
    "people",
)


@dataclass(frozen=True)
class Spec:
    mart: str
    keys: tuple[str, ...]
    partition: tuple[str, ...]  # cells in different partitions never add up into each other
    ratios: dict[str, str]


SPECS = {
    "pub_gj_cohorts": Spec("gj_cohorts", ("entry_month", "geo_level", "geo_code"), ("entry_month",), COHORT_RATIOS),
    "pub_monthly_activity": Spec("monthly_activity", ("month", "geo_level", "geo_code"), ("month",), {}),
    "pub_gj_support_intensity": Spec(
        "gj_support_intensity",
        ("scheme", "cohort_level", "cohort_month", "seniority_month"),
        ("scheme", "seniority_month"),
        INTENSITY_RATIOS,
    ),
}


def default_k() -> int:
    text = (DBT_DIR / "dbt_project.yml").read_text(encoding="utf-8")
    return int(re.search(r"^\s*secrecy_k:\s*(\d+)", text, re.MULTILINE).group(1))


# ------------------------------------------------------------------------------------------- loading


@dataclass
class Published:
    k: int
    pub: dict[str, pl.DataFrame]
    mart: dict[str, pl.DataFrame]
    ml_departement: dict[str, str]
    departement_region: dict[str, str]


def load(warehouse: Path, k: int) -> Published:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:

        def frame(sql: str) -> pl.DataFrame:
            out = con.sql(sql).pl()
            return out.with_columns(pl.col(pl.Decimal, pl.Int128).cast(pl.Int64))

        pub = {name: frame(f"SELECT * FROM published.{name}") for name in PUBLISHED}
        mart = {SPECS[name].mart: frame(f"SELECT * FROM marts.{SPECS[name].mart}") for name in PUBLISHED}
        mls = frame("SELECT mission_locale_code, departement_code FROM harmonised.mission_locales")
        deps = frame("SELECT departement_code, region_2016_code FROM harmonised.departements")
    finally:
        con.close()
    return Published(
        k=k,
        pub=pub,
        mart=mart,
        ml_departement=dict(zip(mls["mission_locale_code"], mls["departement_code"], strict=True)),
        departement_region=dict(zip(deps["departement_code"], deps["region_2016_code"], strict=True)),
    )


def count_columns(p: Published, name: str) -> list[str]:
    frame, spec = p.pub[name], SPECS[name]
    counts = [c for c in frame.columns if f"{c}_flag" in frame.columns and c not in spec.ratios]
    assert counts and all(frame.schema[c].is_integer() for c in counts), counts
    return counts


def with_cells(p: Published, name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """cell and parent of each row: the hierarchy the published figures add up along."""
    if name == "pub_gj_support_intensity":
        month = pl.col("cohort_month").cast(pl.String)
        year = pl.col("cohort_month").dt.truncate("1y").cast(pl.String)
        return frame.with_columns(
            cell=pl.col("cohort_level") + ":" + month,
            parent=pl.when(pl.col("cohort_level") == "month").then("year:" + year),
        )
    code = pl.col("geo_code")
    region_of = code.replace_strict(p.departement_region, default="unknown", return_dtype=pl.String)
    departement_of = code.replace_strict(p.ml_departement, default="unknown", return_dtype=pl.String)
    level = pl.col("geo_level")
    return frame.with_columns(
        cell=level + ":" + code,
        parent=pl.when(level == "region")
        .then(pl.lit("national:FR"))
        .when(level == "departement")
        .then("region:" + region_of.fill_null("unknown"))
        .when(level == "mission_locale")
        .then("departement:" + departement_of.fill_null("unknown")),
    )


def long_cells(p: Published, name: str) -> pl.DataFrame:
    """One row per (published row, count column): partition, cell, parent, value, flag and true value."""
    spec = SPECS[name]
    keys = list(spec.keys)
    pub, mart = p.pub[name], p.mart[spec.mart]
    assert pub.height == mart.height, f"{name}: {pub.height} rows, {spec.mart}: {mart.height}"
    parts = []
    for column in count_columns(p, name):
        joined = pub.select(*keys, value=pl.col(column), flag=pl.col(f"{column}_flag")).join(
            mart.select(*keys, true=pl.col(column).cast(pl.Int64)), on=keys, how="left", nulls_equal=True
        )
        parts.append(joined.with_columns(column=pl.lit(column)))
    cells = with_cells(p, name, pl.concat(parts))
    assert cells["true"].null_count() == 0, f"{name}: rows without a counterpart in {spec.mart}"
    return cells.with_columns(masked=pl.col("flag") != "published", group=pl.concat_str(*spec.partition, "column"))


def show(frame: pl.DataFrame, limit: int = 8) -> str:
    return f"{frame.height} cells, e.g.\n{frame.head(limit)}"


# ---------------------------------------------------------------------------------------- properties


def flag_violations(cells: pl.DataFrame, k: int) -> dict[str, pl.DataFrame]:
    small = pl.col("true").is_between(1, k - 1)
    return {
        "unknown flag": cells.filter(~pl.col("flag").is_in(["published", *MASKED_COUNT_FLAGS])),
        "published count in 1..k-1": cells.filter(~pl.col("masked") & pl.col("value").is_between(1, k - 1)),
        "published value differs from the mart": cells.filter(
            ~pl.col("masked") & pl.col("value").ne_missing(pl.col("true"))
        ),
        "masked value not null": cells.filter(pl.col("masked") & pl.col("value").is_not_null()),
        "small count not flagged masked_small_count": cells.filter(small & (pl.col("flag") != "masked_small_count")),
        "masked_small_count on a count outside 1..k-1": cells.filter((pl.col("flag") == "masked_small_count") & ~small),
        "masked_secondary on a count below k": cells.filter(
            (pl.col("flag") == "masked_secondary") & (pl.col("true") < k)
        ),
    }


def edges(name: str, cells: pl.DataFrame) -> pl.DataFrame:
    """child -> parent relations, one group of siblings per (parent, tree). The main tree is the hierarchy
    above. Stocks of monthly_activity are localised by mission locale at mission-locale level and by
    residence above it, so their mission locales also add up to the national total: a second tree."""
    main = cells.filter(pl.col("parent").is_not_null()).select("group", "cell", "parent", tree=pl.lit("main"))
    if name != "pub_monthly_activity":
        return main
    second = cells.filter(pl.col("column").str.ends_with("_stock") & (pl.col("geo_level") == "mission_locale"))
    return pl.concat([main, second.select("group", "cell", parent=pl.lit("national:FR"), tree=pl.lit("second"))])


def sibling_violations(name: str, cells: pl.DataFrame) -> dict[str, pl.DataFrame]:
    state = cells.select("group", "cell", "masked", "true")
    children = (
        edges(name, cells)
        .join(state, on=["group", "cell"])
        .group_by("group", "parent", "tree")
        .agg(
            children=pl.len(),
            masked_children=pl.col("masked").sum(),
            positive_masked_children=(pl.col("masked") & (pl.col("true") > 0)).sum(),
            children_sum=pl.col("true").sum(),
        )
    )
    parents = children.join(
        state.select("group", parent=pl.col("cell"), parent_masked=pl.col("masked"), parent_true=pl.col("true")),
        on=["group", "parent"],
        how="left",
    )
    assert parents["parent_masked"].null_count() == 0, show(parents.filter(pl.col("parent_masked").is_null()))
    return {
        # A published parent of 0 with a positive child only shows that the relation does not add up there
        # (a stock: nobody in it lives in the département, one person is followed by a mission locale of
        # it); with a parent of 0 in a relation that adds up, every child is 0 and none is masked.
        "published positive parent with exactly one masked child": parents.filter(
            ~pl.col("parent_masked")
            & (pl.col("parent_true") > 0)
            & (pl.col("masked_children") == 1)
            & (pl.col("positive_masked_children") == 1)
        ),
        "masked parent equal to the sum of its published children": parents.filter(
            pl.col("parent_masked")
            & (pl.col("masked_children") == 0)
            & (pl.col("children_sum") == pl.col("parent_true"))
        ),
    }


def derivable_cells(name: str, cells: pl.DataFrame) -> pl.DataFrame:
    """Masked cells an attacker can compute exactly from published ones, by subtraction from a known parent
    or by adding up known children, repeated until nothing new is learnt. Only relations that really add up
    (parent = sum of its children in the true values) are used: distinct counts of people need not."""
    relations = edges(name, cells)
    found = []
    for (group_name,), group in cells.group_by("group"):
        true = dict(zip(group["cell"], group["true"], strict=True))
        known = {c for c, m in zip(group["cell"], group["masked"], strict=True) if not m}
        family: dict[tuple[str, str], list[str]] = {}
        mine = relations.filter(pl.col("group") == group_name)
        for cell, parent, tree in zip(mine["cell"], mine["parent"], mine["tree"], strict=True):
            family.setdefault((parent, tree), []).append(cell)
        additive = {
            (parent, tree): kids
            for (parent, tree), kids in family.items()
            if parent in true and true[parent] == sum(true[c] for c in kids)
        }
        learnt = set()
        changed = True
        while changed:
            changed = False
            for (parent, _), kids in additive.items():
                unknown = [c for c in kids if c not in known]
                if parent in known and len(unknown) == 1:
                    known.add(unknown[0])
                    learnt.add(unknown[0])
                    changed = True
                elif parent not in known and not unknown:
                    known.add(parent)
                    learnt.add(parent)
                    changed = True
        found += [(group_name, c, true[c]) for c in sorted(learnt) if true[c] > 0]
    return pl.DataFrame(found, schema={"group": pl.String, "cell": pl.String, "true": pl.Int64}, orient="row")


def ratio_violations(p: Published, name: str) -> dict[str, pl.DataFrame]:
    """A share or mean is published only when its denominator counts at least k people and that count is
    itself published: four decimals of a share of a secondarily masked count (0.4167 = 5/12) give the count
    away, and with it the cell its secondary mask protected."""
    spec, k = SPECS[name], p.k
    keys = list(spec.keys)
    out = {}
    for ratio, denominator in spec.ratios.items():
        joined = p.pub[name].select(
            *keys, value=pl.col(ratio), flag=pl.col(f"{ratio}_flag"), denominator_flag=pl.col(f"{denominator}_flag")
        )
        joined = joined.join(
            p.mart[spec.mart].select(*keys, true=pl.col(ratio), denominator=pl.col(denominator).cast(pl.Int64)),
            on=keys,
            how="left",
            nulls_equal=True,
        )
        small = pl.col("denominator") < k
        hidden = pl.col("denominator_flag") != "published"
        published = pl.col("value").is_not_null() | (pl.col("flag") == "published")
        out[f"{ratio}: unknown flag"] = joined.filter(~pl.col("flag").is_in(RATIO_FLAGS))
        out[f"{ratio}: published with a denominator under k"] = joined.filter(small & published)
        out[f"{ratio}: published with its denominator masked"] = joined.filter(hidden & published)
        out[f"{ratio}: not_applicable with a denominator"] = joined.filter(
            (pl.col("flag") == "not_applicable") & (pl.col("denominator") != 0)
        )
        out[f"{ratio}: masked though its denominator is published and at least k"] = joined.filter(
            ~small & ~hidden & (pl.col("flag") != "published")
        )
        out[f"{ratio}: published value differs from the mart"] = joined.filter(
            ~small & ~hidden & pl.col("value").ne_missing(pl.col("true"))
        )
    return out


def all_violations(p: Published, name: str) -> dict[str, pl.DataFrame]:
    cells = long_cells(p, name)
    out = {**flag_violations(cells, p.k), **sibling_violations(name, cells), **ratio_violations(p, name)}
    out["masked count derivable by subtraction or addition"] = derivable_cells(name, cells)
    return out


# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> cc.Built:
    built = cc.shared_build(tmp_path_factory)
    assert built.success
    return built


def rebuild_with_k(built: cc.Built, target: Path, k: int) -> Path:
    """A copy of the warehouse whose published models are rebuilt with secrecy_k = k by the dbt CLI."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(built.warehouse, target / "warehouse.duckdb")
    env = {
        **os.environ,
        "MILO_DATA_DIR": str(target),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }
    env.pop("MILO_PSEUDO_KEY", None)
    command = [
        str(Path(sys.executable).parent / "dbt"),
        "build",
        "--select",
        *PUBLISHED,
        "--vars",
        json.dumps({"secrecy_k": k}),
        "--project-dir",
        str(DBT_DIR),
        "--profiles-dir",
        str(DBT_DIR),
        "--target-path",
        str(target / "dbt_target"),
        "--log-path",
        str(target / "dbt_logs"),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=DBT_DIR)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    return target / "warehouse.duckdb"


@pytest.fixture(scope="session")
def published_default(built) -> Published:
    return load(built.warehouse, default_k())


@pytest.fixture(scope="session")
def published_smaller_k(built, tmp_path_factory) -> Published:
    warehouse = rebuild_with_k(built, tmp_path_factory.mktemp("secrecy_k") / "data", SMALLER_K)
    return load(warehouse, SMALLER_K)


@pytest.fixture(scope="session", params=["default_k", "smaller_k"])
def published(request) -> Published:
    return request.getfixturevalue("published_default" if request.param == "default_k" else "published_smaller_k")


# --------------------------------------------------------------------------------------------- tests


def test_default_k_is_eleven():
    assert default_k() == 11


@pytest.mark.parametrize("name", PUBLISHED)
def test_published_tables_keep_every_secrecy_property(published, name):
    violations = {what: frame for what, frame in all_violations(published, name).items() if frame.height}
    assert not violations, f"{name} (k={published.k}): " + "\n".join(
        f"{what}: {show(frame)}" for what, frame in violations.items()
    )


@pytest.mark.parametrize("name", PUBLISHED)
def test_tables_hold_masked_cells_of_both_kinds_to_test(published_default, name):
    """The properties above would hold vacuously on a table with nothing masked."""
    cells = long_cells(published_default, name)
    flags = set(cells["flag"].unique())
    assert {"published", "masked_small_count"} <= flags
    if name != "pub_gj_support_intensity":
        assert "masked_secondary" in flags


@pytest.mark.parametrize("name", PUBLISHED)
def test_a_smaller_k_publishes_more_and_masks_accordingly(published_default, published_smaller_k, name):
    big = long_cells(published_default, name).select("group", "cell", flag_big="flag", true="true")
    small = long_cells(published_smaller_k, name).select("group", "cell", flag_small="flag")
    both = big.join(small, on=["group", "cell"], how="full", coalesce=True)
    assert both["flag_big"].null_count() == 0 and both["flag_small"].null_count() == 0
    published_big = both.filter(pl.col("flag_big") == "published").height
    published_small = both.filter(pl.col("flag_small") == "published").height
    assert published_small > published_big, (published_small, published_big)
    # counts of k_small..k-1 people: masked at the default k, no longer small with the smaller k
    middle = both.filter(pl.col("true").is_between(SMALLER_K, published_default.k - 1))
    assert middle.height and (middle["flag_big"] == "masked_small_count").all()
    assert not (middle["flag_small"] == "masked_small_count").any()
    # a primary mask under the smaller k is a primary mask under the default one
    primary_small = both.filter(pl.col("flag_small") == "masked_small_count")
    assert (primary_small["flag_big"] == "masked_small_count").all()


def test_gj_entries_published_in_two_tables_carry_the_same_masks(published):
    """pub_monthly_activity.gj_entries(_excl_renewals) and pub_gj_cohorts.entrants(_excl_renewals) are the
    same counts (entries by mission locale of entry): were they masked differently, one table would give
    away what the other hides."""
    keys = ["month", "geo_level", "geo_code"]
    cohorts = published.pub["pub_gj_cohorts"].rename({"entry_month": "month"})
    activity = published.pub["pub_monthly_activity"]
    both = cohorts.join(activity, on=keys, how="inner")
    assert both.height > 0
    for mine, theirs in (("entrants", "gj_entries"), ("entrants_excl_renewals", "gj_entries_excl_renewals")):
        differ = both.filter(
            (pl.col(f"{mine}_flag") != pl.col(f"{theirs}_flag")) | pl.col(mine).ne_missing(pl.col(theirs))
        )
        assert differ.height == 0, show(differ.select(*keys, mine, f"{mine}_flag", theirs, f"{theirs}_flag"))
