"""Helpers of the fault and privacy tests (tests/test_faults.py, tests/test_privacy.py).

- A loader run in a child process (`python tests/faultlib.py load ...`) that can SIGKILL itself at a stage of
  `load_file`, hold the warehouse for a while, or die right after the commit: process-level faults that an
  exception in the test process cannot reproduce.
- Warehouse states that ignore what legitimately differs between two loads of the same data (load
  timestamps, run ids), so "exactly the previous state" and "exactly the correct new state" can be asserted.
- A scanner for personal data and secrets: every cell of every table of a DuckDB file, every text of the
  SQLite databases and every file of a Dagster home, and any log text.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
THIS = Path(__file__).resolve()

# Columns whose values differ between two loads of the same file by design.
VOLATILE_COLUMNS = {"_loaded_at", "started_at", "finished_at", "quarantined_at", "dagster_run_id"}


# --------------------------------------------------------------------------------------------------------------
# Warehouse states
# --------------------------------------------------------------------------------------------------------------


def table_state(con, schemas: Iterable[str], volatile: set[str] = VOLATILE_COLUMNS) -> dict[str, list[str]]:
    """Every row of every table and view of `schemas`, volatile columns left out, rows sorted."""
    schema_list = list(schemas)
    names = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN $s",
        {"s": schema_list},
    ).fetchall()
    state = {}
    for schema, name in sorted(names):
        columns = [
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = $s AND table_name = $t "
                "ORDER BY ordinal_position",
                {"s": schema, "t": name},
            ).fetchall()
            if r[0] not in volatile
        ]
        select = ", ".join(f'"{c}"' for c in columns)
        rows = con.execute(f'SELECT {select} FROM "{schema}"."{name}"').fetchall()
        state[f"{schema}.{name}"] = sorted(map(repr, rows))
    return state


def warehouse_state(
    path: Path, schemas: Iterable[str] = ("raw", "audit"), volatile: set[str] = VOLATILE_COLUMNS
) -> dict[str, list[str]]:
    """The state of the warehouse file as a new process sees it (DuckDB replays its WAL on open).
    `volatile=set()` compares every column: "exactly the previous state"."""
    from orchestration.lib.warehouse import open_warehouse

    with open_warehouse(path, read_only=True, wait_seconds=30) as con:
        return table_state(con, schemas, volatile)


def ledger_problems(con) -> list[str]:
    """Where `audit.ingest_ledger` and `audit.quarantine` disagree with the raw tables (empty: they agree).

    For every system, table and month: at most one active ledger row; the raw rows of the month are exactly
    its `rows_loaded`, all from its file (SHA-256) and version; the quarantine holds exactly its
    `rows_rejected` lines, all from that file; no raw or quarantined month lacks an active ledger row.
    """
    from orchestration.lib.contract import all_tables

    problems = [
        f"{n} active ledger rows for {s}/{e}/{m}"
        for s, e, m, n in con.execute(
            "SELECT system, entity, delivery_month, count(*) FROM audit.ingest_ledger WHERE status = 'active' "
            "GROUP BY ALL HAVING count(*) > 1"
        ).fetchall()
    ]
    for t in all_tables():
        key = {"s": t.system, "e": t.entity}
        raw = {
            m: rest
            for m, *rest in con.execute(
                f"SELECT strftime(_delivery_month, '%Y-%m'), count(*) FROM raw.{t.raw_table} GROUP BY 1"
            ).fetchall()
        }
        quarantined = {
            m: rest
            for m, *rest in con.execute(
                "SELECT strftime(delivery_month, '%Y-%m'), count(DISTINCT line), count(DISTINCT file_sha256), "
                "max(file_sha256) FROM audit.quarantine WHERE system = $s AND entity = $e GROUP BY 1",
                key,
            ).fetchall()
        }
        active = con.execute(
            "SELECT strftime(delivery_month, '%Y-%m'), rows_loaded, rows_rejected, file_sha256 "
            "FROM audit.ingest_ledger WHERE system = $s AND entity = $e AND status = 'active'",
            key,
        ).fetchall()
        where = f"{t.system}/{t.entity}"
        for month, loaded, rejected, sha in active:
            (rows,) = raw.pop(month, (0,))
            if rows != loaded:
                problems.append(f"{where}/{month}: {rows} raw rows, the ledger says {loaded}")
            lines, q_shas, q_sha = quarantined.pop(month, (0, 0, None))
            if lines != rejected:
                problems.append(f"{where}/{month}: {lines} quarantined lines, the ledger says {rejected}")
            if lines and (q_shas, q_sha) != (1, sha):
                problems.append(f"{where}/{month}: quarantined lines come from another file than the ledger's")
        problems += [f"{where}/{m}: raw rows without an active ledger row" for m in raw]
        problems += [f"{where}/{m}: quarantined lines without an active ledger row" for m in quarantined]
    return problems


def ledger(path: Path) -> list[tuple]:
    from orchestration.lib.warehouse import open_warehouse

    with open_warehouse(path, read_only=True, wait_seconds=30) as con:
        return con.execute(
            "SELECT system, entity, strftime(delivery_month, '%Y-%m'), delivery_version, status, rows_loaded, "
            "rows_rejected, file_sha256 FROM audit.ingest_ledger ORDER BY ALL"
        ).fetchall()


# --------------------------------------------------------------------------------------------------------------
# The loader in a child process
# --------------------------------------------------------------------------------------------------------------


@dataclass
class ChildResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def killed(self) -> bool:
        return self.returncode == -signal.SIGKILL


def child_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MILO_PSEUDO_KEY", "PYTEST_CURRENT_TEST")}
    env.update(
        MILO_DATA_DIR=str(data_dir),
        DAGSTER_HOME=str(data_dir / "dagster"),
        PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests")]),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DO_NOT_TRACK="1",
    )
    env.update(extra)
    return env


def loader_command(
    system: str,
    month: str,
    entity: str,
    *,
    kill_at: str | None = None,
    kill_after_commit: bool = False,
    hold_at: str | None = None,
    hold_seconds: float = 0.0,
    wait_seconds: float = 30.0,
) -> list[str]:
    command = [sys.executable, str(THIS), "load", system, month, entity, "--wait-seconds", str(wait_seconds)]
    if kill_at:
        command += ["--kill-at", kill_at]
    if kill_after_commit:
        command.append("--kill-after-commit")
    if hold_at:
        command += ["--hold-at", hold_at, "--hold-seconds", str(hold_seconds)]
    return command


def run_loader(data_dir: Path, system: str, month: str, entity: str, timeout: float = 120, **options) -> ChildResult:
    """Load one file of the latest delivery of `system`/`month` in a child process (see `loader_command`)."""
    done = subprocess.run(
        loader_command(system, month, entity, **options),
        env=child_env(data_dir),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )
    return ChildResult(done.returncode, done.stdout, done.stderr)


def start_loader(data_dir: Path, system: str, month: str, entity: str, **options) -> subprocess.Popen:
    return subprocess.Popen(
        loader_command(system, month, entity, **options),
        env=child_env(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )


def wait_for_line(process: subprocess.Popen, needle: str, timeout: float = 60) -> str:
    """Read the child's stdout until a line containing `needle` (the child flushes each line)."""
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(
                f"child ended before printing {needle!r}: {process.stderr.read() if process.stderr else ''}"
            )
        if needle in line:
            return line
    raise AssertionError(f"child did not print {needle!r} within {timeout} s")


