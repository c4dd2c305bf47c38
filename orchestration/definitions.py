"""The Dagster code location: assembles what the modules under `defs/` define. Nothing else lives here."""

import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.defs.automation import jobs, schedules, sensors
from orchestration.defs.dbt_project import dbt_project
from orchestration.defs.ingest import raw_assets
from orchestration.defs.report import report_assets
from orchestration.defs.resources import WarehouseResource
from orchestration.defs.transform import dbt_models

defs = dg.Definitions(
    assets=[*raw_assets, dbt_models, *report_assets],
    jobs=jobs,
    # One writer at a time anyway (the pool): steps run one after the other in the run's own process,
    # without a subprocess per step and its start-up cost.
    executor=dg.in_process_executor,
    schedules=schedules,
    sensors=sensors,
    resources={
        "warehouse": WarehouseResource(),
        # The dbt of this environment, whether or not the virtualenv is activated.
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=str(Path(sys.executable).parent / "dbt")),
    },
)
