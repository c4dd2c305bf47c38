"""An independent implementation of the Garantie jeunes indicators, straight from the delivery files.

It reads `landing/<system>/<YYYY-MM>/v<N>/` with Python's csv module and Polars only: no DuckDB, no
warehouse, no dbt SQL, no mapping seed. From the platform it borrows only what a second team would be
handed as the specification: the contract (`orchestration.lib.contract`: file names, columns, encodings,
separators, date formats, code lists and their labels) and the reference pseudonymisation
(`PseudoKey.pseudonym`), needed to name people the way the warehouse does.

Every rule below is written from the documents (docs/raw-formats.md, docs/indicators.md), not from the
models:

- a delivery is the highest version folder of a system and month that has its manifest;
- a line is kept when it parses into exactly the contract's columns (an odd number of double quotes, an
  RFC 4180 error or a wrong field count rejects it) and every kept column passes its contract check
  (required, pattern, code list, date in the system's format between 1950 and 2100);
- the latest delivered version of a record wins (latest delivery month, then last line);
- a Parcours 3 dossier is its own person; an I-Milo dossier carrying a Parcours 3 number is that P3 person;
- a scheme is named by its label in the contract's code lists ("Garantie jeunes" in both systems), an
  event type likewise ("entretien individuel"); Parcours 3 delivers only events that took place, I-Milo
  events took place when their status is `Présent`;
- an enrolment of one person delivered by both systems with the same scheme, entry date and renewal flag
  is one enrolment (the switch-over copy), in the state of its latest delivery (I-Milo on a tie);
- a continuous spell is an entry and the renewals that follow it, in entry order, per person and scheme;
- a spell is in the end-of-month stock of month M when it began before M+1 and has not ended before M+1;
- seniority month s of a spell is [entry + (s-1) months, entry + s months), counted while the spell is
  open at its start and the month has been delivered (before the month after the last delivery).
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import polars as pl

from orchestration.lib.contract import CODE_LISTS, ENTITIES, MANIFEST_NAME, SYSTEMS, Kind, Role, System, Table
from orchestration.lib.pseudonymise import DEMO_KEY, PseudoKey
from orchestration.lib.settings import Paths

GJ_LABEL = "Garantie jeunes"
INTERVIEW_LABEL = "entretien individuel"
IMILO_PRESENT = "Présent"
FIRST_VALID, LAST_VALID = date(1950, 1, 1), date(2100, 1, 1)
VERSION_DIR = re.compile(r"^v([1-9][0-9]*)$")


# --------------------------------------------------------------------------------------------- reading


@dataclass
class Deliveries:
    """Valid lines of every delivered file (all columns as text), and the lines set aside."""

    landing: Path
    tables: dict[tuple[str, str], pl.DataFrame] = field(default_factory=dict)
    rejected: list[tuple[str, int, str]] = field(default_factory=list)  # (file relative to landing, line, reason)
    lines: dict[str, int] = field(default_factory=dict)  # data lines per file
    months: dict[str, list[str]] = field(default_factory=dict)  # delivered months per system

    def table(self, system: str, entity: str) -> pl.DataFrame:
        return self.tables[(system, entity)]

    @property
    def first_month(self) -> date:
        return min(_month_date(m) for ms in self.months.values() for m in ms)

    @property
    def last_month(self) -> date:
        return max(_month_date(m) for ms in self.months.values() for m in ms)

    @property
    def observed_until(self) -> date:
        """The day after the delivered period: nothing dated from it on has been delivered yet."""
        return _add_months(self.last_month, 1)

    def rejected_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            self.rejected, schema={"file": pl.String, "line": pl.Int64, "reason": pl.String}, orient="row"
        )


def _month_date(month: str) -> date:
    year, mon = month.split("-")
    return date(int(year), int(mon), 1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def latest_versions(landing: Path) -> list[tuple[str, str, int, Path]]:
    """(system, month, version, folder) of the delivery in force for each system and month."""
    found: dict[tuple[str, str], tuple[int, Path]] = {}
    for system in SYSTEMS:
        base = landing / system
        if not base.is_dir():
            continue
        for month_dir in sorted(p for p in base.iterdir() if p.is_dir()):
            for version_dir in month_dir.iterdir():
                match = VERSION_DIR.match(version_dir.name)
                if not match or not (version_dir / MANIFEST_NAME).is_file():
                    continue
                version = int(match.group(1))
                if version > found.get((system, month_dir.name), (0, None))[0]:
                    found[(system, month_dir.name)] = (version, version_dir)
    return [(s, m, v, p) for (s, m), (v, p) in sorted(found.items())]


def _parse_lines(text: str, table: Table, system: System, relative: str, deliveries: Deliveries):
    """Rows of one file (one record per physical line, as the contract says), the broken ones set aside."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    header = next(csv.reader([lines[0].rstrip("\r").lstrip("\ufeff")], delimiter=system.delimiter))
    assert header == table.header, f"{relative}: header {header} is not the contract's"
    width = len(table.header)
    rows: list[list[str | None]] = []
    numbers: list[int] = []
    for number, raw in enumerate(lines[1:], start=2):
        text_line = raw.rstrip("\r")
        if text_line.count('"') % 2:
            deliveries.rejected.append((relative, number, "unclosed quote"))
            continue
        try:
            fields = next(csv.reader([text_line], delimiter=system.delimiter, quotechar='"', strict=True))
        except (csv.Error, StopIteration):
            deliveries.rejected.append((relative, number, "not RFC 4180"))
            continue
        if len(fields) != width:
            deliveries.rejected.append((relative, number, f"{len(fields)} fields, {width} expected"))
            continue
        rows.append([value if value != "" else None for value in fields])
        numbers.append(number)
    deliveries.lines[relative] = len(lines) - 1
    columns = {name: pl.Series(name, [r[i] for r in rows], dtype=pl.String) for i, name in enumerate(table.header)}
    return pl.DataFrame(columns | {"_line": pl.Series("_line", numbers, dtype=pl.Int64)})