def _child_load(args: argparse.Namespace) -> int:
    from orchestration.lib import settings
    from orchestration.lib.ingest.months import ingest_month
    from orchestration.lib.ingest.schema import initialise
    from orchestration.lib.warehouse import open_warehouse

    paths = settings.prepare_environment()

    def hook(stage: str) -> None:
        print(f"stage {stage}", flush=True)
        if stage == args.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        if stage == args.hold_at:
            print(f"holding at {stage}", flush=True)
            time.sleep(args.hold_seconds)

    with open_warehouse(paths.warehouse, wait_seconds=args.wait_seconds) as con:
        print("connected", flush=True)
        initialise(con)
        result = ingest_month(con, paths.landing, args.system, args.entity, args.month, fault_hook=hook)
        print(f"result {result.status} {result.rows_loaded} {result.rows_rejected}", flush=True)
        if args.kill_after_commit:
            # Committed but never checkpointed nor closed: the WAL alone must carry the load.
            os.kill(os.getpid(), signal.SIGKILL)
    return 0


# --------------------------------------------------------------------------------------------------------------
# Personal data and secrets
# --------------------------------------------------------------------------------------------------------------

# Direct identifiers of the contract, by the kind the scan reports.
PII_COLUMNS = {
    "NOM": "name",
    "PRENOM": "name",
    "nom": "name",
    "prenom": "name",
    "MEL": "email",
    "email": "email",
    "TEL": "phone",
    "telephone": "phone",
    "nir": "nir",
    "DATE_NAISSANCE": "birth_date",
    "date_naissance": "birth_date",
    "id_jeune": "person_id",
}
# Words (letters, digits, and the characters of e-mails, dates and compound names) of any text.
TOKEN_RE = re.compile(r"[\w@.+'/-]+")
# JSON escapes as Dagster's serialiser writes them (non-ASCII as \u and four hex digits).
JSON_ESCAPE_RE = re.compile(r"\\(u[0-9a-fA-F]{4}|[nrtbf\"\\/])")
_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "\\": "\\", "/": "/"}


