"""Monthly runs give exactly what a full rebuild gives.

The incremental models rebuild only what a partition changes: events and the monthly marts the months of
its window and the three before it (late records), the dossier versions its delivery months, and the
person-level tables (history, situations, enrolments, spells, persons) the people its deliveries touch.
Here a small delivery set is loaded and built up to two months before its end, then the last two months
arrive one by one and each is run as the monthly schedule would (its partition: raw assets, incremental
dbt models, the rest of dbt); then a corrected version of the last month withdraws a tenth of its
records and delivers again a few records of the three months before (later versions of records seen
then), and that month is run again. The harmonised and mart layers must then equal, row for row, a
`dbt build --full-refresh` of the same warehouse. A person-level model run alone for other months must
refuse the last run's list of touched people.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import crosscheck as cc
import duckdb
import pytest
from faultlib import warehouse_state

pytestmark = pytest.mark.e2e

# From before the switch-over: a migrated dossier is delivered, with its Parcours 3 number, when it migrates.
# (A window starting later would lack those first deliveries, and a dossier first seen in a later month
# would change the person key of events already built: outside the contract, docs/harmonisation.md.)
WINDOW = ("2014-12", "2015-09")
HELD = ("2015-08", "2015-09")
MODEL_SCHEMAS = ("harmonised", "marts")
# What one run touched: a record of that run, not a table a full rebuild reproduces.
# A window other than the last monthly run's (whose delivery month is HELD[-1]).
OTHER_WINDOW = {"min_date": "2015-03-01", "max_date": "2015-07-01", "min_delivery_date": "2015-06-01"}
RUN_RECORDS = {
    "harmonised.int_persons_touched",
    "harmonised.int_records_touched",
    "harmonised.int_dossiers_rekeyed",
    "marts.int_gj_people_rebuilt",
}


def _dbt(dbt_project, *args: str) -> subprocess.CompletedProcess:
    """The dbt CLI on the project, as a user runs it."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), *args],
        cwd=dbt_project.project_dir,
        env=os.environ | {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        capture_output=True,
        text=True,
    )


def _materialise(selection: list, **kwargs) -> None:
    import dagster as dg

    result = dg.materialize(selection, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False, **kwargs)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


def _full_parses(dbt_project, run_id: str) -> list[bool]:
    """Per dbt invocation of a Dagster run (its folder under target/), whether dbt parsed the whole project
    instead of reusing the last parse."""
    folders = sorted((dbt_project.project_dir / "target").glob(f"dbt_*-{run_id[:7]}-*"))
    return [(folder / "dbt.log").read_text(encoding="utf-8").count('"UnableToPartialParse"') > 0 for folder in folders]


