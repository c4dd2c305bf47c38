"""The Dagster code location: pure helpers, the shape of the asset graph and the jobs, the sensors, the
schedule, the `milo materialize` command, and the one-writer pool."""

from __future__ import annotations

import json
import os
from datetime import date, datetime

import dagster as dg
import pytest

from orchestration.defs.partitions import months_in_window, shift_months
from orchestration.defs.transform import LAYERS, keep_partial_parse, translator
from orchestration.lib.settings import POOL


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2016, 1, 1), -1, date(2015, 12, 1)),
        (date(2016, 12, 1), 1, date(2017, 1, 1)),
        (date(2015, 3, 1), -15, date(2013, 12, 1)),
        (date(2015, 3, 20), 0, date(2015, 3, 1)),
    ],
)
def test_shift_months(day, months, expected):
    assert shift_months(day, months) == expected


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


@pytest.mark.parametrize(
    ("props", "key", "group"),
    [
        (
            {"resource_type": "model", "name": "int_x", "fqn": ["milo", "intermediate", "int_x"]},
            "intermediate",
            "intermediate",
        ),
        ({"resource_type": "model", "name": "pub_x", "fqn": ["milo", "published", "pub_x"]}, "published", "published"),
        (
            {"resource_type": "model", "name": "stg_x", "fqn": ["milo", "staging", "imilo", "stg_x"]},
            "staging",
            "staging",
        ),
        # a seed sits in the reference layer whatever its folder
        ({"resource_type": "seed", "name": "map_x", "fqn": ["milo", "mappings", "map_x"]}, "reference", "reference"),
        # a model outside the layer folders is not given a layer of its own
        ({"resource_type": "model", "name": "odd", "fqn": ["milo", "scratch", "odd"]}, "reference", "reference"),
    ],
)
def test_the_model_folder_gives_the_asset_key_prefix_and_group(props, key, group):
    assert translator.get_asset_key(props) == dg.AssetKey([key, props["name"]])
    assert translator.get_group_name(props) == group


def test_a_source_is_keyed_like_the_raw_asset_that_fills_it():
    props = {"resource_type": "source", "name": "imilo__events", "fqn": ["milo", "raw", "imilo__events"]}
    assert translator.get_asset_key(props) == dg.AssetKey(["raw", "imilo__events"])
    assert translator.get_group_name(props) is None


def test_asset_graph_runs_unbroken_from_files_to_published_tables():
    from orchestration.definitions import defs
    from orchestration.defs.transform import dbt_models

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"raw/imilo__events", "raw/parcours3__events", "published/pub_gj_cohorts"} <= keys
    raw = {k for k in graph.get_all_asset_keys() if k.path[0] == "raw"}
    for key in dbt_models.keys:
        assert key.path[0] in (*LAYERS, "reference"), key
        assert graph.get(key).group_name == key.path[0], key
        # staging is the only layer that reads the raw tables (the only place that calls source())
        if graph.get(key).parent_keys & raw:
            assert key.path[0] == "staging", key
    # every raw table is read, and the published tables reach back to the files of both systems
    assert raw == {parent for key in dbt_models.keys for parent in graph.get(key).parent_keys if parent in raw}
    assert {k.path[0] for k in dbt_models.keys if k.path[-1].startswith("pub_")} == {"published"}
    upstream = dg.AssetSelection.assets(dg.AssetKey(["published", "pub_gj_cohorts"])).upstream().resolve(graph)
    assert {dg.AssetKey(["raw", "imilo__events"]), dg.AssetKey(["raw", "parcours3__events"])} <= upstream
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert {"raw_parcours3", "raw_imilo", *LAYERS, "reference", "reports"} <= groups


def test_only_ingestion_is_partitioned():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    partitioned = {k.path[0] for k in graph.get_all_asset_keys() if graph.get(k).partitions_def is not None}
    assert partitioned == {"raw"}


def test_the_jobs_ingest_by_month_and_build_dbt_whole():
    from orchestration.definitions import defs
    from orchestration.defs.transform import dbt_models

    graph = defs.resolve_asset_graph()
    ingest, transform, everything = (defs.resolve_job_def(n) for n in ("ingest_job", "transform_job", "everything_job"))
    assert ingest.partitions_def is not None and everything.partitions_def is not None
    assert transform.partitions_def is None
    selected = transform.asset_layer.executable_asset_keys
    assert {k.path[0] for k in selected} == {*{k.path[0] for k in dbt_models.keys}, "reports"}
    assert set(dbt_models.keys) <= selected
    assert {k.path[0] for k in everything.asset_layer.executable_asset_keys} == {
        k.path[0] for k in graph.get_all_asset_keys()
    }
    assert sorted(job.name for job in defs.jobs) == ["everything_job", "ingest_job", "transform_job"]


def test_every_writer_is_in_the_duckdb_pool():
    from orchestration.definitions import defs

    for node in defs.resolve_implicit_global_asset_job_def().graph.node_defs:
        assert node.pool == POOL, node.name


