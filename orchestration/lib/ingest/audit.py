"""The `audit` schema: the ingest ledger (one row per delivered file) and the quarantine of rejected lines.

Both are written inside the loading transaction of the file they describe, so they always agree with
the `raw` tables.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from orchestration.lib.contract import Table
from orchestration.lib.delivery import Delivery, DeliveryError, now_utc

LEDGER_DDL = """
CREATE TABLE IF NOT EXISTS audit.ingest_ledger (
    file_sha256 VARCHAR NOT NULL,
    system VARCHAR NOT NULL,
    entity VARCHAR NOT NULL,
    delivery_month DATE NOT NULL,
    delivery_version INTEGER NOT NULL,
    file_path VARCHAR NOT NULL,
    file_bytes BIGINT NOT NULL,
    rows_in_file BIGINT NOT NULL,
    rows_loaded BIGINT NOT NULL,
    rows_rejected BIGINT NOT NULL,
    status VARCHAR NOT NULL,          -- 'active', or 'superseded' once a later version replaced it
    pseudo_key_id VARCHAR NOT NULL,
    dagster_run_id VARCHAR,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL
)
"""

QUARANTINE_DDL = """
CREATE TABLE IF NOT EXISTS audit.quarantine (
    system VARCHAR NOT NULL,
    entity VARCHAR NOT NULL,
    delivery_month DATE NOT NULL,
    delivery_version INTEGER NOT NULL,
    file_path VARCHAR NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    line BIGINT NOT NULL,
    column_name VARCHAR,              -- NULL when the whole line is unreadable
    raw_value VARCHAR,                -- NULL when empty or when the column holds personal data
    reason VARCHAR NOT NULL,
    dagster_run_id VARCHAR,
    quarantined_at TIMESTAMP NOT NULL
)
"""


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS audit")
    con.execute(LEDGER_DDL)
    con.execute(QUARANTINE_DDL)


def check_key(con: duckdb.DuckDBPyConnection, key) -> None:
    """Refuse to mix pseudonyms of two keys in one warehouse: linkage across months would break."""
    other = con.execute(
        "SELECT DISTINCT pseudo_key_id FROM audit.ingest_ledger WHERE status = 'active' AND pseudo_key_id <> $k",
        {"k": key.key_id},
    ).fetchall()
    if other:
        raise DeliveryError(
            f"the warehouse holds pseudonyms made with key {other[0][0]}, this run uses key {key.key_id}: "
            "rebuild the warehouse from landing/ with one key"
        )


def active_file(con: duckdb.DuckDBPyConnection, system: str, entity: str, month: str) -> dict | None:
    row = con.execute(
        """
        SELECT * FROM audit.ingest_ledger
        WHERE system = $s AND entity = $e AND delivery_month = $m AND status = 'active'
        """,
        {"s": system, "e": entity, "m": f"{month}-01"},
    ).fetchall()
    if not row:
        return None
    names = [d[0] for d in con.description]
    return dict(zip(names, row[0], strict=True))


def replace_quarantine(
    con: duckdb.DuckDBPyConnection, delivery: Delivery, table: Table, path: Path, sha256: str, run_id: str
) -> None:
    key = {"s": delivery.system, "e": table.entity, "m": f"{delivery.month}-01"}
    con.execute("DELETE FROM audit.quarantine WHERE system = $s AND entity = $e AND delivery_month = $m", key)
    con.execute(
        """
        INSERT INTO audit.quarantine
        SELECT $s, $e, $m, $v, $p, $sha, line, column_name, raw_value, reason, $run, now()
        FROM value_rejects
        UNION ALL
        SELECT $s, $e, $m, $v, $p, $sha, line, column_name, NULL, error_type || ': ' || error_message, $run, now()
        FROM structural_rejects
        """,
        key | {"v": delivery.version, "p": str(path), "sha": sha256, "run": run_id},
    )


def record_load(
    con: duckdb.DuckDBPyConnection,
    *,
    delivery: Delivery,
    entity: str,
    path: Path,
    sha256: str,
    file_bytes: int,
    rows_in_file: int,
    rows_loaded: int,
    rows_rejected: int,
    key_id: str,
    run_id: str,
    started_at: str,
) -> None:
    key = {"s": delivery.system, "e": entity, "m": f"{delivery.month}-01"}
    con.execute(
        "UPDATE audit.ingest_ledger SET status = 'superseded' "
        "WHERE system = $s AND entity = $e AND delivery_month = $m AND status = 'active'",
        key,
    )
    con.execute(
        """
        INSERT INTO audit.ingest_ledger VALUES
        ($sha, $s, $e, $m, $v, $p, $bytes, $rows, $loaded, $rejected, 'active', $key_id, $run,
         $started::TIMESTAMP, $finished::TIMESTAMP)
        """,
        key
        | {
            "sha": sha256,
            "v": delivery.version,
            "p": str(path),
            "bytes": file_bytes,
            "rows": rows_in_file,
            "loaded": rows_loaded,
            "rejected": rows_rejected,
            "key_id": key_id,
            "run": run_id,
            "started": started_at,
            "finished": now_utc(),
        },
    )
