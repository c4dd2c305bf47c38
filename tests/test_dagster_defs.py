"""The Dagster code location: pure helpers, the shape of the asset graph, and the one-writer pool."""

from __future__ import annotations

import json
import os
from datetime import date, datetime

import dagster as dg
import pytest

from orchestration.defs.partitions import month_bounds, months_in_window
from orchestration.defs.transform import (
    dbt_build_args,
    dbt_window_env,
    dbt_window_environment,
    dbt_window_vars,
    keep_partial_parse,
    shift_months,
)
from orchestration.lib.settings import POOL


def test_window_vars_reach_back_for_late_records():
    assert dbt_window_vars(date(2016, 3, 1), date(2016, 4, 1)) == {
        "min_date": "2015-12-01",
        "max_date": "2016-04-01",
        "min_delivery_date": "2016-03-01",
    }
    assert dbt_window_vars(date(2016, 3, 1), date(2016, 6, 1), late_months=0) == {
        "min_date": "2016-03-01",
        "max_date": "2016-06-01",
        "min_delivery_date": "2016-03-01",
    }


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2016, 1, 1), -1, date(2015, 12, 1)),
        (date(2016, 12, 1), 1, date(2017, 1, 1)),
        (date(2015, 3, 1), -15, date(2013, 12, 1)),
    ],
)
def test_shift_months(day, months, expected):
    assert shift_months(day, months) == expected


def test_dbt_build_args():
    assert dbt_build_args(False) == ["build"]
    assert dbt_build_args(True) == ["build", "--full-refresh"]


def test_the_window_reaches_dbt_through_the_environment_and_leaves_it(monkeypatch):
    window = {"min_date": "2015-12-01", "max_date": "2016-04-01", "min_delivery_date": "2016-03-01"}
    assert dbt_window_env(window) == {
        "MILO_DBT_MIN_DATE": "2015-12-01",
        "MILO_DBT_MAX_DATE": "2016-04-01",
        "MILO_DBT_MIN_DELIVERY_DATE": "2016-03-01",
    }
    monkeypatch.setenv("MILO_DBT_MAX_DATE", "2001-01-01")  # a stale setting from elsewhere
    with dbt_window_environment(window):
        assert {k: v for k, v in os.environ.items() if k.startswith("MILO_DBT_")} == dbt_window_env(window)
    assert os.environ["MILO_DBT_MAX_DATE"] == "2001-01-01"
    with dbt_window_environment(None):  # no window: no setting at all, even an inherited one
        assert not [k for k in os.environ if k.startswith("MILO_DBT_")]
    with pytest.raises(RuntimeError), dbt_window_environment(window):
        raise RuntimeError("dbt failed to start")
    assert {k for k in os.environ if k.startswith("MILO_DBT_")} == {"MILO_DBT_MAX_DATE"}


def test_an_invocations_parse_is_kept_for_the_next(tmp_path):
    run, project = tmp_path / "target" / "dbt_models-abc-def", tmp_path / "target"
    assert not keep_partial_parse(run, project)  # the invocation failed before parsing: nothing to keep
    run.mkdir(parents=True)
    (run / "partial_parse.msgpack").write_bytes(b"parsed")
    (project / "partial_parse.msgpack").write_bytes(b"older")
    assert keep_partial_parse(run, project)
    assert (project / "partial_parse.msgpack").read_bytes() == b"parsed"
    assert sorted(p.name for p in project.iterdir()) == ["dbt_models-abc-def", "partial_parse.msgpack"]


def test_months_in_a_partition_window():
    window = dg.TimeWindow(start=datetime(2015, 11, 1), end=datetime(2016, 2, 1))
    assert months_in_window(window) == ["2015-11", "2015-12", "2016-01"]
    assert month_bounds(["2015-11", "2016-01"]) == (date(2015, 11, 1), date(2016, 2, 1))