def _breaks_contract(table: Table, system: System) -> pl.Expr:
    """True on a row with a value the contract forbids (the columns that reach the warehouse)."""
    problems = []
    for column in table.columns:
        if not column.role.reaches_warehouse or column.role is Role.DELIVERY_MONTH:
            continue
        value = pl.col(column.name)
        checks = []
        if column.pattern:
            checks.append(~value.str.contains(column.pattern))
        if column.kind in (Kind.CODE, Kind.FLAG):
            checks.append(~value.is_in(list(CODE_LISTS[column.codes or "flag"])))
        if column.kind is Kind.DATE:
            parsed = value.str.strptime(pl.Date, system.date_format, strict=False)
            checks.append(parsed.is_null() | (parsed < FIRST_VALID) | (parsed > LAST_VALID))
        if column.kind is Kind.INTEGER:
            checks.append(value.cast(pl.Int64, strict=False).is_null())
        bad = value.is_not_null() & pl.any_horizontal(checks) if checks else pl.lit(False)
        if column.required:
            bad = value.is_null() | bad
        problems.append(bad.fill_null(False))
    return pl.any_horizontal(problems)


def read_deliveries(landing: Path) -> Deliveries:
    deliveries = Deliveries(landing=landing)
    frames: dict[tuple[str, str], list[pl.DataFrame]] = {}
    for system_name, month, version, folder in latest_versions(landing):
        system = SYSTEMS[system_name]
        deliveries.months.setdefault(system_name, []).append(month)
        manifest = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
        names = {f["table"]: f["name"] for f in manifest["files"]}
        for entity in ENTITIES:
            table = system.tables[entity]
            assert names[entity] == table.file_name(month), f"{folder}: {names[entity]} is not the contract's name"
            relative = f"{system_name}/{month}/v{version}/{names[entity]}"
            text = (folder / names[entity]).read_bytes().decode(system.encoding)  # strict: a wrong byte fails
            parsed = _parse_lines(text, table, system, relative, deliveries)
            month_column = table.columns[0].name
            assert parsed[month_column].eq(system.format_month(month)).all(), f"{relative}: wrong delivery month"
            bad = parsed.filter(_breaks_contract(table, system))
            deliveries.rejected += [(relative, int(n), "value outside the contract") for n in bad["_line"]]
            kept = parsed.filter(~_breaks_contract(table, system)).with_columns(
                _month=pl.lit(_month_date(month)), _file=pl.lit(relative)
            )
            frames.setdefault((system_name, entity), []).append(kept)
    for system_name, system in SYSTEMS.items():
        for entity in ENTITIES:
            parts = frames.get((system_name, entity))
            empty = pl.DataFrame(
                schema={c: pl.String for c in system.tables[entity].header}
                | {"_line": pl.Int64, "_month": pl.Date, "_file": pl.String}
            )
            deliveries.tables[(system_name, entity)] = pl.concat(parts) if parts else empty
    return deliveries


