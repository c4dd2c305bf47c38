"""Faults and attacks on the way from a delivery to the warehouse, tried on real processes and a real DuckDB file.

Whatever happens, the warehouse is exactly its previous state or exactly the correct new state, the ledger
agrees with the raw tables, and a refusal names the file and its cause. The per-file checks already made
by tests/test_loading.py are not repeated: these add the process-level faults (SIGKILL, lock contention, a
killed dbt build, a flood of deliveries under the sensor) and the file faults it does not cover.
docs/reliability.md lists every fault, the test that tries it and the outcome.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import dagster as dg
import pytest
from factories import render, rows_for, valid_row, write_delivery
from faultlib import (
    BIN,
    REPO,
    child_env,
    ledger,
    ledger_problems,
    run_loader,
    start_loader,
    table_state,
    wait_for_line,
    warehouse_state,
)

from orchestration.lib.contract import SYSTEMS, table
from orchestration.lib.delivery import DeliveryError, find_deliveries, write_manifest
from orchestration.lib.ingest.loading import load_file
from orchestration.lib.ingest.months import ingest_month
from orchestration.lib.ingest.reading import FileRejected
from orchestration.lib.ingest.schema import initialise
from orchestration.lib.pseudonymise import DEMO_KEY, PseudoKey
from orchestration.lib.warehouse import open_warehouse

KEY = PseudoKey(DEMO_KEY, is_demo=True)
STAGES = ["after_delete", "after_insert", "before_commit"]
EXACT: set[str] = set()  # compare every column, timestamps included


# --------------------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------------------


def people(month: str, count: int, bad_lines: tuple[int, ...] = (), first_id: int = 1001) -> bytes:
    """A Parcours 3 young-people file (Windows-1252, accents in the names) with SEXE broken on `bad_lines`."""
    t = table("parcours3", "young_people")
    rows = [
        valid_row("parcours3", "young_people", month, NUM_DOSSIER=str(first_id + i), NOM=f"Lecœur-{i}")
        for i in range(count)
    ]
    for line in bad_lines:
        rows[line - 2][t.header.index("SEXE")] = "3"
    return render("parcours3", rows, t.header)


def deliver_people(landing: Path, month: str, version: int, **kw) -> Path:
    return write_delivery(landing, "parcours3", month, version=version, raw_bytes={"young_people": people(month, **kw)})


def load_now(paths, system: str, month: str, entity: str):
    """Load in this process and close the connection (so that child processes can take the lock)."""
    with open_warehouse(paths.warehouse, wait_seconds=30) as con:
        initialise(con)
        return ingest_month(con, paths.landing, system, entity, month)


def state_after_clean_load(paths, tmp: Path, system: str, month: str, entity: str) -> dict:
    """The correct new state: the same load, without a fault, on a copy of the current warehouse."""
    copy = tmp / "reference.duckdb"
    shutil.copy2(paths.warehouse, copy)
    wal = paths.warehouse.with_name(paths.warehouse.name + ".wal")
    if wal.exists():
        shutil.copy2(wal, copy.with_name(copy.name + ".wal"))
    with open_warehouse(copy) as con:
        ingest_month(con, paths.landing, system, entity, month)
        return table_state(con, ("raw", "audit"))


def check_ledger(path: Path) -> None:
    with open_warehouse(path, read_only=True, wait_seconds=30) as con:
        assert ledger_problems(con) == []


def active_versions(path: Path) -> list[tuple]:
    """(system, entity, month, version) of each active ledger row, from the whole ledger."""
    return [row[:4] for row in ledger(path) if row[4] == "active"]


def leftovers(data_dir: Path) -> list[str]:
    """Anything the loader left beside the warehouse: temporary folders hold plain-text copies of P3 files."""
    expected = {"landing", "dagster", "warehouse.duckdb", "warehouse.duckdb.wal", "reference.duckdb"}
    return sorted(p.name for p in data_dir.iterdir() if p.name not in expected)


def latest(landing: Path, system: str, month: str):
    return find_deliveries(landing, system, month)[-1]


# --------------------------------------------------------------------------------------------------------------
# the loader killed or interrupted mid-transaction
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_sigkill_inside_the_transaction_leaves_the_previous_state(data_dir, tmp_path, stage):
    deliver_people(data_dir.landing, "2014-06", 1, count=200, bad_lines=(12,))
    load_now(data_dir, "parcours3", "2014-06", "young_people")
    deliver_people(data_dir.landing, "2014-06", 2, count=150, bad_lines=(30,), first_id=5001)
    expected = state_after_clean_load(data_dir, tmp_path, "parcours3", "2014-06", "young_people")
    before = warehouse_state(data_dir.warehouse, volatile=EXACT)

    killed = run_loader(data_dir.data_dir, "parcours3", "2014-06", "young_people", kill_at=stage)
    assert killed.killed, killed.stderr
    assert f"stage {stage}" in killed.stdout
    # A new process opening the file (WAL replayed) sees exactly what was there before, ledger included.
    assert warehouse_state(data_dir.warehouse, volatile=EXACT) == before
    assert active_versions(data_dir.warehouse) == [("parcours3", "young_people", "2014-06", 1)]
    check_ledger(data_dir.warehouse)
    assert leftovers(data_dir.data_dir) == []

    rerun = run_loader(data_dir.data_dir, "parcours3", "2014-06", "young_people")
    assert rerun.returncode == 0, rerun.stderr
    assert "result loaded 149 1" in rerun.stdout
    assert warehouse_state(data_dir.warehouse) == expected
    check_ledger(data_dir.warehouse)


def test_sigkill_after_the_commit_keeps_the_load_through_the_wal(data_dir, tmp_path):
    deliver_people(data_dir.landing, "2014-06", 1, count=50)
    load_now(data_dir, "parcours3", "2014-06", "young_people")
    deliver_people(data_dir.landing, "2014-06", 2, count=120, bad_lines=(7,), first_id=5001)
    expected = state_after_clean_load(data_dir, tmp_path, "parcours3", "2014-06", "young_people")

    killed = run_loader(data_dir.data_dir, "parcours3", "2014-06", "young_people", kill_after_commit=True)
    assert killed.killed and "result loaded 119 1" in killed.stdout, killed.stderr
    wal = data_dir.warehouse.with_name("warehouse.duckdb.wal")
    assert wal.exists() and wal.stat().st_size > 0, "the commit should still be in the WAL only"
    assert warehouse_state(data_dir.warehouse) == expected
    check_ledger(data_dir.warehouse)


@pytest.mark.parametrize("stage", ["after_insert", "before_commit"])
@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt], ids=["exception", "ctrl-c"])
def test_interruption_at_a_later_stage_rolls_back_and_the_connection_stays_usable(data_dir, warehouse, stage, error):
    # test_loading.py injects an exception after the delete; this covers the later stages and Ctrl-C.
    write_delivery(data_dir.landing, "imilo", "2016-03", count=5)
    load_file(warehouse, latest(data_dir.landing, "imilo", "2016-03"), "events", KEY)
    write_delivery(data_dir.landing, "imilo", "2016-03", version=2, count=8)
    before = table_state(warehouse, ("raw", "audit"), EXACT)

    def interrupt(at):
        if at == stage:
            raise error("injected")

    with pytest.raises(error, match="injected"):
        load_file(warehouse, latest(data_dir.landing, "imilo", "2016-03"), "events", KEY, fault_hook=interrupt)
    assert table_state(warehouse, ("raw", "audit"), EXACT) == before
    again = load_file(warehouse, latest(data_dir.landing, "imilo", "2016-03"), "events", KEY)
    assert (again.status, again.version, again.rows_loaded) == ("loaded", 2, 8)
    assert ledger_problems(warehouse) == []


def test_working_folders_of_dead_loads_are_removed_by_the_next_load(data_dir, warehouse):
    """A load killed while reading leaves its working folder (a plain-text copy of a cp1252 file): the next
    load removes the folders of processes that are gone, and only those."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = data_dir.data_dir / f".milo-load-{dead.pid}-x"
    alive = data_dir.data_dir / f".milo-load-{os.getppid()}-y"
    for folder in (stale, alive):
        folder.mkdir()
        (folder / "P3_JEUNES_201406.utf8.csv").write_text("NOM\nLecœur\n")
    write_delivery(data_dir.landing, "parcours3", "2014-06")
    ingest_month(warehouse, data_dir.landing, "parcours3", "young_people", "2014-06")
    assert not stale.exists() and alive.exists()
    assert leftovers(data_dir.data_dir) == [alive.name]


