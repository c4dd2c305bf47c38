"""Reading one delivered file: integrity, encoding, header, then rows into a DuckDB temp table.

Nothing here writes the warehouse. Everything that can fail the whole file fails here, before any write:
a file that differs from its manifest (truncated, altered), a wrong encoding, a header that is not the
contract's, a month that is not the folder's.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from orchestration.lib.contract import Table
from orchestration.lib.delivery import HASH_CHUNK, DeliveryError, ManifestFile

# DuckDB reports these when a quote is left open: it then reads on to the end of the file inside the
# field, so the lines after it would be silently lost. Such files go through the line-exact reader.
QUOTE_ERRORS = ("UNQUOTED VALUE", "INVALID STATE")


class FileRejected(DeliveryError):
    """The whole file is refused; the warehouse is untouched."""


@dataclass
class CheckedFile:
    path: Path  # the delivered file
    utf8_path: Path  # the same content in UTF-8 (a temporary copy for Windows-1252 files)
    sha256: str
    bytes: int
    data_lines: int


def check_and_decode(path: Path, expected: ManifestFile, encoding: str, workdir: Path) -> CheckedFile:
    """One pass over the bytes: SHA-256, size, line count, strict decoding (and transcoding to UTF-8).

    Windows-1252 is decoded by Python because DuckDB only knows Latin-1, which differs from it exactly on
    the characters a French file needs (0x80 is € and 0x9C is œ in Windows-1252, control codes in Latin-1).
    """
    if not path.is_file():
        raise FileRejected(f"{path}: file listed in the manifest is missing")
    digest = hashlib.sha256()
    size = newlines = 0
    last = b"\n"
    transcode = encoding.lower() not in ("utf-8", "utf8")
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    # A Windows-1252 file that is valid UTF-8 with accents is a UTF-8 file mislabelled: mojibake otherwise.
    utf8_probe = codecs.getincrementaldecoder("utf-8")("strict")
    utf8_valid, non_ascii = True, False
    # `workdir` is a private temporary folder of the caller, removed after the load.
    utf8_path = workdir / f"{path.stem}.utf8.csv" if transcode else path
    with path.open("rb") as src, utf8_path.open("wb") if transcode else contextlib.nullcontext() as out:
        while chunk := src.read(HASH_CHUNK):
            digest.update(chunk)
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                line = newlines + chunk[: exc.start].count(b"\n") + 1
                raise FileRejected(
                    f"{path}: line {line}: byte 0x{chunk[exc.start]:02x} is not valid {encoding} "
                    f"(the contract declares {encoding}; was the file exported in another encoding?)"
                ) from None
            if transcode:
                out.write(text.encode("utf-8"))
                if utf8_valid:
                    non_ascii = non_ascii or not chunk.isascii()
                    try:
                        utf8_probe.decode(chunk)
                    except UnicodeDecodeError:
                        utf8_valid = False
            size += len(chunk)
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
    if transcode and utf8_valid and non_ascii:
        raise FileRejected(
            f"{path}: the file is UTF-8 but the contract declares {encoding}: refused rather than decoded into mojibake"
        )
    data_lines = max(newlines + (last != b"\n") - 1, 0)
    sha = digest.hexdigest()
    checked = CheckedFile(path, utf8_path, sha, size, data_lines)
    problems = []
    if size != expected.bytes:
        problems.append(f"{size} bytes where the manifest says {expected.bytes}")
    if sha != expected.sha256:
        problems.append("SHA-256 differs from the manifest")
    if data_lines != expected.rows:
        problems.append(f"{data_lines} data lines where the manifest says {expected.rows}")
    if problems:
        discard(checked)
        raise FileRejected(f"{path}: truncated or altered since the manifest was written: " + "; ".join(problems))
    if data_lines == 0 and size == 0:
        discard(checked)
        raise FileRejected(f"{path}: empty file (not even a header)")
    return checked


def discard(checked: CheckedFile) -> None:
    if checked.utf8_path != checked.path:
        checked.utf8_path.unlink(missing_ok=True)


def check_header(checked: CheckedFile, table: Table, delimiter: str) -> None:
    with checked.utf8_path.open(encoding="utf-8-sig", newline="") as handle:
        first = handle.readline().rstrip("\r\n")
    found = next(csv.reader([first], delimiter=delimiter))
    expected = table.header
    if found == expected:
        return
    missing = [c for c in expected if c not in found]
    extra = [c for c in found if c not in expected]
    problems = []
    if len(missing) == len(extra) and missing:
        for want, got in zip(missing, extra, strict=True):
            problems.append(f"column {found.index(got) + 1} is named {got!r} where the contract expects {want!r}")
    else:
        problems += [f"column {c!r} is missing" for c in missing]
        problems += [f"unexpected column {c!r} (column {found.index(c) + 1})" for c in extra]
    if not problems:
        first_bad = next(i for i, (a, b) in enumerate(zip(found, expected, strict=True)) if a != b)
        problems.append(
            f"columns are reordered: column {first_bad + 1} is {found[first_bad]!r}, "
            f"the contract expects {expected[first_bad]!r}"
        )
    raise FileRejected(f"{checked.path}: line 1 (header): " + "; ".join(problems))


def read_rows(con: duckdb.DuckDBPyConnection, checked: CheckedFile, table: Table, delimiter: str) -> None:
    """Fill temp tables `parsed` (every column as text, plus `_line`) and `structural_rejects`.

    The fast path is DuckDB's parallel reader; line numbers of accepted rows are rebuilt from the
    positions of the rejected ones. If a quote is left open, the line-exact reader takes over.
    """
    columns = ", ".join(f"'{c}': 'VARCHAR'" for c in table.header)
    con.execute("DROP TABLE IF EXISTS parsed; DROP TABLE IF EXISTS csv_rejects; DROP TABLE IF EXISTS csv_scans")
    con.execute(
        f"""
        CREATE TEMP TABLE parsed AS
        SELECT * FROM read_csv(
            $path, delim = $delim, quote = '"', escape = '"', header = true, auto_detect = false,
            columns = {{{columns}}}, strict_mode = true, null_padding = false,
            store_rejects = true, rejects_table = 'csv_rejects', rejects_scan = 'csv_scans'
        )
        """,
        {"path": str(checked.utf8_path), "delim": delimiter},
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE structural_rejects AS
        SELECT line::BIGINT AS line, column_name, error_type::VARCHAR AS error_type, error_message
        FROM csv_rejects
        """
    )
    parsed = con.execute("SELECT count(*) FROM parsed").fetchall()[0][0]
    quote_errors, rejected_lines = con.execute(
        "SELECT count(*) FILTER (WHERE error_type IN $q), count(DISTINCT line) FROM structural_rejects",
        {"q": list(QUOTE_ERRORS)},
    ).fetchall()[0]
    if quote_errors or parsed + rejected_lines != checked.data_lines:
        _read_rows_line_exact(con, checked, table, delimiter)
        return
    if rejected_lines == 0:
        con.execute("ALTER TABLE parsed ADD COLUMN _line BIGINT; UPDATE parsed SET _line = rowid + 2")
        return
    # Accepted row i (1-based) sits on line i + 1 + (number of rejected lines before it). For the j-th
    # rejected line r_j, the accepted rows before it number r_j - 2 - (j - 1).
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE parsed AS
        WITH ranked AS (
            SELECT line - 1 - row_number() OVER (ORDER BY line) AS rows_before,
                   row_number() OVER (ORDER BY line) AS rejected_so_far
            FROM (SELECT DISTINCT line FROM structural_rejects)
        ),
        -- consecutive rejected lines share rows_before: keep the last of the run
        gaps AS (SELECT rows_before, max(rejected_so_far) AS rejected_so_far FROM ranked GROUP BY rows_before),
        numbered AS (SELECT *, rowid + 1 AS ordinal FROM parsed)
        SELECT numbered.* EXCLUDE (ordinal),
               numbered.ordinal + 1 + coalesce(gaps.rejected_so_far, 0) AS _line
        FROM numbered ASOF LEFT JOIN gaps ON numbered.ordinal > gaps.rows_before
        ORDER BY _line
        """
    )


def _read_rows_line_exact(con, checked: CheckedFile, table: Table, delimiter: str) -> None:
    """One record per physical line (the contract forbids line breaks in fields): a broken line can
    never swallow the lines after it. Slower, used only for files with an open quote."""
    width = len(table.header)
    columns: list[list[str | None]] = [[] for _ in range(width)]
    lines: list[int] = []
    rejects: list[tuple[int, str | None, str, str]] = []
    with checked.utf8_path.open(encoding="utf-8-sig", newline="") as handle:
        handle.readline()
        for number, raw in enumerate(handle, start=2):
            text = raw.rstrip("\r\n")
            try:
                fields = next(csv.reader([text], delimiter=delimiter, quotechar='"', strict=True))
            except csv.Error:
                rejects.append((number, None, "UNQUOTED VALUE", "Value with unterminated quote found."))
                continue
            if len(fields) != width:
                kind = "MISSING COLUMNS" if len(fields) < width else "TOO MANY COLUMNS"
                rejects.append((number, None, kind, f"Expected Number of Columns: {width} Found: {len(fields)}"))
                continue
            lines.append(number)
            for i, value in enumerate(fields):
                columns[i].append(value if value != "" else None)
    frame = pl.DataFrame(
        {name: pl.Series(name, col, dtype=pl.String) for name, col in zip(table.header, columns, strict=True)}
        | {"_line": pl.Series("_line", lines, dtype=pl.Int64)}
    )
    reject_frame = pl.DataFrame(
        rejects,
        schema={"line": pl.Int64, "column_name": pl.String, "error_type": pl.String, "error_message": pl.String},
        orient="row",
    )
    con.register("line_exact_rows", frame)
    con.register("line_exact_rejects", reject_frame)
    con.execute("CREATE OR REPLACE TEMP TABLE parsed AS SELECT * FROM line_exact_rows")
    con.execute("CREATE OR REPLACE TEMP TABLE structural_rejects AS SELECT * FROM line_exact_rejects")
    con.unregister("line_exact_rows")
    con.unregister("line_exact_rejects")
