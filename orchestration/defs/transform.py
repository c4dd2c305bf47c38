"""dbt models as Dagster assets: staging, harmonised and marts, with dbt tests as asset checks.

Two groups of dbt assets, as in Dagster's own platform: the models tagged `monthly` (incremental by
month), with what they read, are partitioned like the raw assets and receive the partition window as dbt
vars; everything else is unpartitioned and rebuilt whole. Both use a single-run backfill policy: a 13-year
backfill is one dbt call.
"""

import json
import os
import shutil
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.defs.dbt_project import dbt_project
from orchestration.defs.partitions import monthly_partitions
from orchestration.defs.resources import WarehouseResource
from orchestration.lib import settings

LAYERS = ("staging", "harmonised", "marts")
# The incremental models and everything they read (seeds, staging views, person keys): the partitioned
# group must sit wholly upstream of the unpartitioned one, or one run would need dbt_models twice.
MONTHLY_SELECTION = "+tag:monthly"
# A delivery carries records up to three months late (docs/raw-formats.md): rebuilding the partitions'
# months alone would leave those records out, so the window reaches back this far.
LATE_RECORD_MONTHS = 3
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
# The project's own target folder: dagster-dbt reads a partial parse from it, and puts its per-invocation
# folders under it.
PROJECT_TARGET = dbt_project.project_dir / dbt_project.target_path
# Where `make docs` serves the dbt docs site (DOCS_PORT defaults to 8080 in the Makefile).
DOCS_BASE_URL = "http://127.0.0.1:8080/#!/"


class DbtRunConfig(dg.Config):
    full_refresh: bool = False
    """Rebuild incremental models from scratch (dbt --full-refresh), e.g. after a mapping seed changed."""


def shift_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def dbt_window_vars(start: date, end: date, late_months: int = LATE_RECORD_MONTHS) -> dict[str, str]:
    """For delivery months [start, end): the half-open [min_date, max_date) of event months to rebuild,
    and the first delivery month (the person-level tables are rebuilt for the people delivered then)."""
    return {
        "min_date": shift_months(start, -late_months).isoformat(),
        "max_date": end.isoformat(),
        "min_delivery_date": start.isoformat(),
    }


def dbt_build_args(full_refresh: bool) -> list[str]:
    return ["build", "--full-refresh"] if full_refresh else ["build"]


# The window reaches dbt as environment variables (dbt macro `window_setting`), not as `--vars`: vars that
# change make dbt parse the whole project again, and the window changes with every monthly run.
WINDOW_ENV_PREFIX = "MILO_DBT_"


def dbt_window_env(window: Mapping[str, str] | None) -> dict[str, str]:
    """The environment variables that give dbt a window ({} for none)."""
    return {f"{WINDOW_ENV_PREFIX}{name.upper()}": value for name, value in (window or {}).items()}


@contextmanager
def dbt_window_environment(window: Mapping[str, str] | None) -> Iterator[None]:
    """Within the block, the process environment holds `window` (and no other window setting): dagster-dbt
    starts the dbt process with a copy of it. Restored on leaving, so no later dbt call inherits a window."""
    names = [name for name in os.environ if name.startswith(WINDOW_ENV_PREFIX)]
    saved = {name: os.environ.pop(name) for name in names}
    os.environ.update(dbt_window_env(window))
    try:
        yield
    finally:
        for name in [name for name in os.environ if name.startswith(WINDOW_ENV_PREFIX)]:
            del os.environ[name]
        os.environ.update(saved)


def run_dbt(dbt: DbtCliResource, context: dg.AssetExecutionContext, args: list[str], window=None) -> Iterator:
    """Stream one dbt invocation's events for `context`, with `window` (or none), then keep its parse for
    the next invocation."""
    with dbt_window_environment(window):
        invocation = dbt.cli(args, context=context)
    yield from invocation.stream()
    keep_partial_parse(invocation.target_path, PROJECT_TARGET)


def keep_partial_parse(run_target: Path, project_target: Path) -> bool:
    """Copy an invocation's partial-parse file where dagster-dbt looks for one before the next invocation
    (it copies it into each run's own folder). dbt checks the file against the project's files, vars and
    profile before using it; kept this way, the next run re-parses only what changed (about 2 s saved of the
    5 s a full parse takes). `make prepare` parses with a throwaway data directory, whose profile differs:
    without this, every run's dbt would parse the whole project."""
    source = run_target / PARTIAL_PARSE_FILE
    if not source.is_file():
        return False
    project_target.mkdir(parents=True, exist_ok=True)
    staged = project_target / f".{PARTIAL_PARSE_FILE}.{os.getpid()}"
    shutil.copyfile(source, staged)
    staged.replace(project_target / PARTIAL_PARSE_FILE)  # atomic: a concurrent reader sees old or new
    return True