# --------------------------------------------------------------------------------------------------------------
# two processes and one warehouse
# --------------------------------------------------------------------------------------------------------------


def test_second_writer_waits_with_backoff_or_fails_naming_the_lock(data_dir):
    write_delivery(data_dir.landing, "imilo", "2016-03", count=20)
    write_delivery(data_dir.landing, "imilo", "2016-04", count=30)
    write_delivery(data_dir.landing, "imilo", "2016-05", count=40)
    # A run holds the warehouse inside its transaction (rows inserted, not committed) for a while.
    holder = start_loader(data_dir.data_dir, "imilo", "2016-03", "events", hold_at="after_insert", hold_seconds=10)
    patient = None
    try:
        wait_for_line(holder, "holding at after_insert")
        patient = start_loader(data_dir.data_dir, "imilo", "2016-04", "events", wait_seconds=120)
        hasty = run_loader(data_dir.data_dir, "imilo", "2016-05", "events", wait_seconds=1)
        _, holder_err = holder.communicate(timeout=120)
        patient_out, patient_err = patient.communicate(timeout=120)
    finally:
        for process in (holder, patient):
            if process is not None and process.poll() is None:
                process.kill()
                process.communicate()
    assert holder.returncode == 0, holder_err
    # the hasty writer gave up, naming the file, the lock and the process holding it
    assert hasty.returncode == 1
    last = hasty.stderr.strip().splitlines()[-1]
    assert last.startswith("orchestration.lib.warehouse.WarehouseLockedError"), hasty.stderr
    assert str(data_dir.warehouse) in last and "Could not set lock" in last and f"(PID {holder.pid})" in last
    # the patient one retried with backoff, then loaded once the lock was released
    assert patient.returncode == 0, patient_err
    assert "is locked by another process, retrying in 0.25 s" in patient_err
    assert "retrying in 0.50 s" in patient_err
    assert "result loaded 30 0" in patient_out
    assert active_versions(data_dir.warehouse) == [
        ("imilo", "events", "2016-03", 1),
        ("imilo", "events", "2016-04", 1),
    ]
    check_ledger(data_dir.warehouse)


# --------------------------------------------------------------------------------------------------------------
# the same file twice, renamed, re-delivered
# --------------------------------------------------------------------------------------------------------------