def _unescape(match: re.Match) -> str:
    code = match.group(1)
    return chr(int(code[1:], 16)) if code[0] == "u" else _SIMPLE_ESCAPES[code]


def words(text: str) -> set[str]:
    text = JSON_ESCAPE_RE.sub(_unescape, text)
    return {w.strip("'.-/") for w in TOKEN_RE.findall(text)} - {""}


@dataclass
class Needles:
    """What must never be found: one-word values matched as whole words, others as substrings."""

    words: dict[str, str] = field(default_factory=dict)  # word -> kind
    phrases: dict[str, str] = field(default_factory=dict)  # multi-word value -> kind

    def add(self, value: str, kind: str) -> None:
        value = value.strip()
        if not value:
            return
        if TOKEN_RE.fullmatch(value) and value == value.strip("'.-/"):
            self.words[value] = kind
        else:
            self.phrases[value] = kind

    def add_secret(self, value: str, kind: str = "key") -> None:
        """Matched anywhere, even inside a longer word."""
        self.phrases[value] = kind

    def merged(self, other: Needles) -> Needles:
        return Needles({**self.words, **other.words}, {**self.phrases, **other.phrases})

    def __len__(self) -> int:
        return len(self.words) + len(self.phrases)

    def find(self, text: str) -> list[tuple[str, str]]:
        if not text:
            return []
        hits = [(w, self.words[w]) for w in words(text) & self.words.keys()]
        if self.phrases:
            plain = JSON_ESCAPE_RE.sub(_unescape, text)
            hits += [(p, k) for p, k in self.phrases.items() if p in plain]
        return hits


def _birth_date_forms(value: str, date_format: str) -> list[str]:
    from datetime import datetime

    day = datetime.strptime(value, date_format).date()
    if day.day == 1:
        # The first of the month is what coarsening keeps by design: not a full birth date.
        return []
    return [day.isoformat(), day.strftime("%d/%m/%Y"), day.strftime("%Y%m%d")]