def test_two_monthly_runs_equal_a_full_rebuild(tmp_path):
    from dagster_dbt import DbtCliResource

    from orchestration.defs.dbt_project import dbt_project
    from orchestration.defs.ingest import raw_assets
    from orchestration.defs.resources import WarehouseResource
    from orchestration.defs.transform import dbt_models, dbt_monthly_models
    from orchestration.lib import settings
    from orchestration.lib.synth import Faults, SynthConfig, generate

    data = tmp_path / "data"
    with cc.data_dir_environment(data):
        paths = settings.prepare_environment()
        generate(
            SynthConfig(
                out=paths.landing, start=WINDOW[0], end=WINDOW[1], scale=0.005, seed=7, faults=Faults(), progress=False
            )
        )
        held = tmp_path / "held"
        for month in HELD:
            shutil.move(paths.landing / "imilo" / month, held / month)  # Parcours 3 stopped in 2015-06
        resources = {
            "warehouse": WarehouseResource(lock_wait_seconds=30),
            "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=str(Path(sys.executable).parent / "dbt")),
        }
        _materialise(
            [*raw_assets, dbt_monthly_models, dbt_models],
            resources=resources,
            tags={
                "dagster/asset_partition_range_start": f"{WINDOW[0]}-01",
                "dagster/asset_partition_range_end": "2015-07-01",
            },
        )
        for month in HELD:  # the month arrives; the schedule's run for it
            shutil.move(held / month, paths.landing / "imilo" / month)
            _materialise([*raw_assets, dbt_monthly_models], resources=resources, partition_key=f"{month}-01")
            _materialise([dbt_models], resources=resources)
        corrected = _deliver_corrected(paths.landing, "imilo", HELD[-1], every=10, again=5)
        last_runs = [
            _materialise([*raw_assets, dbt_monthly_models], resources=resources, partition_key=f"{HELD[-1]}-01"),
            _materialise([dbt_models], resources=resources),
        ]
        monthly = warehouse_state(paths.warehouse, MODEL_SCHEMAS)
        with duckdb.connect(str(paths.warehouse), read_only=True) as con:
            lists = con.sql("SELECT run_deliveries, count(*) FROM harmonised.int_persons_touched GROUP BY 1").fetchall()
        parses = [_full_parses(dbt_project, run.run_id) for run in last_runs]
        refused = _dbt(dbt_project, "run", "--select", "persons", "--vars", json.dumps(OTHER_WINDOW))
        assert monthly == warehouse_state(paths.warehouse, MODEL_SCHEMAS)  # refused before deleting anything

        rebuild = _dbt(dbt_project, "build", "--full-refresh", "--quiet")
        assert rebuild.returncode == 0, rebuild.stdout[-3000:]
        full = warehouse_state(paths.warehouse, MODEL_SCHEMAS)
        read_in_build = (dbt_project.project_dir / "target/run/milo/models/harmonised/events.sql").read_text()
        # rebuilt alone, without the list of repeated records in the same invocation: from the staging views
        alone = _dbt(
            dbt_project,
            "run",
            "--full-refresh",
            "--select",
            "events",
            "situations",
            "--target-path",
            str(tmp_path / "alone"),
        )
        assert alone.returncode == 0, alone.stdout[-3000:]
        read_alone = (tmp_path / "alone/run/milo/models/harmonised/events.sql").read_text()
        rebuilt_alone = warehouse_state(paths.warehouse, ["harmonised"])
        caught = _key_test_of_a_monthly_run_catches_a_duplicate_outside_its_window(paths.warehouse, dbt_project)
        scoped_test = _key_test_of_a_monthly_run_catches_a_touched_persons_duplicate(paths.warehouse, dbt_project)

    assert monthly.keys() == full.keys()
    assert monthly["marts.monthly_activity"], "nothing was built"
    assert min(withdrawn for withdrawn, _ in corrected.values()) > 10, corrected
    assert min(again for _, again in corrected.values()) == 15, corrected
    different = {
        name: (len(monthly[name]), len(full[name]), sorted(set(monthly[name]) ^ set(full[name]))[:4])
        for name in full.keys() - RUN_RECORDS
        if monthly[name] != full[name]
    }
    assert different == {}, different
    # the whole build read the list of repeated records it had just built; the model rebuilt alone did not
    assert "int_repeated_record_months" in read_in_build and "stg_imilo__events" not in read_in_build
    assert "stg_imilo__events" in read_alone and "int_repeated_record_months" not in read_alone
    assert {t: rebuilt_alone[t] for t in ("harmonised.events", "harmonised.situations")} == {
        t: full[t] for t in ("harmonised.events", "harmonised.situations")
    }
    # the window reached dbt (through the environment): the last run listed the people of its month only
    assert len(lists) == 1 and lists[0][0] == f"{HELD[-1]}-01/2015-10-01" and lists[0][1] > 0, lists
    # each of those runs' dbt invocations reused the parse of the one before (window not passed as vars)
    assert parses == [[False], [False]], parses
    assert caught
    assert scoped_test == (True, True), scoped_test
    # a person-level model run alone for other months would use the last run's list of touched people
    assert refused.returncode != 0 and "lists another run's deliveries" in refused.stdout, refused.stdout[-2000:]