def test_a_month_copied_into_another_months_folder_is_refused(data_dir, warehouse):
    """The June files delivered again as July (renamed to July's names, with a July manifest)."""
    june = write_delivery(data_dir.landing, "parcours3", "2014-06", count=4)
    load_file(warehouse, latest(data_dir.landing, "parcours3", "2014-06"), "events", KEY)
    before = table_state(warehouse, ("raw", "audit"), EXACT)
    july = data_dir.landing / "parcours3" / "2014-07" / "v1"
    july.mkdir(parents=True)
    files = {}
    for entity, t in SYSTEMS["parcours3"].tables.items():
        files[entity] = july / t.file_name("2014-07")
        shutil.copy2(june / t.file_name("2014-06"), files[entity])
    write_manifest(july, "parcours3", "2014-07", 1, files, synthetic=True)
    with pytest.raises(
        FileRejected,
        match=r"P3_EVENEMENTS_201407.csv: line 2: MOIS_EXTRACTION is '201406' but the delivery folder is 2014-07",
    ):
        load_file(warehouse, latest(data_dir.landing, "parcours3", "2014-07"), "events", KEY)
    assert table_state(warehouse, ("raw", "audit"), EXACT) == before


def test_corrected_redelivery_replaces_rows_and_quarantine_and_stale_runs_change_nothing(data_dir, warehouse):
    t = table("imilo", "situations")
    v1_rows = rows_for("imilo", "situations", "2016-03", 200)
    v1_rows[9][t.header.index("etat")] = "FINI"  # line 11 quarantined in v1
    write_delivery(data_dir.landing, "imilo", "2016-03", raw_bytes={"situations": render("imilo", v1_rows, t.header)})
    write_delivery(data_dir.landing, "imilo", "2016-04", count=3)
    for month in ("2016-03", "2016-04"):
        ingest_month(warehouse, data_dir.landing, "imilo", "situations", month)
    ingest_month(warehouse, data_dir.landing, "imilo", "young_people", "2016-03")
    april_sql = "SELECT * FROM raw.imilo__situations WHERE _delivery_month = DATE '2016-04-01' ORDER BY ALL"
    april = warehouse.execute(april_sql).fetchall()

    # v2: line 11 corrected, the last 50 records withdrawn, young people identical to v1
    v2_rows = rows_for("imilo", "situations", "2016-03", 150)
    v1 = data_dir.landing / "imilo" / "2016-03" / "v1"
    people_v1 = (v1 / table("imilo", "young_people").file_name("2016-03")).read_bytes()
    write_delivery(
        data_dir.landing,
        "imilo",
        "2016-03",
        version=2,
        raw_bytes={"situations": render("imilo", v2_rows, t.header), "young_people": people_v1},
    )
    assert ingest_month(warehouse, data_dir.landing, "imilo", "young_people", "2016-03").status == "unchanged"
    result = ingest_month(warehouse, data_dir.landing, "imilo", "situations", "2016-03")
    assert (result.status, result.version, result.rows_loaded, result.rows_rejected) == ("loaded", 2, 150, 0)
    ids = {r[0] for r in warehouse.execute("SELECT id_situation FROM raw.imilo__situations").fetchall()}
    assert "SI00000199" not in ids and "SI00000010" in ids  # withdrawn record gone, corrected one in
    assert warehouse.execute("SELECT count(*) FROM audit.quarantine").fetchall()[0][0] == 0
    assert warehouse.execute(april_sql).fetchall() == april  # the other month is untouched
    assert ledger_problems(warehouse) == []

    # A stale run for v1 (the sensor requested it before v2 arrived) loads the latest delivery: a no-op.
    after_v2 = table_state(warehouse, ("raw", "audit"), EXACT)
    for entity in ("situations", "young_people"):
        assert ingest_month(warehouse, data_dir.landing, "imilo", entity, "2016-03").status == "unchanged"
    assert table_state(warehouse, ("raw", "audit"), EXACT) == after_v2
    # The young-people file of v2 is byte-identical to v1's: it stays the active file, with v1's lineage.
    assert ("imilo", "young_people", "2016-03", 1) in [
        (s, e, str(m)[:7], v)
        for s, e, m, v in warehouse.execute(
            "SELECT system, entity, delivery_month, delivery_version FROM audit.ingest_ledger WHERE status = 'active'"
        ).fetchall()
    ]

    # v2 withdrawn from landing/ (the platform never does this): v1 is now the latest, and is refused.
    shutil.rmtree(data_dir.landing / "imilo" / "2016-03" / "v2")
    with pytest.raises(
        FileRejected, match=r"imilo_situations_2016-03.csv: version 1 is older than the loaded version 2"
    ):
        ingest_month(warehouse, data_dir.landing, "imilo", "situations", "2016-03")
    assert table_state(warehouse, ("raw", "audit"), EXACT) == after_v2


# --------------------------------------------------------------------------------------------------------------
# manifest disagreements
# --------------------------------------------------------------------------------------------------------------

EVENTS = "imilo_evenements_2016-03.csv"


def _edit_manifest(folder: Path, change) -> None:
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def _events_entry(manifest: dict) -> dict:
    return next(f for f in manifest["files"] if f["table"] == "events")


def _append_line(folder: Path) -> None:
    with (folder / EVENTS).open("ab") as handle:
        handle.write(b"2016-03,EV00009999,A1B2C3D4E5,13055S00,2016-03-10,ATELIER,PHYSIQUE,Absent,\r\n")


def _alter_one_byte(folder: Path) -> None:
    path = folder / EVENTS
    path.write_bytes(path.read_bytes().replace(b"ATELIER", b"ATELIEZ", 1).replace(b"PHYSIQUE", b"PHYSIQUF", 1))