class MiloTranslator(DagsterDbtTranslator):
    """Asset keys `<layer>/<model>`, groups by layer, sources keyed like the raw assets that fill them,
    and a link to each model's page in the dbt docs site."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey(["raw", dbt_resource_props["name"]])
        return dg.AssetKey([self._layer(dbt_resource_props), dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return None
        return self._layer(dbt_resource_props)

    def get_metadata(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, Any]:
        metadata = dict(super().get_metadata(dbt_resource_props))
        if dbt_resource_props["resource_type"] in ("model", "seed"):
            kind = dbt_resource_props["resource_type"]
            metadata["dbt_docs"] = dg.MetadataValue.url(f"{DOCS_BASE_URL}{kind}/{dbt_resource_props['unique_id']}")
        return metadata

    @staticmethod
    def _layer(props: Mapping[str, Any]) -> str:
        if props["resource_type"] == "seed":
            return "reference"
        fqn = props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 and fqn[1] in LAYERS else "reference"


translator = MiloTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


# dagster-dbt writes one target/<op>-<run>-<hash>/ folder per dbt invocation (logs, run results, compiled
# SQL, about 10 MB): kept a week for debugging, and at most the newest RUN_FOLDER_KEEP, then removed, or
# they would grow with every run forever (a day of development and tests left 600 of them, 5 GB).
RUN_FOLDER_DAYS = 7
RUN_FOLDER_KEEP = 100


def prune_run_folders(
    target: Path, older_than_days: float = RUN_FOLDER_DAYS, keep: int = RUN_FOLDER_KEEP, now: float | None = None
) -> int:
    """Remove dagster-dbt's per-invocation folders older than `older_than_days`, and all but the newest
    `keep`; returns how many went."""
    cutoff = (now or time.time()) - older_than_days * 86400
    folders = [
        folder
        for folder in (target.glob("*-*-*") if target.is_dir() else [])
        if folder.is_dir() and folder.name.split("-", 1)[0].startswith("dbt")
    ]
    folders.sort(key=lambda folder: folder.stat().st_mtime, reverse=True)
    removed = [folder for rank, folder in enumerate(folders) if rank >= keep or folder.stat().st_mtime < cutoff]
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return len(removed)


def incremental_relations(manifest: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(schema, table) of every incremental model of the project."""
    return {
        (node["schema"], node.get("alias") or node["name"])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"].get("materialized") == "incremental"
    }


def _before_dbt(warehouse: WarehouseResource) -> set[tuple[str, str]]:
    """Prepare the warehouse for dbt; returns the (schema, table) pairs it holds."""
    # dbt sources must exist even for a system that has not delivered yet (I-Milo before 2015).
    with warehouse.connect() as con:
        existing = set(con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall())
    prune_run_folders(PROJECT_TARGET)
    return existing


def incremental_models_built(tables: set[tuple[str, str]]) -> bool:
    """True when every incremental model has its table: a run can then rebuild a window of months.
    Otherwise dbt builds them whole, and must be told no window, or the tests scoped to the window would
    check only part of what was written."""
    manifest = json.loads(dbt_project.manifest_path.read_text(encoding="utf-8"))
    return incremental_relations(manifest) <= tables


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select=MONTHLY_SELECTION,
    dagster_dbt_translator=translator,
    partitions_def=monthly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=settings.POOL,
    name="dbt_monthly_models",
)
def dbt_monthly_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, config: DbtRunConfig
):
    """Incremental models, rebuilt for the partition window (plus the months late records reach)."""
    partitions = context.partition_time_window
    window = dbt_window_vars(partitions.start.date(), partitions.end.date())
    built = incremental_models_built(_before_dbt(warehouse))
    if config.full_refresh:
        window = None  # everything is rebuilt: the tests scoped to a window check the whole tables
    elif not built:
        context.log.info("first build of the incremental models: every month, no window")
        window = None
    else:
        context.log.info(f"dbt window {window}")
    yield from run_dbt(dbt, context, dbt_build_args(config.full_refresh), window)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    exclude=MONTHLY_SELECTION,
    dagster_dbt_translator=translator,
    # Unpartitioned, but with the same policy so that one range run can carry raw, monthly and the rest.
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=settings.POOL,
    name="dbt_models",
)
def dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, config: DbtRunConfig
):
    """Seeds, staging views, harmonised tables and marts: rebuilt whole from the layers below."""
    _before_dbt(warehouse)
    yield from run_dbt(dbt, context, dbt_build_args(config.full_refresh))