def _deliver_corrected(landing: Path, system: str, month: str, every: int, again: int) -> dict[str, tuple[int, int]]:
    """A corrected version of a delivered month: every `every`-th record of each file withdrawn, and the
    first `again` records of each of the three months before delivered again (later versions of records
    first delivered then: an event only if dated in the contract's lateness window), the rest as delivered.
    Returns, per file, how many records were withdrawn and how many delivered again."""
    import csv
    from datetime import date

    from orchestration.defs.transform import LATE_RECORD_MONTHS, shift_months
    from orchestration.lib.delivery import SYSTEMS, latest_delivery, write_manifest

    def read(folder: Path, name: str) -> list[list[str]]:
        with (folder / name).open(encoding=encoding, newline="") as source:
            return list(csv.reader(source))

    delivered = latest_delivery(landing, system, month)
    corrected = delivered.folder.parent / f"v{delivered.version + 1}"
    corrected.mkdir()
    manifest = json.loads((delivered.folder / "manifest.json").read_text(encoding="utf-8"))
    encoding = SYSTEMS[system].encoding
    first_day = date.fromisoformat(f"{month}-01")
    earlier = [shift_months(first_day, -k).strftime("%Y-%m") for k in range(1, LATE_RECORD_MONTHS + 1)]
    files, changed = {}, {}
    for entry in manifest["files"]:
        rows = read(delivered.folder, entry["name"])
        header, dated = rows[0], "date_evenement" in rows[0]
        kept = [header] + [row for i, row in enumerate(rows[1:], start=1) if i % every]
        repeated = []
        for before in earlier:
            previous = latest_delivery(landing, system, before)
            name = entry["name"].replace(month, before)
            candidates = [
                row
                for row in read(previous.folder, name)[1:]
                if not dated or row[header.index("date_evenement")] >= f"{earlier[-1]}-01"
            ]
            repeated += [[month, *row[1:]] for row in candidates[:again]]
        with (corrected / entry["name"]).open("w", encoding=encoding, newline="") as target:
            csv.writer(target, lineterminator="\n").writerows(kept + repeated)
        files[entry["table"]] = corrected / entry["name"]
        changed[entry["table"]] = (len(rows) - len(kept), len(repeated))
    described = {k: v for k, v in manifest.items() if k not in ("system", "month", "version", "encoding", "files")}
    write_manifest(corrected, system, month, delivered.version + 1, files, **described)  # synthetic, as v1
    return changed


def _key_test_of_a_monthly_run_catches_a_duplicate_outside_its_window(warehouse: Path, dbt_project) -> bool:
    """A monthly run tests the uniqueness of event keys from the window's rows only: a copy of a window
    event dated months before the window (what a stale row left outside it would be) must still fail it,
    as it must fail the test of every key (no window)."""
    import duckdb

    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "INSERT INTO harmonised.events SELECT * REPLACE (DATE '2015-01-10' AS event_date, "
            "DATE '2015-01-01' AS event_month) FROM harmonised.events WHERE event_month = DATE '2015-09-01' LIMIT 1"
        )
    window = '{"min_date": "2015-06-01", "max_date": "2015-10-01"}'
    # with the window (the keys of its rows looked up), and without (every key, through its hash first)
    for vars_ in (["--vars", window], []):
        checked = _dbt(dbt_project, "test", "--select", "events", *vars_)
        failed = [line for line in checked.stdout.splitlines() if " FAIL " in line]
        if not (
            checked.returncode != 0
            and failed != []
            and all("unique_in_run_window_events_event_key" in line for line in failed)
        ):
            return False
    return True


def _key_test_of_a_monthly_run_catches_a_touched_persons_duplicate(warehouse: Path, dbt_project) -> tuple[bool, bool]:
    """A monthly run tests the keys of the person-level tables from the rows of the people it touched: the
    list of the last run's people is made again, a situation of one of them is copied, and the test of the
    situations with that run's window must fail on the key. Returns (caught, the test was the scoped one)."""
    from datetime import date

    import duckdb

    from orchestration.defs.transform import dbt_window_vars

    last_run = json.dumps(dbt_window_vars(date.fromisoformat(f"{HELD[-1]}-01"), date(2015, 10, 1)))
    listed = _dbt(dbt_project, "run", "--select", "int_persons_touched", "--vars", last_run)
    assert listed.returncode == 0, listed.stdout[-2000:]
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "INSERT INTO harmonised.situations SELECT * FROM harmonised.situations "
            "WHERE person_key IN (SELECT person_key FROM harmonised.int_persons_touched) LIMIT 1"
        )
    checked = _dbt(dbt_project, "test", "--select", "situations", "--vars", last_run)
    failed = [line for line in checked.stdout.splitlines() if " FAIL " in line]
    compiled = next(
        Path(dbt_project.project_dir, "target", "compiled").rglob("unique_for_rebuilt_people_situations_*.sql")
    )
    return (
        checked.returncode != 0 and failed != [] and all("unique_for_rebuilt_people_situations" in f for f in failed),
        "int_persons_touched" in compiled.read_text(encoding="utf-8"),
    )