def _rows_off_by_one(folder: Path) -> None:
    _edit_manifest(folder, lambda m: _events_entry(m).update(rows=_events_entry(m)["rows"] + 1))


def _name_outside_the_contract(folder: Path) -> None:
    shutil.copy2(folder / EVENTS, folder / "evenements.csv")
    _edit_manifest(folder, lambda m: _events_entry(m).update(name="../../2016-02/evenements.csv"))


def _renamed_on_disk(folder: Path) -> None:
    (folder / EVENTS).rename(folder / EVENTS.replace(".csv", ".CSV"))


MANIFEST_FAULTS = {
    "line-appended": (_append_line, rf"{EVENTS}: truncated or altered since the manifest was written: \d+ bytes where"),
    "byte-altered": (_alter_one_byte, rf"{EVENTS}: truncated or altered .*: SHA-256 differs from the manifest$"),
    "rows-off-by-one": (_rows_off_by_one, rf"{EVENTS}: .*: 10 data lines where the manifest says 11$"),
    "month-differs": (
        lambda f: _edit_manifest(f, lambda m: m.update(month="2016-04")),
        r"v2/manifest.json: manifest says month='2016-04', folder says '2016-03'",
    ),
    "version-differs": (
        lambda f: _edit_manifest(f, lambda m: m.update(version=1)),
        r"v2/manifest.json: manifest says version=1, folder says 2",
    ),
    "system-differs": (
        lambda f: _edit_manifest(f, lambda m: m.update(system="parcours3")),
        r"v2/manifest.json: manifest says system='parcours3', folder says 'imilo'",
    ),
    "not-json": (
        lambda f: (f / "manifest.json").write_text('{"system": "imilo", '),
        r"v2/manifest.json: manifest is not valid JSON",
    ),
    "table-unlisted": (
        lambda f: _edit_manifest(f, lambda m: m.update(files=[x for x in m["files"] if x["table"] != "events"])),
        r"v2/manifest.json: no events file listed for imilo/2016-03/v2",
    ),
    "name-outside-contract": (
        _name_outside_the_contract,
        rf"named '../../2016-02/evenements.csv', the contract expects '{EVENTS}'",
    ),
    "renamed-on-disk": (_renamed_on_disk, rf"v2/{EVENTS}: file listed in the manifest is missing"),
}


@pytest.mark.parametrize("fault", MANIFEST_FAULTS.values(), ids=MANIFEST_FAULTS.keys())
def test_manifest_disagreement_leaves_the_previous_state(data_dir, warehouse, fault):
    mutate, message = fault
    write_delivery(data_dir.landing, "imilo", "2016-03", count=6)
    ingest_month(warehouse, data_dir.landing, "imilo", "events", "2016-03")
    before = table_state(warehouse, ("raw", "audit"), EXACT)
    folder = write_delivery(data_dir.landing, "imilo", "2016-03", version=2, count=10)
    mutate(folder)
    with pytest.raises(DeliveryError, match=message):
        ingest_month(warehouse, data_dir.landing, "imilo", "events", "2016-03")
    assert table_state(warehouse, ("raw", "audit"), EXACT) == before
    assert ledger_problems(warehouse) == []


# --------------------------------------------------------------------------------------------------------------
# encodings, headers, lines
# --------------------------------------------------------------------------------------------------------------


def _p3_events() -> bytes:
    return render("parcours3", rows_for("parcours3", "events", "2014-06", 300), table("parcours3", "events").header)


def _imilo_events() -> bytes:
    return render("imilo", rows_for("imilo", "events", "2016-03", 300), table("imilo", "events").header)


ENCODING_FAULTS = {
    # the two cases of test_loading.py again, here with the state and ledger checks
    "p3-in-utf8": (
        "parcours3",
        lambda: _p3_events().decode("cp1252").encode("utf-8"),
        r"P3_EVENEMENTS_201406.csv: the file is UTF-8 but the contract declares cp1252",
    ),
    "imilo-in-cp1252": (
        "imilo",
        lambda: _imilo_events().decode().encode("cp1252"),
        r"imilo_evenements_2016-03.csv: line 2: byte 0xe9 is not valid utf-8",
    ),
    "empty-file": ("imilo", lambda: b"", r"imilo_evenements_2016-03.csv: empty file"),
    "p3-in-utf16": (
        "parcours3",
        lambda: _p3_events().decode("cp1252").encode("utf-16"),
        r"P3_EVENEMENTS_201406.csv: line 1 \(header\): only 0 of its 8 fields are column names of the contract",
    ),
    "imilo-in-utf16": (
        "imilo",
        lambda: _imilo_events().decode().encode("utf-16"),
        r"imilo_evenements_2016-03.csv: line 1: byte 0xff is not valid utf-8",
    ),
    "p3-byte-undefined-in-cp1252": (
        "parcours3",
        lambda: _p3_events().replace("€".encode("cp1252"), b"\x81"),
        r"P3_EVENEMENTS_201406.csv: line 2: byte 0x81 is not valid cp1252",
    ),
    "imilo-latin1-on-line-150": (
        "imilo",
        lambda: _imilo_events().replace(b"EV00000148", "EV0000014é".encode("latin-1")),
        r"imilo_evenements_2016-03.csv: line 150: byte 0xe9 is not valid utf-8",
    ),
}


