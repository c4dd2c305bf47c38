"""Opening the DuckDB warehouse: one writer at a time, lock conflicts retried, schemas in place."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)

SCHEMAS = ("raw", "audit")
LOCK_MESSAGE = "Could not set lock"


class WarehouseLockedError(RuntimeError):
    pass


def connect(path: Path, read_only: bool = False, wait_seconds: float = 120.0) -> duckdb.DuckDBPyConnection:
    """Connect, retrying with backoff while another process holds the file's lock.

    The Dagster pool keeps our own writers apart; this covers everything else (a notebook left open,
    `make docs` while a run writes). After `wait_seconds` the error says who holds the lock.
    """
    delay, waited = 0.25, 0.0
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if LOCK_MESSAGE not in str(exc) or waited >= wait_seconds:
                if LOCK_MESSAGE in str(exc):
                    raise WarehouseLockedError(
                        f"{path}: still locked by another process after {waited:.0f} s ({exc})"
                    ) from exc
                raise
            log.warning("warehouse %s is locked by another process, retrying in %.2f s", path, delay)
            time.sleep(delay)
            waited += delay
            delay = min(delay * 2, 5.0)
    if not read_only:
        path.chmod(0o600)
        # Committed rows are safe in the write-ahead log; checkpointing it into the main file after every
        # monthly file (the 16 MB default) tripled the cost of a commit during a backfill. DuckDB still
        # checkpoints at this size and when the last connection closes.
        con.execute("SET checkpoint_threshold = '1GB'")
        # As in the dbt profile: a bounded share of a modest machine, large operations spill to disk.
        con.execute("SET memory_limit = '4GB'")
    return con


@contextmanager
def open_warehouse(
    path: Path, read_only: bool = False, wait_seconds: float = 120.0
) -> Iterator[duckdb.DuckDBPyConnection]:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = connect(path, read_only=read_only, wait_seconds=wait_seconds)
    try:
        if not read_only:
            for schema in SCHEMAS:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        yield con
    finally:
        con.close()
