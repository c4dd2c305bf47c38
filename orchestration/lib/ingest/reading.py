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
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from orchestration.lib.contract import Table
from orchestration.lib.delivery import HASH_CHUNK, DeliveryError, ManifestFile


class FileRejected(DeliveryError):
    """The whole file is refused; the warehouse is untouched."""


@dataclass
class CheckedFile:
    path: Path  # the delivered file
    utf8_path: Path  # the same content in UTF-8 (a temporary copy for Windows-1252 files)
    sha256: str
    bytes: int
    data_lines: int
    unbalanced: np.ndarray  # lines (1-based) holding an odd number of double quotes: a quote left open


def check_and_decode(path: Path, expected: ManifestFile, encoding: str, workdir: Path) -> CheckedFile:
    """One pass over the bytes: SHA-256, size, line count, lines with a quote left open, strict decoding
    (and transcoding to UTF-8).

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
    quote_lines: list[np.ndarray] = []  # 0-based line of every double quote
    with path.open("rb") as src, utf8_path.open("wb") if transcode else contextlib.nullcontext() as out:
        while chunk := src.read(HASH_CHUNK):
            digest.update(chunk)
            chunk_quote_lines, chunk_newlines = _quotes_and_line_ends(chunk, newlines)
            quote_lines.append(chunk_quote_lines)
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
            newlines += chunk_newlines
            last = chunk[-1:]
    if transcode and utf8_valid and non_ascii:
        raise FileRejected(
            f"{path}: the file is UTF-8 but the contract declares {encoding}: refused rather than decoded into mojibake"
        )
    data_lines = max(newlines + (last != b"\n") - 1, 0)
    sha = digest.hexdigest()
    counts = np.bincount(np.concatenate(quote_lines)) if quote_lines else np.empty(0, dtype=np.int64)
    unbalanced = np.flatnonzero(counts % 2 == 1).astype(np.int64) + 1
    checked = CheckedFile(path, utf8_path, sha, size, data_lines, unbalanced)
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


def _quotes_and_line_ends(chunk: bytes, newlines_before: int) -> tuple[np.ndarray, int]:
    """0-based line index of each double quote of a chunk, and the chunk's count of line ends, from one
    vectorised scan (quotes and line ends are ASCII, so this holds for Windows-1252 bytes as for UTF-8)."""
    data = np.frombuffer(chunk, dtype=np.uint8)
    marks = np.flatnonzero((data == ord('"')) | (data == ord("\n")))
    is_newline = data[marks] == ord("\n")
    line_ends = np.cumsum(is_newline)
    return (line_ends + newlines_before)[~is_newline], int(line_ends[-1]) if line_ends.size else 0


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
    # A file exported without its header has a record on line 1: echoing its fields would put names, NIR and
    # e-mails into the error, hence into Dagster's event log. Only a line mostly made of column names is shown.
    names = {c.casefold() for c in expected}
    unknown = [c for c in found if c.casefold() not in names]
    if len(unknown) * 2 > len(found):
        raise FileRejected(
            f"{checked.path}: line 1 (header): only {len(found) - len(unknown)} of its {len(found)} fields are "
            f"column names of the contract ({len(expected)} expected): header missing or not the contract's "
            "(its values are not shown: line 1 may hold personal data)"
        )
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


def _copy_without_lines(path: Path, drop: np.ndarray, workdir: Path) -> Path:
    """A copy of the file without the given lines (1-based, sorted), made by the kernel.

    Only the byte offsets of the dropped lines are needed: a pass counting line ends per chunk finds the
    chunks that hold them, and only those chunks are scanned for exact offsets."""
    spans = _line_spans(path, drop)
    size = path.stat().st_size
    target = workdir / f"{path.stem}.balanced.csv"
    kept, position = [], 0
    for start, end in spans:
        if start > position:
            kept.append((position, start))
        position = end
    if position < size:
        kept.append((position, size))
    with path.open("rb") as src, target.open("wb") as out:
        for start, end in kept:
            offset, remaining = start, end - start
            while remaining:
                copied = os.copy_file_range(src.fileno(), out.fileno(), remaining, offset)
                if not copied:
                    raise OSError(f"{path}: copy stopped at byte {offset}")
                offset += copied
                remaining -= copied
    return target


def _line_spans(path: Path, lines: np.ndarray) -> list[tuple[int, int]]:
    """(first byte, byte after the line end) of each given line (1-based, sorted)."""
    # the k-th line starts after line end number k - 1 and ends after line end number k (1-based counts)
    wanted = sorted({int(n) for line in lines for n in (line - 1, line) if n > 0})
    offsets: dict[int, int] = {}
    seen, position = 0, 0
    with path.open("rb") as handle:
        while (chunk := handle.read(HASH_CHUNK)) and wanted:
            count = chunk.count(b"\n")
            if wanted[0] <= seen + count:
                ends = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == ord("\n"))
                while wanted and wanted[0] <= seen + count:
                    offsets[wanted[0]] = position + int(ends[wanted[0] - seen - 1]) + 1
                    wanted.pop(0)
            seen += count
            position += len(chunk)
    size = path.stat().st_size
    return [(offsets.get(int(line) - 1, 0), offsets.get(int(line), size)) for line in lines]


# Up to this many rejected lines, line numbers are a sum of comparisons computed on the fly; beyond it,
# an as-of join materialises them once.
MAX_INLINE_STEPS = 64


def read_rows(
    con: duckdb.DuckDBPyConnection,
    checked: CheckedFile,
    table: Table,
    delimiter: str,
    workdir: Path,
) -> None:
    """Make `parsed` (every column as text, plus `_line`, the line in the delivered file) and
    `structural_rejects` (lines that are not a record of the contract's shape).

    Lines with a quote left open are set aside first (and rejected): any CSV reader would otherwise read on
    to the end of the file inside that field. DuckDB's parallel reader takes the rest, and line numbers of
    accepted rows follow from the positions of the rejected ones. Should the counts still disagree, the
    line-exact reader takes over.
    """
    unbalanced = checked.unbalanced
    source = checked.utf8_path
    if unbalanced.size:
        source = _copy_without_lines(checked.utf8_path, unbalanced, workdir)
    _read_with_duckdb(con, source, table, delimiter)
    rejected = np.array(
        [r[0] for r in con.execute("SELECT DISTINCT line FROM structural_rejects ORDER BY line").fetchall()],
        dtype=np.int64,
    )
    # accepted row i (1-based) of the copy sits on copy line i + 1 + (rejected lines before it); the j-th
    # rejected line r_j (1-based j) has r_j - 1 - j accepted rows before it
    copy_steps = rejected - 1 - np.arange(1, rejected.size + 1)
    # a line removed from the copy shifts every later line by one: the j-th removed line u_j is missing
    # just before copy line u_j - (j - 1)
    removed_steps = unbalanced - np.arange(unbalanced.size) - 1
    if rejected.size + unbalanced.size <= MAX_INLINE_STEPS:
        ordinal = "(parsed_rows.rowid + 1)"
        copy_line = f"({ordinal} + 1{_steps_sql(ordinal, copy_steps)})"
        line = f"({copy_line}{_steps_sql(copy_line, removed_steps)})"
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW parsed AS SELECT parsed_rows.*, parsed_rows.rowid AS _row, {line} AS _line "
            "FROM parsed_rows"
        )
    else:
        _materialise_lines(con, copy_steps, removed_steps)
    # rejected lines were numbered in the copy too
    if unbalanced.size:
        con.execute(f"UPDATE structural_rejects SET line = line{_steps_sql('line', removed_steps)}")
        con.register("unbalanced", pl.DataFrame({"line": unbalanced}))
        con.execute(
            "INSERT INTO structural_rejects SELECT line, NULL, 'UNQUOTED VALUE', "
            "'Value with unterminated quote found.' FROM unbalanced"
        )
        con.unregister("unbalanced")
    parsed, rejected_lines = con.execute(
        "SELECT (SELECT count(*) FROM parsed_rows), (SELECT count(DISTINCT line) FROM structural_rejects)"
    ).fetchall()[0]
    if parsed + rejected_lines != checked.data_lines:
        _read_rows_line_exact(con, checked, table, delimiter)
        records = con.execute(
            "SELECT (SELECT count(*) FROM parsed_rows) + (SELECT count(DISTINCT line) FROM structural_rejects)"
        ).fetchall()[0][0]
        if records != checked.data_lines:
            # Only a bare CR (a line end for readers, not for the manifest's count) gets here: refuse the
            # file naming that cause, rather than failing later on a row count inside the transaction.
            raise FileRejected(
                f"{checked.path}: {records} records read where the file has {checked.data_lines} lines ending "
                "in LF: line ends must be CRLF or LF, not a bare CR"
            )


def _steps_sql(value: str, steps: np.ndarray) -> str:
    """` + (value > s1)::BIGINT + ...` for a handful of steps (empty when there are none)."""
    return "".join(f" + ({value} > {int(step)})::BIGINT" for step in steps)


def _materialise_lines(con: duckdb.DuckDBPyConnection, copy_steps: np.ndarray, removed_steps: np.ndarray) -> None:
    """Line numbers for files with many rejected lines, computed once with numpy (a binary search per row
    over the sorted steps) and zipped to the rows by position: no join on every later read of `parsed`."""
    rows = con.execute("SELECT count(*) FROM parsed_rows").fetchall()[0][0]
    ordinal = np.arange(1, rows + 1, dtype=np.int64)
    copy_line = ordinal + 1 + np.searchsorted(copy_steps, ordinal, side="left")
    line = copy_line + np.searchsorted(removed_steps, copy_line, side="left")
    con.register("computed_lines", pl.DataFrame({"_line": line}))
    # built in row order and read back in row order (DuckDB preserves insertion order), like parsed_rows
    con.execute("CREATE OR REPLACE TEMP TABLE parsed_lines AS SELECT _line FROM computed_lines")
    con.unregister("computed_lines")
    _positional_parsed_view(con)


def _positional_parsed_view(con: duckdb.DuckDBPyConnection) -> None:
    """`parsed`: the rows, their position (`_row`) and their line in the delivered file (`_line`)."""
    con.execute(
        "CREATE OR REPLACE TEMP VIEW parsed AS SELECT parsed_rows.*, parsed_rows.rowid AS _row, parsed_lines._line "
        "FROM parsed_rows POSITIONAL JOIN parsed_lines"
    )


def _read_with_duckdb(con: duckdb.DuckDBPyConnection, path: Path, table: Table, delimiter: str) -> None:
    columns = ", ".join(f"'{c}': 'VARCHAR'" for c in table.header)
    con.execute(
        "DROP VIEW IF EXISTS parsed; DROP TABLE IF EXISTS parsed; DROP TABLE IF EXISTS parsed_rows; "
        "DROP TABLE IF EXISTS csv_rejects; DROP TABLE IF EXISTS csv_scans"
    )
    con.execute(
        f"""
        CREATE TEMP TABLE parsed_rows AS
        SELECT * FROM read_csv(
            $path, delim = $delim, quote = '"', escape = '"', header = true, auto_detect = false,
            columns = {{{columns}}}, strict_mode = true, null_padding = false,
            store_rejects = true, rejects_table = 'csv_rejects', rejects_scan = 'csv_scans'
        )
        """,
        {"path": str(path), "delim": delimiter},
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE structural_rejects AS
        -- one row per broken line (a line two fields short is reported once per missing field)
        SELECT DISTINCT ON (line) line::BIGINT AS line, column_name, error_type::VARCHAR AS error_type, error_message
        FROM csv_rejects
        ORDER BY line, column_idx
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
    con.execute("DROP VIEW IF EXISTS parsed")
    con.execute("CREATE OR REPLACE TEMP TABLE parsed_rows AS SELECT * EXCLUDE (_line) FROM line_exact_rows")
    con.execute("CREATE OR REPLACE TEMP TABLE parsed_lines AS SELECT _line FROM line_exact_rows")
    _positional_parsed_view(con)
    con.execute("CREATE OR REPLACE TEMP TABLE structural_rejects AS SELECT * FROM line_exact_rejects")
    con.unregister("line_exact_rows")
    con.unregister("line_exact_rejects")