@pytest.mark.parametrize("fault", ENCODING_FAULTS.values(), ids=ENCODING_FAULTS.keys())
def test_wrong_encoding_or_empty_file_leaves_the_previous_state(data_dir, warehouse, fault):
    system, content, message = fault
    month = "2014-06" if system == "parcours3" else "2016-03"
    write_delivery(data_dir.landing, system, month)
    ingest_month(warehouse, data_dir.landing, system, "events", month)
    before = table_state(warehouse, ("raw", "audit"), EXACT)
    write_delivery(data_dir.landing, system, month, version=2, raw_bytes={"events": content()})
    with pytest.raises(FileRejected, match=message):
        ingest_month(warehouse, data_dir.landing, system, "events", month)
    assert table_state(warehouse, ("raw", "audit"), EXACT) == before


def test_utf8_byte_order_mark_is_tolerated(data_dir, warehouse):
    """The contract says "no byte-order mark"; one is skipped rather than refused (observed, documented)."""
    write_delivery(data_dir.landing, "imilo", "2016-03", raw_bytes={"events": b"\xef\xbb\xbf" + _imilo_events()})
    result = ingest_month(warehouse, data_dir.landing, "imilo", "events", "2016-03")
    assert (result.rows_loaded, result.rows_rejected) == (300, 0)
    assert warehouse.execute("SELECT min(_source_line), max(_source_line) FROM raw.imilo__events").fetchall() == [
        (2, 301)
    ]


P3_HEADER = table("parcours3", "events").header
HEADER_FAULTS = {
    "lower-case": ([c.lower() for c in P3_HEADER], r"column 1 is named 'mois_extraction' where the contract expects"),
    "trailing-delimiter": (P3_HEADER + [""], r"unexpected column '' \(column 9\)"),
    "duplicated-column": (P3_HEADER[:6] + ["TYPE_EVT"] + P3_HEADER[7:], r"column 'MODE_CONTACT' is missing"),
    "blank-first-line": ([], r"column 'MOIS_EXTRACTION' is missing"),
}


@pytest.mark.parametrize("fault", HEADER_FAULTS.values(), ids=HEADER_FAULTS.keys())
def test_header_faults_not_covered_elsewhere(data_dir, warehouse, fault):
    header, message = fault
    rows = [r[: len(header)] + [""] * (len(header) - len(r)) for r in rows_for("parcours3", "events", "2014-06", 3)]
    content = render("parcours3", rows, header) if header else b"\r\n" + _p3_events().split(b"\r\n", 1)[1]
    write_delivery(data_dir.landing, "parcours3", "2014-06", raw_bytes={"events": content})
    before = table_state(warehouse, ("raw", "audit"), EXACT)
    with pytest.raises(FileRejected, match=r"P3_EVENEMENTS_201406.csv: line 1 \(header\): .*" + message):
        ingest_month(warehouse, data_dir.landing, "parcours3", "events", "2014-06")
    assert table_state(warehouse, ("raw", "audit"), EXACT) == before


@pytest.mark.parametrize("system", ["parcours3", "imilo"])
def test_overlong_line_is_quarantined_and_later_lines_keep_their_numbers(data_dir, warehouse, system):
    """A 3 MB line (DuckDB's max_line_size is 2 MB) in the free text (P3, transcoded) or in a code (I-Milo)."""
    month = "2014-06" if system == "parcours3" else "2016-03"
    t = table(system, "events")
    rows = rows_for(system, "events", month, 300)
    column = "COMMENTAIRE" if system == "parcours3" else "type_evenement"
    rows[5][t.header.index(column)] = "é" * 1_500_000 if system == "parcours3" else "X" * 3_000_000
    write_delivery(data_dir.landing, system, month, raw_bytes={"events": render(system, rows, t.header)})
    result = ingest_month(warehouse, data_dir.landing, system, "events", month)
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (300, 299, 1)
    quarantined = warehouse.execute("SELECT line, column_name, raw_value, reason FROM audit.quarantine").fetchall()
    assert len(quarantined) == 1
    line, column_name, value, reason = quarantined[0]
    assert (line, column_name, value) == (7, None, None) and reason.startswith("LINE SIZE OVER MAXIMUM")
    record = t.header[1]
    pairs = warehouse.execute(f"SELECT _source_line, {record.lower()} FROM raw.{t.raw_table}").fetchall()
    expected_ids = {line: rows[line - 2][1] for line in range(2, 302) if line != 7}
    assert dict(pairs) == expected_ids
    assert ledger_problems(warehouse) == []


def test_quoted_line_break_and_unterminated_last_line_reject_only_those_lines(data_dir, warehouse):
    t = table("imilo", "events")
    rows = rows_for("imilo", "events", "2016-03", 300)
    rows[4][-1] = 'note "coupée\r\nen deux"'  # a line break inside quotes: forbidden, splits line 6 in two
    content = render("imilo", rows, t.header) + ",".join(rows[0][:-1]).replace("EV00000000", "EV00000999").encode()
    content += b',"note sans fin'  # last line, no line end, quote left open
    write_delivery(data_dir.landing, "imilo", "2016-03", raw_bytes={"events": content})
    result = ingest_month(warehouse, data_dir.landing, "imilo", "events", "2016-03")
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (302, 299, 3)
    lines = [r[0] for r in warehouse.execute("SELECT line FROM audit.quarantine ORDER BY line").fetchall()]
    assert lines == [6, 7, 303]
    pairs = dict(warehouse.execute("SELECT _source_line, id_evenement FROM raw.imilo__events").fetchall())
    assert pairs[5] == "EV00000003" and pairs[8] == "EV00000005" and pairs[302] == "EV00000299"


