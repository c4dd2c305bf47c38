"""Where things live. One variable, ``MILO_DATA_DIR``, places every file the platform writes.

The dbt profile reads the same variable, so Dagster, dbt and the CLI always open the same
warehouse. Paths are resolved to absolute ones once, here: DuckDB and dbt would otherwise
resolve a relative path against whatever directory they happen to run in.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_VAR = "MILO_DATA_DIR"
DEFAULT_DATA_DIR = "./data"
POOL = "duckdb_writer"

# Every writer of the DuckDB file goes through this pool; DuckDB allows one writing process.
DAGSTER_YAML = f"""\
# Written by `milo` (orchestration/lib/settings.py). DuckDB accepts one writer process at a time:
# every asset that writes the warehouse declares pool "{POOL}", and its limit is 1.
concurrency:
  pools:
    default_limit: 1
  runs:
    max_concurrent_runs: 4
run_retries:
  enabled: true
  max_retries: 2
telemetry:
  enabled: false
"""


@dataclass(frozen=True)
class Paths:
    data_dir: Path

    @property
    def landing(self) -> Path:
        return self.data_dir / "landing"

    @property
    def truth(self) -> Path:
        # Ground truth of the synthetic generator: beside the deliveries, never ingested.
        return self.data_dir / "synthetic_truth"

    @property
    def warehouse(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.data_dir / "dagster"

    @property
    def reports(self) -> Path:
        return self.data_dir / "reports"


def data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_VAR) or DEFAULT_DATA_DIR).expanduser().resolve()


def paths() -> Paths:
    return Paths(data_dir())


def prepare_environment() -> Paths:
    """Resolve and export the data directory, and give Dagster an instance inside it.

    Called by the CLI and at the start of every Dagster run, never at import time.
    """
    p = paths()
    for folder in (p.data_dir, p.landing, p.dagster_home):
        folder.mkdir(parents=True, exist_ok=True)
        # Deliveries and the warehouse hold personal data: owner-only.
        folder.chmod(0o700)
    os.environ[DATA_DIR_VAR] = str(p.data_dir)
    os.environ.setdefault("DAGSTER_HOME", str(p.dagster_home))
    instance_yaml = Path(os.environ["DAGSTER_HOME"]) / "dagster.yaml"
    if not instance_yaml.exists():
        instance_yaml.parent.mkdir(parents=True, exist_ok=True)
        instance_yaml.write_text(DAGSTER_YAML)
    return p
