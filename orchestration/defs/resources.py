"""Resources: the DuckDB warehouse, opened at run time from MILO_DATA_DIR (never at import)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.lib import settings
from orchestration.lib.ingest.schema import initialise
from orchestration.lib.warehouse import open_warehouse


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB file `$MILO_DATA_DIR/warehouse.duckdb`. Writers also belong to the pool
    `duckdb_writer` (limit 1); lock conflicts with other processes are retried with backoff."""

    lock_wait_seconds: float = 300.0

    @property
    def paths(self) -> settings.Paths:
        return settings.prepare_environment()

    @property
    def path(self) -> Path:
        return self.paths.warehouse

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with open_warehouse(self.path, read_only=read_only, wait_seconds=self.lock_wait_seconds) as con:
            if not read_only:
                initialise(con)
            yield con