@pytest.mark.parametrize(
    ("value", "line", "shown"),
    [("201405", 5, "'201405'"), ("2014-06", 2, "'2014-06'"), ("", 9, "None")],
    ids=["previous-month", "imilo-format", "empty"],
)
def test_parcours3_month_differing_from_its_folder_refuses_the_file(data_dir, warehouse, value, line, shown):
    # test_loading.py covers an I-Milo file; Parcours 3 writes the month as yyyymm.
    t = table("parcours3", "situations")
    rows = rows_for("parcours3", "situations", "2014-06", 20)
    rows[line - 2][0] = value
    write_delivery(
        data_dir.landing, "parcours3", "2014-06", raw_bytes={"situations": render("parcours3", rows, t.header)}
    )
    before = table_state(warehouse, ("raw", "audit"), EXACT)
    with pytest.raises(
        FileRejected,
        match=rf"P3_SITUATIONS_201406.csv: line {line}: MOIS_EXTRACTION is {shown} but the delivery folder is "
        r"2014-06 \(201406\)",
    ):
        ingest_month(warehouse, data_dir.landing, "parcours3", "situations", "2014-06")
    assert table_state(warehouse, ("raw", "audit"), EXACT) == before


def test_codes_that_only_look_right_are_quarantined(data_dir, warehouse):
    import unicodedata

    t = table("imilo", "events")
    rows = rows_for("imilo", "events", "2016-03", 400)
    lookalikes = {5: unicodedata.normalize("NFD", "Présent"), 6: "Présent ", 7: "présent"}
    for line, value in lookalikes.items():
        rows[line - 2][t.header.index("statut")] = value
    write_delivery(data_dir.landing, "imilo", "2016-03", raw_bytes={"events": render("imilo", rows, t.header)})
    result = ingest_month(warehouse, data_dir.landing, "imilo", "events", "2016-03")
    assert (result.rows_loaded, result.rows_rejected) == (397, 3)
    quarantined = warehouse.execute("SELECT line, column_name, raw_value, reason FROM audit.quarantine").fetchall()
    assert sorted(quarantined) == [
        (line, "statut", value, "code not in list imilo_statut_evenement") for line, value in lookalikes.items()
    ]
    assert warehouse.execute("SELECT DISTINCT statut FROM raw.imilo__events").fetchall() == [("Présent",)]


@pytest.mark.parametrize(("bad", "loads"), [(2, True), (3, False)], ids=["1.0%-loads", "1.5%-refused"])
def test_reject_limit_is_at_one_percent_inclusive(data_dir, warehouse, bad, loads):
    t = table("parcours3", "events")
    rows = rows_for("parcours3", "events", "2014-06", 200)
    for i in range(bad):
        rows[10 + i][t.header.index("TYPE_EVT")] = "9"
    write_delivery(data_dir.landing, "parcours3", "2014-06", raw_bytes={"events": render("parcours3", rows, t.header)})
    if loads:
        result = ingest_month(warehouse, data_dir.landing, "parcours3", "events", "2014-06")
        assert (result.rows_loaded, result.rows_rejected) == (198, 2)
    else:
        with pytest.raises(FileRejected, match=r"P3_EVENEMENTS_201406.csv: 3 of 200 lines rejected \(1.50%\)"):
            ingest_month(warehouse, data_dir.landing, "parcours3", "events", "2014-06")
        assert warehouse.execute("SELECT count(*) FROM audit.ingest_ledger").fetchall()[0][0] == 0
    assert ledger_problems(warehouse) == []


def test_bare_cr_line_ends_refuse_the_file(data_dir, warehouse):
    """Old Mac line ends: the manifest (which counts LF) says 0 rows; the file must not load 5 rows."""
    write_delivery(data_dir.landing, "imilo", "2016-03", count=3)
    ingest_month(warehouse, data_dir.landing, "imilo", "events", "2016-03")
    before = table_state(warehouse, ("raw", "audit"), EXACT)
    content = render("imilo", rows_for("imilo", "events", "2016-03", 5), table("imilo", "events").header)
    write_delivery(
        data_dir.landing, "imilo", "2016-03", version=2, raw_bytes={"events": content.replace(b"\r\n", b"\r")}
    )
    with pytest.raises(
        DeliveryError,
        match=r"v2/imilo_evenements_2016-03.csv: 5 records read where the file has 0 lines ending in LF: line ends "
        r"must be CRLF or LF, not a bare CR",
    ):
        ingest_month(warehouse, data_dir.landing, "imilo", "events", "2016-03")
    assert table_state(warehouse, ("raw", "audit"), EXACT) == before


# --------------------------------------------------------------------------------------------------------------
# the delivery sensor under a flood of deliveries
# --------------------------------------------------------------------------------------------------------------

P3_MONTHS = [f"{y}-{m:02d}" for y in (2013, 2014, 2015) for m in range(1, 13)][:30]  # 2013-01 .. 2015-06
IMILO_MONTHS = [f"{y}-{m:02d}" for y in range(2015, 2021) for m in range(1, 13)][1:71]  # 2015-02 .. 2020-11


def drop_hundred_deliveries(landing: Path) -> list:
    for month in P3_MONTHS:
        write_delivery(landing, "parcours3", month, count=2)
    for month in IMILO_MONTHS:
        write_delivery(landing, "imilo", month, count=2)
    deliveries = find_deliveries(landing)
    assert len(deliveries) == 100
    return deliveries


def tick(instance, cursor):
    from orchestration.definitions import defs
    from orchestration.defs.automation import delivery_sensor

    context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
    return delivery_sensor.evaluate_tick(context)