def latest(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """The latest delivered version of each record: latest delivery month, then last line."""
    return frame.sort("_month", "_line").unique(subset=[key], keep="last", maintain_order=True)


def label(code_list: str) -> dict[str, str]:
    return CODE_LISTS[code_list]


def to_date(column: str, system: str) -> pl.Expr:
    return pl.col(column).str.strptime(pl.Date, SYSTEMS[system].date_format)


# --------------------------------------------------------------------------------------------- people


def person_map(d: Deliveries, key: PseudoKey | None = None) -> dict[str, pl.DataFrame]:
    """Per system: source identifier -> person pseudonym (the name the warehouse gives the person)."""
    key = key or PseudoKey(DEMO_KEY, is_demo=True)
    p3_ids = set()
    for entity in ENTITIES:
        p3_ids |= set(d.table("parcours3", entity)["NUM_DOSSIER"].to_list())
    p3 = pl.DataFrame({"source_id": sorted(p3_ids)}, schema={"source_id": pl.String})
    p3 = p3.with_columns(person=pl.Series([key.pseudonym("parcours3", i) for i in p3["source_id"]], dtype=pl.String))

    imilo_ids = set()
    for entity in ENTITIES:
        imilo_ids |= set(d.table("imilo", entity)["id_jeune"].to_list())
    legacy = (
        d.table("imilo", "young_people")
        .filter(pl.col("id_dossier_p3").is_not_null())
        .group_by("id_jeune")
        .agg(pl.col("id_dossier_p3").unique())
    )
    ambiguous = legacy.filter(pl.col("id_dossier_p3").list.len() > 1)
    assert ambiguous.height == 0, f"I-Milo dossiers with two Parcours 3 numbers: {ambiguous.head()}"
    legacy_of = dict(zip(legacy["id_jeune"], legacy["id_dossier_p3"].list.first(), strict=True))
    people = [
        key.pseudonym("parcours3", legacy_of[i]) if i in legacy_of else key.pseudonym("imilo", i)
        for i in sorted(imilo_ids)
    ]
    imilo = pl.DataFrame(
        {"source_id": sorted(imilo_ids), "person": people}, schema={"source_id": pl.String, "person": pl.String}
    )
    return {"parcours3": p3, "imilo": imilo}


# ------------------------------------------------------------------------------------------ enrolments


def enrolments(d: Deliveries, people: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """One row per enrolment (entry or renewal) across both systems, in its latest delivered state."""
    p3_scheme, imilo_scheme = label("p3_dispositif"), label("imilo_dispositif")
    p3 = (
        latest(d.table("parcours3", "scheme_enrolments"), "NUM_INSCRIPTION")
        .join(people["parcours3"], left_on="NUM_DOSSIER", right_on="source_id", how="left")
        .select(
            system=pl.lit("parcours3"),
            record=pl.col("NUM_INSCRIPTION"),
            person=pl.col("person"),
            ml=pl.col("CODE_ML"),
            scheme=pl.col("CODE_DISPOSITIF").replace_strict(p3_scheme),
            entry=to_date("DATE_ENTREE", "parcours3"),
            actual_end=to_date("DATE_FIN_REELLE", "parcours3"),
            renewal=pl.col("RENOUVELLEMENT") == "O",
            delivered=pl.col("_month"),
        )
    )
    imilo = (
        latest(d.table("imilo", "scheme_enrolments"), "id_dispositif")
        .join(people["imilo"], left_on="id_jeune", right_on="source_id", how="left")
        .select(
            system=pl.lit("imilo"),
            record=pl.col("id_dispositif"),
            person=pl.col("person"),
            ml=pl.col("code_structure"),
            scheme=pl.col("code_dispositif").replace_strict(imilo_scheme),
            entry=to_date("date_entree", "imilo"),
            actual_end=to_date("date_fin_reelle", "imilo"),
            renewal=pl.col("renouvellement") == "O",
            delivered=pl.col("_month"),
        )
    )
    records = pl.concat([p3, imilo])
    assert records["person"].null_count() == 0
    same = ["person", "scheme", "entry", "renewal"]
    # The k-th record of a system in a group pairs with the k-th record of the other system: a switch-over
    # copy merges with its original, two distinct records of one system never merge with each other.
    records = records.sort("record").with_columns(pair=pl.int_range(pl.len()).over([*same, "system"]))
    merged = (
        records.sort("delivered", pl.col("system") == "imilo")
        .group_by([*same, "pair"], maintain_order=True)
        .agg(
            pl.col("actual_end").last(),
            pl.col("ml").last(),
            pl.col("system").n_unique().alias("systems"),
            (pl.col("system") == "parcours3").any().alias("in_parcours3"),
            pl.col("record").sort().first().alias("record"),
        )
    )
    return merged.with_columns(entry_month=pl.col("entry").dt.truncate("1mo"), by_both=pl.col("systems") == 2)


def switch_over_months(d: Deliveries) -> pl.DataFrame:
    """Each mission locale's switch-over month as the deliveries show it: its first I-Milo dossier month."""
    return (
        d.table("imilo", "young_people").group_by(ml=pl.col("code_structure")).agg(switch_over=pl.col("_month").min())
    )


def spells(enrolled: pl.DataFrame, switch_over: pl.DataFrame, scheme: str = GJ_LABEL) -> pl.DataFrame:
    """Continuous spells of one scheme: an entry and the renewals after it (per person, in entry order). A
    spell crosses the switch-over when it began before its mission locale's switch-over month and was
    still open at its start, whether or not the Parcours 3 record of its entry was delivered."""
    ordered = (
        enrolled.filter(pl.col("scheme") == scheme)
        .sort("person", "entry", "renewal", "record")
        .with_columns(spell=(~pl.col("renewal")).cast(pl.Int64).cum_sum().over("person"))
    )
    return (
        ordered.group_by("person", "spell", maintain_order=True)
        .agg(
            entry=pl.col("entry").first(),
            starts_with_renewal=pl.col("renewal").first(),
            renewals=pl.len() - 1,
            end=pl.col("actual_end").last(),
            ml=pl.col("ml").first(),
            delivered_by_both_systems=pl.col("by_both").any(),
            in_parcours3=pl.col("in_parcours3").any(),
        )
        .join(switch_over, on="ml", how="left")
        .with_columns(
            entry_month=pl.col("entry").dt.truncate("1mo"),
            crosses_switch_over=(
                (pl.col("entry") < pl.col("switch_over"))
                & (pl.col("end").is_null() | (pl.col("end") >= pl.col("switch_over")))
            ).fill_null(False),
        )
    )


def gj_entries(enrolled: pl.DataFrame) -> pl.DataFrame:
    """Garantie jeunes entries per entry month: with renewals (POEM "entrées") and without."""
    return (
        enrolled.filter(pl.col("scheme") == GJ_LABEL)
        .group_by("entry_month")
        .agg(entrants=pl.len(), entrants_excl_renewals=(~pl.col("renewal")).sum())
        .sort("entry_month")
    )


def month_range(first: date, last: date) -> list[date]:
    months, m = [], first
    while m <= last:
        months.append(m)
        m = _add_months(m, 1)
    return months


def stock(spell_frame: pl.DataFrame, months: list[date]) -> pl.DataFrame:
    """End-of-month stock: spells begun before the next month and not ended before it."""
    counts = []
    for month in months:
        nxt = _add_months(month, 1)
        open_ = spell_frame.filter((pl.col("entry") < nxt) & (pl.col("end").is_null() | (pl.col("end") >= nxt)))
        counts.append(open_.height)
    return pl.DataFrame({"month": months, "gj_stock": counts}, schema={"month": pl.Date, "gj_stock": pl.Int64})


# ---------------------------------------------------------------------------------------------- events


def events(d: Deliveries, people: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Every follow-up event that took place, with its person and whether it is an individual interview."""
    p3_types, imilo_types = label("p3_type_evt"), label("imilo_type_evenement")
    p3 = (
        latest(d.table("parcours3", "events"), "NUM_EVENEMENT")
        .join(people["parcours3"], left_on="NUM_DOSSIER", right_on="source_id", how="left")
        .select(
            person=pl.col("person"),
            day=to_date("DATE_EVT", "parcours3"),
            interview=pl.col("TYPE_EVT").replace_strict(p3_types) == INTERVIEW_LABEL,
        )
    )
    imilo = (
        latest(d.table("imilo", "events"), "id_evenement")
        .filter(pl.col("statut") == IMILO_PRESENT)
        .join(people["imilo"], left_on="id_jeune", right_on="source_id", how="left")
        .select(
            person=pl.col("person"),
            day=to_date("date_evenement", "imilo"),
            interview=pl.col("type_evenement").replace_strict(imilo_types) == INTERVIEW_LABEL,
        )
    )
    out = pl.concat([p3, imilo]).with_columns(month=pl.col("day").dt.truncate("1mo"))
    assert out["person"].null_count() == 0
    return out


def monthly_contacts(ev: pl.DataFrame, first: date, until: date) -> pl.DataFrame:
    """National individual interviews and distinct young people in contact per event month."""
    return (
        ev.filter((pl.col("month") >= first) & (pl.col("month") < until))
        .group_by("month")
        .agg(individual_interviews=pl.col("interview").sum(), young_people_in_contact=pl.col("person").n_unique())
        .sort("month")
    )


def round_half_up(value: Fraction, places: int = 4) -> float:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return float(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def intensity(
    spell_frame: pl.DataFrame, ev: pl.DataFrame, cohort: date, until: date, seniority=(1, 2, 3)
) -> pl.DataFrame:
    """Individual interviews in seniority months of one monthly entry cohort."""
    cohort_spells = spell_frame.filter(pl.col("entry_month") == cohort).with_row_index("spell_row")
    interviews = ev.filter(pl.col("interview")).select("person", "day")
    rows = []
    for s in seniority:
        window = cohort_spells.with_columns(
            start=pl.col("entry").dt.offset_by(f"{s - 1}mo"), stop=pl.col("entry").dt.offset_by(f"{s}mo")
        ).filter((pl.col("start") < until) & (pl.col("end").is_null() | (pl.col("end") > pl.col("start"))))
        hits = (
            window.join(interviews, on="person", how="inner")
            .filter(
                (pl.col("day") >= pl.col("start"))
                & (pl.col("day") < pl.col("stop"))
                & (pl.col("end").is_null() | (pl.col("day") < pl.col("end")))
            )
            .group_by("spell_row")
            .agg(n=pl.len())
        )
        people = window.height
        if not people:  # nobody in that seniority month yet: no cell, as in a group-by
            continue
        total = int(hits["n"].sum()) if hits.height else 0
        rows.append(
            {
                "seniority_month": s,
                "people": people,
                "individual_interviews": total,
                "people_with_individual_interview": hits.height,
                "individual_interviews_per_person": round_half_up(Fraction(total, people)),
            }
        )
    schema = {
        "seniority_month": pl.Int64,
        "people": pl.Int64,
        "individual_interviews": pl.Int64,
        "people_with_individual_interview": pl.Int64,
        "individual_interviews_per_person": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema)


# ----------------------------------------------------------------------------------------- everything


@dataclass
class CrossCheck:
    deliveries: Deliveries
    enrolments: pl.DataFrame
    spells: pl.DataFrame
    events: pl.DataFrame
    gj_entries: pl.DataFrame
    gj_stock: pl.DataFrame
    monthly: pl.DataFrame
    people: dict[str, pl.DataFrame]

    def intensity(self, cohort: date) -> pl.DataFrame:
        return intensity(self.spells, self.events, cohort, self.deliveries.observed_until)


def compute(landing: Path) -> CrossCheck:
    d = read_deliveries(landing)
    people = person_map(d)
    enrolled = enrolments(d, people)
    gj_spells = spells(enrolled, switch_over_months(d))
    ev = events(d, people)
    months = month_range(d.first_month, d.last_month)
    return CrossCheck(
        deliveries=d,
        enrolments=enrolled,
        spells=gj_spells,
        events=ev,
        gj_entries=gj_entries(enrolled),
        gj_stock=stock(gj_spells, months),
        monthly=monthly_contacts(ev, d.first_month, d.observed_until),
        people=people,
    )


# ------------------------------------------------------------------------------ a small built warehouse

# The delivery set the e2e cross-checks share: both systems, the 2015 switch-over, a corrected
# re-delivery, late records, duplicates, malformed and unknown-code lines, GJ cohorts begun in 2013-2014.
WINDOW = ("2014-09", "2016-06")
SCALE = 0.01
SEED = 20140901


@dataclass(frozen=True)
class Built(Paths):
    """The platform's own paths (landing, truth, warehouse) of a built data folder, and how the build went."""

    success: bool = False
    failed_checks: tuple[str, ...] = ()


_SHARED: dict[str, Built] = {}


@contextmanager
def data_dir_environment(data_dir: Path):
    """MILO_DATA_DIR and DAGSTER_HOME on `data_dir`, no pseudonymisation key (synthetic data: demo key)."""
    names = ("MILO_DATA_DIR", "DAGSTER_HOME", "MILO_PSEUDO_KEY")
    saved = {name: os.environ.get(name) for name in names}
    os.environ["MILO_DATA_DIR"] = str(data_dir)
    os.environ["DAGSTER_HOME"] = str(data_dir / "dagster")
    os.environ.pop("MILO_PSEUDO_KEY", None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def build(data_dir: Path, window: tuple[str, str] = WINDOW, scale: float = SCALE, seed: int = SEED) -> Built:
    """Generate the deliveries, then materialise every asset (the monthly raw assets, then the dbt build)
    over the whole month range in one in-process Dagster run, as tests/test_e2e.py does for one month."""
    import dagster as dg
    from dagster_dbt import DbtCliResource

    from orchestration.defs.dbt_project import dbt_project
    from orchestration.defs.ingest import raw_assets
    from orchestration.defs.resources import WarehouseResource
    from orchestration.defs.transform import dbt_models
    from orchestration.lib import settings
    from orchestration.lib.synth import Faults, SynthConfig, generate

    with data_dir_environment(data_dir):
        paths = settings.prepare_environment()
        generate(
            SynthConfig(
                out=paths.landing,
                start=window[0],
                end=window[1],
                scale=scale,
                seed=seed,
                faults=Faults(),
                truth_dir=paths.truth,
                progress=False,
            )
        )
        resources = {
            "warehouse": WarehouseResource(lock_wait_seconds=30),
            "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=str(Path(sys.executable).parent / "dbt")),
        }
        result = dg.materialize(
            [*raw_assets, dbt_models],
            resources=resources,
            instance=dg.DagsterInstance.ephemeral(),
            tags={
                "dagster/asset_partition_range_start": f"{window[0]}-01",
                "dagster/asset_partition_range_end": f"{window[1]}-01",
            },
            raise_on_error=False,
        )
        failed = [e.check_name for e in result.get_asset_check_evaluations() if not e.passed]
    return Built(data_dir=data_dir, success=result.success, failed_checks=tuple(failed))


def shared_build(tmp_path_factory) -> Built:
    """One built warehouse per pytest process, whichever test module asks first."""
    if "default" not in _SHARED:
        _SHARED["default"] = build(tmp_path_factory.mktemp("crosscheck") / "data")
    return _SHARED["default"]
