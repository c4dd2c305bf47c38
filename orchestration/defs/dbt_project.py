"""The dbt project, located once. Its manifest is prepared by `make` (dbt parse) before definitions
load; under `dagster dev` it is re-prepared on start so edits to models show up."""

from __future__ import annotations

from pathlib import Path

from dagster_dbt import DbtProject

DBT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR)
dbt_project.prepare_if_dev()
