"""Loading one delivered file into the `raw` schema: exactly once, atomically, pseudonymised.

For one file: check and read it (nothing written), then in ONE DuckDB transaction replace the month's
rows of its raw table, replace the month's quarantine rows for that table, and record the file in the
ledger. Either all of that commits or nothing does, whatever kills the process.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from orchestration.lib.contract import SYSTEMS, Kind, Role, Table
from orchestration.lib.delivery import Delivery, DeliveryError, now_utc
from orchestration.lib.ingest import audit
from orchestration.lib.ingest.reading import (
    CheckedFile,
    FileRejected,
    check_and_decode,
    check_header,
    discard,
    read_rows,
)
from orchestration.lib.ingest.validation import (
    build_value_rejects_sql,
    ident,
    month_mismatch_sql,
    quote,
)
from orchestration.lib.pseudonymise import PseudoKey, sql_hmac

# Above this share of rejected lines the file is refused as a whole: a systematic export fault is
# better fixed and re-delivered than loaded with holes (docs/raw-formats.md, "Rejected lines").
MAX_REJECT_RATE = 0.01

# Stages at which tests may inject a fault (an exception, or killing the process) to prove atomicity.
FaultHook = Callable[[str], None]


@dataclass
class FileResult:
    system: str
    entity: str
    month: str
    version: int
    file: str
    sha256: str
    rows_in_file: int
    rows_loaded: int
    rows_rejected: int
    status: str  # "loaded", or "unchanged" when this exact file is already the month's active one
    key_id: str
    seconds: float
    reject_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def reject_rate(self) -> float:
        return self.rows_rejected / self.rows_in_file if self.rows_in_file else 0.0


# Private working folders of a load (a Windows-1252 file's UTF-8 copy lives there), named after the process.
WORKDIR_PREFIX = ".milo-load-"


def remove_stale_workdirs(parent: Path) -> None:
    """Remove the working folders of loads whose process is gone: a load killed while reading leaves its
    plain-text copy of the file (names, NIR) behind, and nothing else would ever delete it."""
    for folder in parent.glob(f"{WORKDIR_PREFIX}*"):
        pid = folder.name[len(WORKDIR_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            pass  # alive, another user's


def raw_table_name(table: Table) -> str:
    return f"raw.{table.raw_table}"


def warehouse_columns(table: Table) -> list[tuple[str, str]]:
    """(name, DuckDB type) of the raw table, derived from the contract."""
    cols = []
    for c in table.columns:
        if not c.role.reaches_warehouse:
            continue
        if c.role in (Role.PERSON_ID, Role.LEGACY_PERSON_ID):
            sql_type = "VARCHAR"
        elif c.kind in (Kind.DATE, Kind.MONTH):
            sql_type = "DATE"
        elif c.kind is Kind.INTEGER:
            sql_type = "BIGINT"
        else:
            sql_type = "VARCHAR"
        cols.append((c.warehouse_name, sql_type))
    # Lineage: the month and the line. Everything else about the file (path, version, SHA-256, key, load
    # time) is one value per file and lives in audit.ingest_ledger: repeated on every row it cost a third
    # of the insert time (docs/benchmarks.md).
    return cols + [("_delivery_month", "DATE"), ("_source_line", "BIGINT")]


def ensure_raw_table(con: duckdb.DuckDBPyConnection, table: Table) -> None:
    cols = ", ".join(f"{ident(n)} {t}" for n, t in warehouse_columns(table))
    con.execute(f"CREATE TABLE IF NOT EXISTS {raw_table_name(table)} ({cols})")


def pseudonym_sql(table: Table) -> list[str]:
    """Temp tables mapping each distinct identifier of the file to its pseudonym (HMAC once per person,
    not once per row: an events file names each young person many times). Expects $ipad and $opad."""
    statements = []
    for c in table.columns:
        if c.role in (Role.PERSON_ID, Role.LEGACY_PERSON_ID):
            namespace = table.system if c.role is Role.PERSON_ID else "parcours3"
            statements.append(
                f"CREATE OR REPLACE TEMP TABLE {ident('pseudo_' + c.name)} AS "
                f"SELECT identifier, {sql_hmac('identifier', namespace)} AS pseudonym "
                # parsed_rows, not the `parsed` view: identifiers need no line numbers
                f"FROM (SELECT DISTINCT {ident(c.name)} AS identifier FROM parsed_rows "
                f"WHERE {ident(c.name)} IS NOT NULL)"
            )
    return statements


def select_sql(table: Table, month: str) -> str:
    """Typed, pseudonymised projection of `parsed` without rejected lines; drops identifiers."""
    system = SYSTEMS[table.system]
    fmt = quote(system.date_format)
    exprs, joins = [], []
    for c in table.columns:
        if not c.role.reaches_warehouse:
            continue
        v = f"parsed.{ident(c.name)}"
        if c.role is Role.DELIVERY_MONTH:
            expr = f"DATE '{month}-01'"
        elif c.role in (Role.PERSON_ID, Role.LEGACY_PERSON_ID):
            alias = ident("pseudo_" + c.name)
            joins.append(f"LEFT JOIN {alias} ON {v} = {alias}.identifier")
            expr = f"{alias}.pseudonym"
        elif c.role is Role.BIRTH_DATE:
            expr = f"date_trunc('month', strptime({v}, {fmt}))::DATE"
        elif c.kind is Kind.DATE:
            expr = f"strptime({v}, {fmt})::DATE"
        elif c.kind is Kind.INTEGER:
            expr = f"{v}::BIGINT"
        else:
            expr = v
        exprs.append(f"{expr} AS {ident(c.warehouse_name)}")
    exprs += [f"DATE '{month}-01' AS _delivery_month", "parsed._line AS _source_line"]
    return (
        f"SELECT {', '.join(exprs)} FROM parsed {' '.join(joins)} "
        # no ORDER BY: rows keep the file's order (DuckDB preserves insertion order), a sort would cost more
        # than the rest of the insert
        "WHERE parsed._line NOT IN (SELECT line FROM value_rejects)"
    )


@dataclass
class PreparedFile:
    """A delivered file checked against its manifest and the contract, not yet read into DuckDB.

    Preparing touches only the file system, so the next month's file is prepared in a background thread
    while DuckDB loads the current one (`ingest_months`)."""

    delivery: Delivery
    entity: str
    path: Path
    checked: CheckedFile
    workdir: Path  # private folder (a Windows-1252 file's UTF-8 copy), removed by `cleanup`

    def cleanup(self) -> None:
        discard(self.checked)
        shutil.rmtree(self.workdir, ignore_errors=True)


def prepare_file(delivery: Delivery, entity: str, workdir: Path | None = None) -> PreparedFile:
    """Integrity (size, SHA-256, lines against the manifest), encoding, open quotes and header of one file."""
    system = SYSTEMS[delivery.system]
    table = system.tables[entity]
    manifest_files = delivery.files()
    if entity not in manifest_files:
        raise FileRejected(f"{delivery.manifest_path}: no {entity} file listed for {delivery.label}")
    expected = manifest_files[entity]
    path = delivery.folder / expected.name
    if expected.name != table.file_name(delivery.month):
        raise FileRejected(f"{path}: named {expected.name!r}, the contract expects {table.file_name(delivery.month)!r}")
    parent = workdir or delivery.folder.parents[3]
    remove_stale_workdirs(parent)
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f"{WORKDIR_PREFIX}{os.getpid()}-"))
    try:
        checked = check_and_decode(path, expected, system.encoding, tmp)
        try:
            check_header(checked, table, system.delimiter)
        except BaseException:
            discard(checked)
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return PreparedFile(delivery, entity, path, checked, tmp)


def ensure_warehouse(con: duckdb.DuckDBPyConnection, table: Table, key: PseudoKey) -> None:
    """Audit and raw tables in place, and no mixing of two pseudonymisation keys."""
    audit.ensure_tables(con)
    ensure_raw_table(con, table)
    audit.check_key(con, key)


def load_file(
    con: duckdb.DuckDBPyConnection,
    delivery: Delivery,
    entity: str,
    key: PseudoKey,
    run_id: str = "",
    max_reject_rate: float = MAX_REJECT_RATE,
    fault_hook: FaultHook | None = None,
    workdir: Path | None = None,
) -> FileResult:
    """Check, read and load one delivered file in one transaction."""
    ensure_warehouse(con, SYSTEMS[delivery.system].tables[entity], key)
    prepared = prepare_file(delivery, entity, workdir)
    return load_prepared(con, prepared, key, run_id, max_reject_rate, fault_hook)


def load_prepared(
    con: duckdb.DuckDBPyConnection,
    prepared: PreparedFile,
    key: PseudoKey,
    run_id: str = "",
    max_reject_rate: float = MAX_REJECT_RATE,
    fault_hook: FaultHook | None = None,
) -> FileResult:
    """Load a prepared file: read, validate, pseudonymise, then replace its month in one transaction.
    The warehouse's tables must exist (`ensure_warehouse`). Removes the file's working folder."""
    started = time.monotonic()
    started_at = now_utc()
    delivery, entity, path, checked = prepared.delivery, prepared.entity, prepared.path, prepared.checked
    system = SYSTEMS[delivery.system]
    table = system.tables[entity]
    try:
        active = audit.active_file(con, delivery.system, entity, delivery.month)
        if active and active["file_sha256"] == checked.sha256:
            return FileResult(
                delivery.system,
                entity,
                delivery.month,
                active["delivery_version"],
                str(path),
                checked.sha256,
                active["rows_in_file"],
                active["rows_loaded"],
                active["rows_rejected"],
                "unchanged",
                active["pseudo_key_id"],
                time.monotonic() - started,
            )
        if active and active["delivery_version"] > delivery.version:
            raise FileRejected(
                f"{path}: version {delivery.version} is older than the loaded version "
                f"{active['delivery_version']} of {delivery.system}/{delivery.month}"
            )
        read_rows(con, checked, table, system.delimiter, prepared.workdir)
    finally:
        prepared.cleanup()

    bad_month = next(iter(con.execute(month_mismatch_sql(table, system, delivery.month)).fetchall()), None)
    if bad_month:
        raise FileRejected(
            f"{path}: line {bad_month[0]}: {table.columns[0].name} is {bad_month[1]!r} but the delivery folder "
            f"is {delivery.month} ({system.format_month(delivery.month)})"
        )
    for statement in build_value_rejects_sql(table, system):
        con.execute(statement)
    # one query: lines rejected (a line may break several rules) and the count of each reason
    reason_counts = con.execute(
        """
        SELECT reason, count(*), (SELECT count(*) FROM (SELECT line FROM value_rejects
                                                         UNION SELECT line FROM structural_rejects))
        FROM (SELECT reason FROM value_rejects UNION ALL SELECT error_type FROM structural_rejects)
        GROUP BY ALL ORDER BY 2 DESC
        """
    ).fetchall()
    rejected_lines = reason_counts[0][2] if reason_counts else 0
    reasons = {reason: count for reason, count, _ in reason_counts}
    rows_loaded = checked.data_lines - rejected_lines
    rate = rejected_lines / checked.data_lines if checked.data_lines else 0.0
    if rate > max_reject_rate:
        raise FileRejected(
            f"{path}: {rejected_lines} of {checked.data_lines} lines rejected ({rate:.2%}), above the "
            f"{max_reject_rate:.2%} limit; reasons: {reasons}"
        )

    ipad, opad = key.pads()
    for statement in pseudonym_sql(table):
        con.execute(statement, {"ipad": ipad, "opad": opad})
    month_date = f"{delivery.month}-01"
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DELETE FROM {raw_table_name(table)} WHERE _delivery_month = $m", {"m": month_date})
        if fault_hook:
            fault_hook("after_delete")
        # the month's rows were deleted just above, so the rows inserted are the month's rows
        inserted = con.execute(f"INSERT INTO {raw_table_name(table)} {select_sql(table, delivery.month)}").fetchall()[
            0
        ][0]
        if inserted != rows_loaded:
            raise DeliveryError(f"{path}: {inserted} rows inserted where {rows_loaded} were expected")
        if fault_hook:
            fault_hook("after_insert")
        audit.replace_quarantine(con, delivery, table, path, checked.sha256, run_id)
        audit.record_load(
            con,
            delivery=delivery,
            entity=entity,
            path=path,
            sha256=checked.sha256,
            file_bytes=checked.bytes,
            rows_in_file=checked.data_lines,
            rows_loaded=rows_loaded,
            rows_rejected=rejected_lines,
            key_id=key.key_id,
            run_id=run_id,
            started_at=started_at,
        )
        if fault_hook:
            fault_hook("before_commit")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return FileResult(
        delivery.system,
        entity,
        delivery.month,
        delivery.version,
        str(path),
        checked.sha256,
        checked.data_lines,
        rows_loaded,
        rejected_lines,
        "loaded",
        key.key_id,
        time.monotonic() - started,
        reasons,
    )