def test_asset_graph_runs_unbroken_from_files_to_marts():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"raw/imilo__events", "staging/stg_imilo__events", "harmonised/events", "marts/pub_gj_cohorts"} <= keys
    # every base view reads a raw asset and every staging model its base view: no orphan source
    for key in graph.get_all_asset_keys():
        name = key.to_user_string()
        parents = {p.to_user_string() for p in graph.get(key).parent_keys}
        if name.startswith("staging/base_"):
            assert parents == {name.replace("staging/base_", "raw/")}, name
        elif name.startswith("staging/stg_"):
            assert parents == {name.replace("staging/stg_", "staging/base_")}, name
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert {"raw_parcours3", "raw_imilo", "staging", "harmonised", "marts", "reference"} <= groups


def test_every_writer_is_in_the_duckdb_pool():
    from orchestration.definitions import defs

    for node in defs.resolve_implicit_global_asset_job_def().graph.node_defs:
        assert node.pool == POOL, node.name


def test_monthly_schedule_requests_the_newest_month_and_the_three_before_as_one_range():
    from orchestration.defs.automation import RANGE_END, RANGE_START, monthly_schedule

    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 3, 5, 6, 0))
    request = monthly_schedule(context)
    assert request.tags[RANGE_START] == "2025-11-01"
    assert request.tags[RANGE_END] == "2026-02-01"
    assert request.run_key == "monthly-2026-02"
    january = monthly_schedule(dg.build_schedule_context(scheduled_execution_time=datetime(2026, 1, 5, 6, 0)))
    assert (january.tags[RANGE_START], january.tags[RANGE_END]) == ("2025-09-01", "2025-12-01")


def test_a_range_of_months_is_one_run_for_every_asset():
    from orchestration.definitions import defs

    for assets_def in defs.assets:
        policy = getattr(assets_def, "backfill_policy", None)
        assert policy is not None and policy.max_partitions_per_run is None, assets_def


def test_old_dbt_run_folders_are_pruned(tmp_path):
    import os

    from orchestration.defs.transform import prune_run_folders

    old = tmp_path / "dbt_models-1605b71-0d916f8"
    recent = tmp_path / "dbt_monthly_models-7cbccfa-c8355f0"
    other = tmp_path / "compiled"
    for folder in (old, recent, other):
        folder.mkdir()
    os.utime(old, (0, 0))
    os.utime(other, (0, 0))
    assert prune_run_folders(tmp_path) == 1
    assert not old.exists() and recent.exists() and other.exists()
    # however recent, only the newest `keep` stay
    newer = [tmp_path / f"dbt_models-{i:07d}-0d916f8" for i in range(3)]
    for age, folder in enumerate(newer, start=1):
        folder.mkdir()
        os.utime(folder, (recent.stat().st_mtime + age,) * 2)
    assert prune_run_folders(tmp_path, keep=2) == 2
    assert [f.exists() for f in (recent, *newer)] == [False, False, True, True] and other.exists()


def test_a_window_is_passed_only_once_every_incremental_model_has_its_table(data_dir):
    """dbt builds an incremental model whole when its table is missing: the run must then pass no window,
    or the tests scoped to the window would check a few months of a table written whole."""
    import duckdb

    from orchestration.defs.dbt_project import dbt_project
    from orchestration.defs.resources import WarehouseResource
    from orchestration.defs.transform import _before_dbt, incremental_models_built, incremental_relations

    resource = WarehouseResource(lock_wait_seconds=5)
    assert incremental_models_built(_before_dbt(resource)) is False  # a new warehouse
    incremental = sorted(incremental_relations(json.loads(dbt_project.manifest_path.read_text(encoding="utf-8"))))
    # by month, by delivery month and by person
    assert {("harmonised", "events"), ("harmonised", "int_person_versions"), ("harmonised", "persons")} <= set(
        incremental
    )
    with duckdb.connect(str(data_dir.warehouse)) as con:
        for schema, table in incremental[:-1]:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}; CREATE TABLE {schema}.{table} (x INTEGER)")
    assert incremental_models_built(_before_dbt(resource)) is False  # one still missing
    schema, table = incremental[-1]
    with duckdb.connect(str(data_dir.warehouse)) as con:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}; CREATE TABLE {schema}.{table} (x INTEGER)")
    assert incremental_models_built(_before_dbt(resource)) is True
