"""Value checks of the contract, written as SQL over the temp table `parsed` (every column as text).

Each column that reaches the warehouse gets one CASE expression giving the reason a value breaks the
contract (or NULL). Direct identifiers and free text are dropped, so they are not checked: a missing
phone number must not cost a young person's record.
"""

from __future__ import annotations

from orchestration.lib.contract import CODE_LISTS, Column, Kind, Role, System, Table

# Quarantine keeps the offending value only when it is not personal data.
WITHHELD_ROLES = (Role.PERSON_ID, Role.LEGACY_PERSON_ID, Role.DIRECT_IDENTIFIER, Role.FREE_TEXT, Role.BIRTH_DATE)


def quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def checked_columns(table: Table) -> list[Column]:
    return [c for c in table.columns if c.role.reaches_warehouse and c.role is not Role.DELIVERY_MONTH]


def reason_sql(column: Column, system: System) -> str:
    v = ident(column.name)
    whens = []
    if column.required:
        whens.append(f"WHEN {v} IS NULL THEN 'required value missing'")
    else:
        whens.append(f"WHEN {v} IS NULL THEN NULL")
    if column.pattern:
        whens.append(f"WHEN NOT regexp_full_match({v}, {quote(column.pattern)}) THEN 'does not match {column.pattern}'")
    if column.kind in (Kind.CODE, Kind.FLAG):
        codes = ", ".join(quote(code) for code in CODE_LISTS[column.codes or "flag"])
        whens.append(f"WHEN {v} NOT IN ({codes}) THEN 'code not in list {column.codes or 'flag'}'")
    if column.kind is Kind.DATE:
        fmt = quote(system.date_format)
        whens.append(f"WHEN try_strptime({v}, {fmt}) IS NULL THEN 'invalid date (expected {system.date_format})'")
        # A date outside any plausible range is a typo that would put a record in year 0201.
        whens.append(
            f"WHEN NOT try_strptime({v}, {fmt}) BETWEEN TIMESTAMP '1950-01-01' AND TIMESTAMP '2100-01-01' "
            "THEN 'date out of range 1950..2100'"
        )
    if column.kind is Kind.INTEGER:
        whens.append(f"WHEN try_cast({v} AS BIGINT) IS NULL THEN 'not an integer'")
    return "CASE " + " ".join(whens) + " END"


def build_value_rejects_sql(table: Table, system: System) -> list[str]:
    """SQL statements filling temp table `value_rejects` (line, column_name, raw_value, reason).

    One pass over `parsed` computes every column's reason and keeps only the lines with one; the
    per-column unpivot then reads that small set, not the whole file once per column.
    """
    columns = checked_columns(table)
    reasons = ", ".join(f"{reason_sql(c, system)} AS {ident('reason_' + c.name)}" for c in columns)
    any_reason = " OR ".join(f"{ident('reason_' + c.name)} IS NOT NULL" for c in columns)
    # reasons over the bare rows (no line numbers to compute for the many clean lines), then the lines of
    # the few flagged rows
    flagged = (
        "CREATE OR REPLACE TEMP TABLE flagged_lines AS "
        "WITH flagged AS (SELECT * FROM "
        f"(SELECT parsed_rows.rowid AS _row, parsed_rows.*, {reasons} FROM parsed_rows) WHERE {any_reason}) "
        "SELECT flagged.*, parsed._line FROM flagged JOIN (SELECT _row, _line FROM parsed) AS parsed USING (_row)"
    )
    parts = []
    for column in columns:
        raw = "NULL" if column.role in WITHHELD_ROLES else ident(column.name)
        reason = ident("reason_" + column.name)
        parts.append(
            f"SELECT _line AS line, {quote(column.name)} AS column_name, {raw} AS raw_value, {reason} AS reason "
            f"FROM flagged_lines WHERE {reason} IS NOT NULL"
        )
    return [flagged, "CREATE OR REPLACE TEMP TABLE value_rejects AS " + " UNION ALL ".join(parts)]


def month_mismatch_sql(table: Table, system: System, month: str) -> str:
    """The first row whose delivery-month column is not the folder's month, if any."""
    column = next(c for c in table.columns if c.role is Role.DELIVERY_MONTH)
    expected = system.format_month(month)
    v = ident(column.name)
    return f"SELECT _line, {v} FROM parsed WHERE {v} IS DISTINCT FROM {quote(expected)} ORDER BY _line LIMIT 1"
