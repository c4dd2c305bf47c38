"""dbt models as Dagster assets: seeds, staging, intermediate, harmonised, marts and published tables, with
dbt tests as asset checks.

One unpartitioned `@dbt_assets` over the whole project: every run is a plain `dbt build` that rebuilds every
model whole from what `raw` holds, so the warehouse is always what the delivered files say. Only ingestion
is partitioned by month; the dbt assets sit downstream of the monthly raw assets, and their single-run
backfill policy lets one range run carry the raw months and this one dbt build.
"""

import os
import shutil
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.defs.dbt_project import dbt_project
from orchestration.defs.resources import WarehouseResource
from orchestration.lib import settings

# The model folders under dbt_project/models/, upstream first: each is an asset key prefix and a group.
LAYERS = ("staging", "intermediate", "harmonised", "marts", "published")
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
# The project's own target folder: dagster-dbt reads a partial parse from it, and puts its per-invocation
# folders under it.
PROJECT_TARGET = dbt_project.project_dir / dbt_project.target_path
# Where `make docs` serves the dbt docs site: the same DOCS_PORT as the Makefile, so that the links of the
# UI follow `make ui DOCS_PORT=...`.
DOCS_URL = f"http://127.0.0.1:{os.environ.get('DOCS_PORT') or '8080'}"


def run_dbt(dbt: DbtCliResource, context: dg.AssetExecutionContext, args: list[str]) -> Iterator:
    """Stream one dbt invocation's events for `context`, then keep its parse for the next invocation."""
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
            metadata["dbt_docs"] = dg.MetadataValue.url(f"{DOCS_URL}/#!/{kind}/{dbt_resource_props['unique_id']}")
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


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    # Unpartitioned, with a single-run policy all the same: a run over a range of raw months (the schedule,
    # `make backfill`) then carries the dbt build too, once, after every month's ingestion.
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=settings.POOL,
    name="dbt_models",
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """Every model rebuilt whole from `raw` and the reference seeds: `dbt build` (models and their tests)."""
    # Opening the warehouse for writing creates every raw table: dbt's sources must exist even for a system
    # that has not delivered yet (I-Milo before 2015).
    with warehouse.connect():
        pass
    prune_run_folders(PROJECT_TARGET)
    yield from run_dbt(dbt, context, ["build"])
