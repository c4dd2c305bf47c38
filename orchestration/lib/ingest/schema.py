"""Creating the warehouse's `raw` and `audit` tables from the contract, so that dbt sources exist even
before a system's first delivery (I-Milo has none before 2015)."""

from __future__ import annotations

import duckdb

from orchestration.lib.contract import all_tables
from orchestration.lib.ingest import audit
from orchestration.lib.ingest.loading import ensure_raw_table


def initialise(con: duckdb.DuckDBPyConnection) -> None:
    audit.ensure_tables(con)
    for table in all_tables():
        ensure_raw_table(con, table)