def test_delivery_sensor_requests_each_of_100_deliveries_once(data_dir):
    from orchestration.defs.ingest import raw_asset_key

    deliveries = drop_hundred_deliveries(data_dir.landing)
    # a delivery still being copied: its files are there, its manifest not yet
    copying = write_delivery(data_dir.landing, "imilo", "2020-12", count=2)
    manifest = (copying / "manifest.json").read_bytes()
    (copying / "manifest.json").unlink()
    with dg.instance_for_test() as instance:
        first = tick(instance, None)
        requests = first.run_requests
        assert len(requests) == 100
        by_key = {r.run_key: r for r in requests}
        assert by_key.keys() == {d.checksum for d in deliveries}
        for d in deliveries:
            request = by_key[d.checksum]
            assert request.partition_key == f"{d.month}-01"
            assert set(request.asset_selection) == {raw_asset_key(t) for t in SYSTEMS[d.system].tables.values()}
            assert request.tags["milo/delivery"] == d.label
        assert tick(instance, first.cursor).run_requests == []

        # the copy completes and a corrected version of one month arrives: exactly these two, nothing else
        (copying / "manifest.json").write_bytes(manifest)
        write_delivery(data_dir.landing, "imilo", "2016-03", version=2, count=3)
        second = tick(instance, first.cursor)
        assert sorted(r.tags["milo/delivery"] for r in second.run_requests) == ["imilo/2016-03/v2", "imilo/2020-12/v1"]
        assert tick(instance, second.cursor).run_requests == []

        # a lost cursor asks again with the same run keys: Dagster skips run keys it has seen, and a run
        # that went through anyway would find every file unchanged (test_loading.py)
        again = tick(instance, None)
        assert {r.run_key for r in again.run_requests} == {d.checksum for d in find_deliveries(data_dir.landing)}


@pytest.mark.slow
def test_hundred_deliveries_under_the_sensor_are_each_ingested_exactly_once(data_dir):
    from orchestration.definitions import defs

    deliveries = drop_hundred_deliveries(data_dir.landing)
    job = defs.resolve_job_def("ingest_job")
    with dg.DagsterInstance.get() as instance:  # the instance under the private DAGSTER_HOME (sqlite, pools)
        results = [_launch_like_the_daemon(job, instance, r) for r in tick(instance, None).run_requests]
        assert len(results) == 100 and all(r is not None and r.success for r in results)
        # the cursor lost: the same 100 run keys come back and none is launched again
        assert all(_launch_like_the_daemon(job, instance, r) is None for r in tick(instance, None).run_requests)
        runs = instance.get_runs()
        assert len(runs) == 100 and all(run.status == dg.DagsterRunStatus.SUCCESS for run in runs)
        messages = " ".join(e.message or "" for run in runs for e in instance.all_logs(run.run_id))
    assert "Could not set lock" not in messages and "locked by another process" not in messages
    with open_warehouse(data_dir.warehouse, read_only=True) as con:
        assert ledger_problems(con) == []
        files_per_month = con.execute(
            "SELECT system, strftime(delivery_month, '%Y-%m'), entity, count(*), min(status), min(rows_loaded), "
            "count(DISTINCT dagster_run_id) FROM audit.ingest_ledger GROUP BY ALL"
        ).fetchall()
    assert len(files_per_month) == 400
    assert {(s, m) for s, m, *_ in files_per_month} == {(d.system, d.month) for d in deliveries}
    assert all(rest == [1, "active", 2, 1] for *_, rest in [(r[:3], list(r[3:])) for r in files_per_month])


def _launch_like_the_daemon(job, instance, request):
    """What the sensor daemon does with a RunRequest: skip a run key this sensor already launched, else run."""
    seen = instance.get_runs(dg.RunsFilter(tags={"dagster/run_key": request.run_key}))
    if seen:
        return None
    return job.execute_in_process(
        partition_key=request.partition_key,
        asset_selection=request.asset_selection,
        instance=instance,
        tags={**request.tags, "dagster/run_key": request.run_key, "dagster/sensor_name": "delivery_sensor"},
    )


# --------------------------------------------------------------------------------------------------------------
# slow: random kills during a large load, a killed dbt build
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_random_sigkills_during_a_large_load_leave_the_old_or_the_new_state(data_dir, tmp_path):
    """SIGKILL at a random moment of a 400,000-line load (reading, validating, inside the transaction, or
    after the commit), twelve times: each time the warehouse is exactly the old or exactly the new state."""
    t = table("parcours3", "events")
    write_delivery(data_dir.landing, "parcours3", "2014-06", count=100)
    load_now(data_dir, "parcours3", "2014-06", "events")
    shutil.copy2(data_dir.warehouse, tmp_path / "old.duckdb")  # closed, so checkpointed: no WAL
    rows = rows_for("parcours3", "events", "2014-06", 400_000)
    content = render("parcours3", rows, t.header)
    write_delivery(data_dir.landing, "parcours3", "2014-06", version=2, raw_bytes={"events": content})
    new = state_after_clean_load(data_dir, tmp_path, "parcours3", "2014-06", "events")
    old = warehouse_state(data_dir.warehouse)
    rng = random.Random(20140601)
    outcomes, stray = [], set()
    for _ in range(12):
        child = start_loader(data_dir.data_dir, "parcours3", "2014-06", "events")
        wait_for_line(child, "connected")
        time.sleep(rng.uniform(0.0, 3.0))
        child.kill()
        out, _ = child.communicate(timeout=60)
        stages = [line.split()[-1] for line in out.splitlines() if line.startswith("stage ")]
        state = warehouse_state(data_dir.warehouse)
        assert state in (old, new), f"a kill after stages {stages} left a third state"
        check_ledger(data_dir.warehouse)
        outcomes.append(("new" if state == new else "old", stages[-1] if stages else "reading"))
        stray |= set(leftovers(data_dir.data_dir))
        if state == new:  # back to the old state for the next kill
            data_dir.warehouse.with_name("warehouse.duckdb.wal").unlink(missing_ok=True)
            shutil.copy2(tmp_path / "old.duckdb", data_dir.warehouse)
    print(f"(state, last stage reached) after each kill: {outcomes}; stray entries in MILO_DATA_DIR: {sorted(stray)}")
    assert {"old", "new"} <= {state for state, _ in outcomes}, "the kills should land both before and after the commit"
    # A kill while reading leaves the load's working folder (a plain-text UTF-8 copy of the cp1252 file);
    # the next load removes those of dead processes.
    assert all(name.startswith(".milo-load-") for name in stray), stray
    rerun = run_loader(data_dir.data_dir, "parcours3", "2014-06", "events")
    assert rerun.returncode == 0, rerun.stderr
    assert warehouse_state(data_dir.warehouse) == new
    assert leftovers(data_dir.data_dir) == []