def personal_data_in_landing(landing: Path) -> Needles:
    """Every name, e-mail, phone, NIR, full birth date and I-Milo person identifier of the delivered files."""
    from orchestration.lib.contract import SYSTEMS
    from orchestration.lib.delivery import find_deliveries

    needles = Needles()
    for delivery in find_deliveries(landing):
        system = SYSTEMS[delivery.system]
        for entity, expected in delivery.files().items():
            path = delivery.folder / expected.name
            with path.open(encoding=system.encoding, errors="replace", newline="") as handle:
                reader = csv.reader(handle, delimiter=system.delimiter)
                header = next(reader, [])
                picks = [(i, PII_COLUMNS[c]) for i, c in enumerate(header) if c in PII_COLUMNS]
                if entity != "young_people":
                    picks = [(i, k) for i, k in picks if k == "person_id"]
                for row in reader:
                    for i, kind in picks:
                        if i >= len(row) or not row[i]:
                            continue
                        if kind == "birth_date":
                            try:
                                for form in _birth_date_forms(row[i], system.date_format):
                                    needles.add(form, kind)
                            except ValueError:
                                continue
                        else:
                            needles.add(row[i], kind)
    return needles


@dataclass(frozen=True)
class Finding:
    where: str
    kind: str
    value: str


def public_reference_values() -> set[str]:
    """Every field of the seeds: public reference data (a mission locale in Besançon is not a young person
    named Besançon). A cell equal to one of them is not personal data."""
    values = set()
    for path in (REPO / "seeds").glob("*.csv"):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.reader(handle):
                values.update(row)
    return values


def scan_warehouse(
    path: Path, needles: Needles, public: set[str] | frozenset = frozenset()
) -> tuple[list[Finding], int]:
    """Every distinct value of every column of every table and view (all schemas), a cell equal to a value of
    `public` aside. Returns the findings and the number of columns scanned."""
    from orchestration.lib.warehouse import open_warehouse

    findings, scanned = [], 0
    with open_warehouse(path, read_only=True, wait_seconds=30) as con:
        columns = con.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE table_catalog = current_database() ORDER BY ALL"
        ).fetchall()
        for schema, name, column in columns:
            scanned += 1
            values = con.execute(f'SELECT DISTINCT CAST("{column}" AS VARCHAR) FROM "{schema}"."{name}"').fetchall()
            for (value,) in values:
                if value in public:
                    continue
                for hit, kind in needles.find(value or ""):
                    findings.append(Finding(f"{schema}.{name}.{column}", kind, hit))
    return findings, scanned


def scan_sqlite(path: Path, needles: Needles) -> list[Finding]:
    findings = []
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for name in tables:
            for row in con.execute(f'SELECT * FROM "{name}"'):
                for value in row:
                    if isinstance(value, bytes):
                        value = value.decode("utf-8", errors="replace")
                    if isinstance(value, str):
                        findings += [Finding(f"{path.name}:{name}", k, h) for h, k in needles.find(value)]
    finally:
        con.close()
    return findings


def scan_tree(root: Path, needles: Needles) -> tuple[list[Finding], int]:
    """Every file under `root`: SQLite databases table by table (text may be split across pages on disk),
    everything else as text."""
    findings, scanned = [], 0
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        scanned += 1
        head = path.read_bytes()[:16]
        if head.startswith(b"SQLite format 3"):
            findings += scan_sqlite(path, needles)
        else:
            text = path.read_bytes().decode("utf-8", errors="replace")
            findings += [Finding(str(path.relative_to(root)), k, h) for h, k in needles.find(text)]
    return findings, scanned


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="child processes of the fault tests")
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("load", help="load one file of the latest delivery, with faults")
    load.add_argument("system")
    load.add_argument("month")
    load.add_argument("entity")
    load.add_argument("--kill-at")
    load.add_argument("--kill-after-commit", action="store_true")
    load.add_argument("--hold-at")
    load.add_argument("--hold-seconds", type=float, default=0.0)
    load.add_argument("--wait-seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    return {"load": _child_load}[args.command](args)


if __name__ == "__main__":
    sys.path[:0] = [str(REPO), str(REPO / "tests")]
    sys.exit(main())