def test_monthly_schedule_requests_the_newest_month_and_the_three_before_as_one_range():
    from orchestration.defs.automation import RANGE_END, RANGE_START, everything_job, monthly_schedule

    assert monthly_schedule.job_name == everything_job.name
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 3, 5, 6, 0))
    request = monthly_schedule(context)
    assert request.tags[RANGE_START] == "2025-11-01"
    assert request.tags[RANGE_END] == "2026-02-01"
    assert request.run_key == "monthly-2026-02"
    january = monthly_schedule(dg.build_schedule_context(scheduled_execution_time=datetime(2026, 1, 5, 6, 0)))
    assert (january.tags[RANGE_START], january.tags[RANGE_END]) == ("2025-09-01", "2025-12-01")


def _ingested(instance: dg.DagsterInstance, key: str, month: str) -> None:
    instance.report_runless_asset_event(
        dg.AssetMaterialization(asset_key=dg.AssetKey.from_user_string(key), partition=f"{month}-01")
    )


def test_transform_sensor_requests_one_unpartitioned_run_once_ingestion_settles(data_dir):
    from orchestration.defs.automation import MONTHS_TAG, RANGE_END, RANGE_START, transform_sensor

    with dg.instance_for_test() as instance:
        assert isinstance(transform_sensor(dg.build_sensor_context(instance=instance)), dg.SkipReason)
        _ingested(instance, "raw/imilo__events", "2015-03")
        _ingested(instance, "raw/parcours3__events", "2015-01")
        _ingested(instance, "raw/imilo__young_people", "2015-02")

        queued = instance.add_run(
            dg.DagsterRun(job_name="ingest_job", run_id="a" * 36, status=dg.DagsterRunStatus.STARTED)
        )
        waiting = transform_sensor(dg.build_sensor_context(instance=instance))
        assert isinstance(waiting, dg.SkipReason) and "ingest runs in progress" in waiting.skip_message
        instance.delete_run(queued.run_id)

        context = dg.build_sensor_context(instance=instance)
        request = transform_sensor(context)
        assert isinstance(request, dg.RunRequest)
        assert request.partition_key is None
        assert RANGE_START not in request.tags and RANGE_END not in request.tags
        assert request.tags[MONTHS_TAG] == "2015-01..2015-03"
        # the same data does not start a second run; new data does
        again = dg.build_sensor_context(instance=instance, cursor=context.cursor)
        assert isinstance(transform_sensor(again), dg.SkipReason)
        _ingested(instance, "raw/parcours3__events", "2015-04")
        later = transform_sensor(dg.build_sensor_context(instance=instance, cursor=context.cursor))
        assert later.tags[MONTHS_TAG] == "2015-04" and later.run_key != request.run_key


def test_a_range_of_months_is_one_run_for_every_asset():
    from orchestration.definitions import defs

    for assets_def in defs.assets:
        policy = getattr(assets_def, "backfill_policy", None)
        assert policy is not None and policy.max_partitions_per_run is None, assets_def


def _selected(command: list[str]) -> set[dg.AssetKey]:
    """The assets `dagster asset materialize` would select, read the way it reads --select."""
    from orchestration.definitions import defs

    selection = command[command.index("--select") + 1]
    return dg.AssetSelection.from_coercible(selection.split(",")).resolve(defs.resolve_asset_graph())


def test_milo_materialize_gives_a_month_range_to_the_raw_assets_only():
    from orchestration.defs.ingest import raw_assets
    from orchestration.defs.transform import dbt_models
    from orchestration.lib.cli import materialize_command

    everything = materialize_command(None, "2015-01", "2015-03")
    assert everything[everything.index("--partition-range") + 1] == "2015-01-01...2015-03-01"
    assert {dg.AssetKey(["reports", "charts"]), *dbt_models.keys} <= _selected(everything)
    raw = materialize_command("raw", "2015-01", "2015-03")
    assert "--partition-range" in raw
    assert _selected(raw) == {key for assets in raw_assets for key in assets.keys}
    # the dbt assets are unpartitioned: a range would make Dagster refuse the run
    dbt = materialize_command("dbt", None, None)
    assert "--partition-range" not in dbt and "--partition" not in dbt
    assert _selected(dbt) == set(dbt_models.keys)
    assert json.loads(dbt[dbt.index("--config-json") + 1])["loggers"]["console"]["config"]["log_level"] == "INFO"


def test_milo_materialize_refuses_a_month_range_for_the_dbt_models_alone(data_dir, capsys):
    from orchestration.lib.cli import main

    assert main(["materialize", "--only", "dbt", "--from", "2015-01"]) == 2
    assert "no --from/--to" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["materialize", "--full-refresh"])


def test_old_dbt_run_folders_are_pruned(tmp_path):
    from orchestration.defs.transform import prune_run_folders

    old = tmp_path / "dbt_models-1605b71-0d916f8"
    recent = tmp_path / "dbt_models-7cbccfa-c8355f0"
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