def _dbt_project_snapshot(tmp: Path) -> Path:
    """A copy of the dbt project and its seeds: the builds compared run the same models even if someone edits
    the checkout meanwhile, and nothing is written into the shared dbt_project/target."""
    shutil.copytree(REPO / "seeds", tmp / "seeds")
    shutil.copytree(REPO / "dbt_project", tmp / "dbt_project", ignore=shutil.ignore_patterns("target", "logs"))
    return tmp / "dbt_project"


def _dbt(target: Path, project: Path | None = None) -> list[str]:
    project = project or _dbt_project_snapshot(target.parent / f"{target.name}-project")
    return [
        str(BIN / "dbt"),
        "build",
        "--target-path",
        str(target),
        "--log-path",
        str(target / "logs"),
        "--profiles-dir",
        str(project),
        "--project-dir",
        str(project),
    ]


def _synthetic_raw_warehouse(data_dir) -> None:
    subprocess.run(
        [str(BIN / "milo"), "synth", "--start", "2015-01", "--end", "2015-04", "--scale", "0.002"],
        env=child_env(data_dir.data_dir),
        check=True,
        capture_output=True,
    )
    with open_warehouse(data_dir.warehouse) as con:
        initialise(con)
        for d in find_deliveries(data_dir.landing):
            for entity in SYSTEMS[d.system].tables:
                ingest_month(con, data_dir.landing, d.system, entity, d.month)


MODEL_SCHEMAS = ("reference", "staging", "intermediate", "harmonised", "marts", "published")


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", ["seeds", "staging", "harmonised.events", "marts"])
def test_sigkill_of_dbt_build_then_rerun_equals_an_uninterrupted_build(data_dir, tmp_path, kill_after):
    """dbt killed while it writes the warehouse, at several depths of the build; the re-run must give the
    same models as a build never interrupted (on a copy of the same raw warehouse)."""
    _synthetic_raw_warehouse(data_dir)
    project = _dbt_project_snapshot(tmp_path)
    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    shutil.copy2(data_dir.warehouse, clean_dir / "warehouse.duckdb")
    done = subprocess.run(_dbt(tmp_path / "t0", project), env=child_env(clean_dir), capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]
    expected = warehouse_state(clean_dir / "warehouse.duckdb", MODEL_SCHEMAS)

    trigger = {
        "seeds": "OK loaded seed file reference.",
        "staging": "OK created sql view model staging.",
        "harmonised.events": "START sql table model harmonised.events",
        "marts": "START sql table model marts.",
    }[kill_after]
    child = subprocess.Popen(
        _dbt(tmp_path / "t1", project),
        env=child_env(data_dir.data_dir, PYTHONUNBUFFERED="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    seen = []
    for line in child.stdout:
        seen.append(line)
        if trigger in line:
            os.killpg(child.pid, signal.SIGKILL)
            break
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL, "".join(seen[-20:])

    rerun = subprocess.run(
        _dbt(tmp_path / "t2", project), env=child_env(data_dir.data_dir), capture_output=True, text=True
    )
    assert rerun.returncode == 0, rerun.stdout[-3000:]
    assert warehouse_state(data_dir.warehouse, MODEL_SCHEMAS) == expected
    with open_warehouse(data_dir.warehouse, read_only=True) as con:
        debris = con.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_name LIKE '%__dbt_tmp%' OR table_name LIKE '%__dbt_backup%'"
        ).fetchall()
    assert debris == []


@pytest.mark.slow
def test_dbt_started_while_a_loader_holds_the_warehouse_fails_naming_the_lock(data_dir, tmp_path):
    """dbt does not retry a lock (TOOLCHAIN.md); inside Dagster the one-writer pool keeps it from trying."""
    write_delivery(data_dir.landing, "imilo", "2016-03", count=5)
    holder = start_loader(data_dir.data_dir, "imilo", "2016-03", "events", hold_at="after_insert", hold_seconds=60)
    try:
        wait_for_line(holder, "holding at after_insert")
        done = subprocess.run(_dbt(tmp_path / "t"), env=child_env(data_dir.data_dir), capture_output=True, text=True)
    finally:
        holder.kill()
        holder.communicate()
    assert done.returncode != 0
    assert "Could not set lock" in done.stdout and f"(PID {holder.pid})" in done.stdout
