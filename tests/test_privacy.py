"""Privacy promises tried on real runs: no direct identifier, full birth date or key anywhere the platform
writes (warehouse, audit, Dagster's event log and compute logs, dbt's run folders, run output); keyed
pseudonyms stable under one key and unlinkable under another; no real delivery without a key; owner-only
files; the UI on the loopback interface only. docs/reliability.md lists what is promised and what is not.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pytest
from factories import FACTORY_SECRETS, render, rows_for, write_delivery
from faultlib import (
    BIN,
    REPO,
    Needles,
    child_env,
    personal_data_in_landing,
    public_reference_values,
    scan_tree,
    scan_warehouse,
    table_state,
)

from orchestration.defs.ingest import raw_assets
from orchestration.defs.resources import WarehouseResource
from orchestration.lib import settings
from orchestration.lib.contract import SYSTEMS, table
from orchestration.lib.delivery import DeliveryError, file_sha256, find_deliveries
from orchestration.lib.ingest.months import ingest_month
from orchestration.lib.ingest.reading import FileRejected
from orchestration.lib.ingest.schema import initialise
from orchestration.lib.pseudonymise import KEY_VAR, PseudoKey
from orchestration.lib.warehouse import open_warehouse


def key_needles(hex_key: str) -> Needles:
    """The key in every spelling a log could carry, and the HMAC pads DuckDB receives (each reveals it)."""
    needles = Needles()
    secret = bytes.fromhex(hex_key)
    for form in (hex_key, hex_key.upper(), *(pad.hex() for pad in PseudoKey(secret).pads())):
        needles.add_secret(form)
    return needles


def raw_asset(system: str) -> dg.AssetsDefinition:
    return next(a for a in raw_assets if a.op.name == f"raw_{system}")


def all_rows(con, schemas=("raw", "audit")) -> int:
    return sum(len(rows) for rows in table_state(con, schemas).values())


# --------------------------------------------------------------------------------------------------------------
# what refusals and the quarantine say
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("system", ["parcours3", "imilo"])
def test_file_without_header_is_refused_without_echoing_line_one(data_dir, warehouse, system):
    """A header-less export puts a record on line 1; the refusal must not quote it into Dagster's event log."""
    month = "2015-03"
    rows = rows_for(system, "young_people", month, 3)
    write_delivery(data_dir.landing, system, month, raw_bytes={"young_people": render(system, rows[1:], rows[0])})
    with pytest.raises(FileRejected) as refused:
        ingest_month(warehouse, data_dir.landing, system, "young_people", month)
    message = str(refused.value)
    assert table(system, "young_people").file_name(month) in message and "header missing" in message
    leaked = personal_data_in_landing(data_dir.landing).find(message)
    assert leaked == [], f"the refusal quotes personal data: {leaked}"
    assert all(secret not in message for secret in FACTORY_SECRETS)


def test_rejected_personal_values_are_withheld_in_the_quarantine_and_in_refusals(data_dir, warehouse):
    t = table("imilo", "young_people")
    rows = rows_for("imilo", "young_people", "2016-03", 500)
    column = t.header.index
    rows[3][column("date_naissance")] = "14/03/1997"  # line 5: a birth date in the wrong format
    rows[4][column("id_jeune")] = "a1b2c3d4e5"  # line 6: an identifier in lower case
    rows[5][column("id_dossier_p3")] = "1001X"  # line 7: a legacy identifier with a letter
    rows[6] = rows[6] + ["coeur.muller@exemple.fr"]  # line 8: a field too many, holding an e-mail
    content = render("imilo", rows, t.header)
    write_delivery(data_dir.landing, "imilo", "2016-03", raw_bytes={"young_people": content})
    result = ingest_month(warehouse, data_dir.landing, "imilo", "young_people", "2016-03")
    assert (result.rows_loaded, result.rows_rejected) == (496, 4)
    quarantined = warehouse.execute(
        "SELECT line, column_name, raw_value FROM audit.quarantine ORDER BY line"
    ).fetchall()
    assert quarantined == [
        (5, "date_naissance", None),
        (6, "id_jeune", None),
        (7, "id_dossier_p3", None),
        (8, None, None),
    ]
    needles = personal_data_in_landing(data_dir.landing)
    needles.add("14/03/1997", "birth_date")
    needles.add("a1b2c3d4e5", "person_id")
    needles.add("1001X", "person_id")
    for name, rows_text in table_state(warehouse, ("raw", "audit"), set()).items():
        leaked = needles.find(" ".join(rows_text))
        assert leaked == [], f"{name} holds personal data: {leaked}"

    # the same faults in a smaller file exceed the 1 % limit: the refusal counts reasons, never values
    small = render("imilo", rows[:100], t.header)
    write_delivery(data_dir.landing, "imilo", "2016-03", version=2, raw_bytes={"young_people": small})
    with pytest.raises(FileRejected, match=r"4 of 100 lines rejected") as refused:
        ingest_month(warehouse, data_dir.landing, "imilo", "young_people", "2016-03")
    assert needles.find(str(refused.value)) == []


# --------------------------------------------------------------------------------------------------------------
# keys
# --------------------------------------------------------------------------------------------------------------


def _load_everything(paths: settings.Paths, warehouse_path: Path) -> dict:
    with open_warehouse(warehouse_path) as con:
        initialise(con)
        for delivery in find_deliveries(paths.landing):
            for entity in SYSTEMS[delivery.system].tables:
                ingest_month(con, paths.landing, delivery.system, entity, delivery.month)
        return table_state(con, ("raw", "audit"))


def _pseudonyms(state: dict) -> set[str]:
    """Quoted values of 32 hex digits (the pseudonyms' length; file hashes have 64)."""
    return {w for rows in state.values() for row in rows for w in re.findall(r"'([0-9a-f]{32})'", row)}


def test_pseudonyms_are_stable_under_one_key_and_unlinkable_under_another(data_dir, tmp_path, monkeypatch):
    write_delivery(data_dir.landing, "parcours3", "2015-01")
    write_delivery(data_dir.landing, "imilo", "2015-03")
    first, second = secrets.token_hex(32), secrets.token_hex(32)
    monkeypatch.setenv(KEY_VAR, first)
    a = _load_everything(data_dir, tmp_path / "a.duckdb")
    b = _load_everything(data_dir, tmp_path / "b.duckdb")
    monkeypatch.setenv(KEY_VAR, second)
    c = _load_everything(data_dir, tmp_path / "c.duckdb")

    assert a == b  # same files, same key: the same warehouse, pseudonyms included
    key_a, key_c = PseudoKey(bytes.fromhex(first)), PseudoKey(bytes.fromhex(second))
    pseudonyms_a, pseudonyms_c = _pseudonyms(a), _pseudonyms(c)
    assert (
        key_a.pseudonym("parcours3", "1001") in pseudonyms_a and key_a.pseudonym("imilo", "A1B2C30000") in pseudonyms_a
    )
    assert key_c.pseudonym("parcours3", "1001") in pseudonyms_c
    assert pseudonyms_a and not pseudonyms_a & pseudonyms_c
    for state, key in ((a, key_a), (c, key_c)):
        ledger = " ".join(state["audit.ingest_ledger"])
        assert key.key_id in ledger and key.key_id.startswith("k-")
    for state in (a, b, c):
        assert not key_needles(first).merged(key_needles(second)).find(" ".join(map(" ".join, state.values())))


def test_one_warehouse_never_mixes_two_keys(data_dir, warehouse, monkeypatch):
    write_delivery(data_dir.landing, "imilo", "2016-03")
    write_delivery(data_dir.landing, "imilo", "2016-04")
    first, second = secrets.token_hex(32), secrets.token_hex(32)
    monkeypatch.setenv(KEY_VAR, first)
    ingest_month(warehouse, data_dir.landing, "imilo", "events", "2016-03")
    before = table_state(warehouse, ("raw", "audit"), set())
    monkeypatch.setenv(KEY_VAR, second)
    with pytest.raises(DeliveryError, match="rebuild the warehouse from landing/ with one key") as refused:
        ingest_month(warehouse, data_dir.landing, "imilo", "events", "2016-04")
    message = str(refused.value)
    assert PseudoKey(bytes.fromhex(first)).key_id in message and PseudoKey(bytes.fromhex(second)).key_id in message
    assert key_needles(first).merged(key_needles(second)).find(message) == []
    assert table_state(warehouse, ("raw", "audit"), set()) == before


def test_real_delivery_needs_a_key_and_neither_key_nor_identifiers_reach_dagster(data_dir, monkeypatch):
    """A delivery with synthetic=false: without MILO_PSEUDO_KEY the run fails before loading anything; with
    it, the run loads, and the key and the direct identifiers are in neither the warehouse nor the instance."""
    write_delivery(data_dir.landing, "imilo", "2016-03", synthetic=False)
    landing_before = {p: file_sha256(p) for p in data_dir.landing.rglob("*") if p.is_file()}
    resources = {"warehouse": WarehouseResource(lock_wait_seconds=10)}
    key = secrets.token_hex(32)
    with dg.DagsterInstance.get() as instance:  # sqlite event log and compute logs under DAGSTER_HOME
        refused = dg.materialize(
            [raw_asset("imilo")],
            partition_key="2016-03-01",
            resources=resources,
            instance=instance,
            raise_on_error=False,
        )
        assert not refused.success
        failure = next(e for e in refused.all_events if e.event_type_value == "STEP_FAILURE")
        assert "MILO_PSEUDO_KEY is not set" in str(failure.event_specific_data.error)
        with open_warehouse(data_dir.warehouse, read_only=True) as con:
            assert all_rows(con) == 0  # the schema may exist (empty tables); no row, no ledger entry

        monkeypatch.setenv(KEY_VAR, key)
        loaded = dg.materialize(
            [raw_asset("imilo")], partition_key="2016-03-01", resources=resources, instance=instance
        )
        assert loaded.success
        metadata = loaded.asset_materializations_for_node("raw_imilo")[0].metadata
        assert metadata["pseudo_key_id"].value == PseudoKey(bytes.fromhex(key)).key_id and "WARNING" not in metadata
    assert {p: file_sha256(p) for p in data_dir.landing.rglob("*") if p.is_file()} == landing_before

    needles = personal_data_in_landing(data_dir.landing).merged(key_needles(key))
    assert len(needles) >= 9
    found, columns = scan_warehouse(data_dir.warehouse, needles)
    assert columns > 100 and found == []
    dagster_home = Path(os.environ["DAGSTER_HOME"])
    found, files = scan_tree(dagster_home, needles)
    assert files >= 3 and found == []
    # positive control: the same scan does find what is there (the key id, in the run's metadata)
    control = Needles()
    control.add(PseudoKey(bytes.fromhex(key)).key_id, "key id")
    assert scan_tree(dagster_home, control)[0]
    assert personal_data_in_landing(data_dir.landing).find(" ".join(FACTORY_SECRETS))


# --------------------------------------------------------------------------------------------------------------
# files and network
# --------------------------------------------------------------------------------------------------------------


def test_data_folders_and_warehouse_are_owner_only(tmp_path, monkeypatch):
    data = tmp_path / "data"
    (data / "landing").mkdir(parents=True)
    data.chmod(0o755)
    (data / "landing").chmod(0o755)
    monkeypatch.setenv(settings.DATA_DIR_VAR, str(data))
    monkeypatch.setenv("DAGSTER_HOME", str(data / "dagster"))
    monkeypatch.delenv(KEY_VAR, raising=False)
    previous = os.umask(0o022)
    try:
        paths = settings.prepare_environment()
        write_delivery(paths.landing, "imilo", "2016-03")
        with open_warehouse(paths.warehouse) as con:
            initialise(con)
            ingest_month(con, paths.landing, "imilo", "events", "2016-03")
    finally:
        os.umask(previous)

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    assert {p.name: oct(mode(p)) for p in (paths.data_dir, paths.landing, paths.dagster_home)} == {
        "data": "0o700",
        "landing": "0o700",
        "dagster": "0o700",
    }
    assert oct(mode(paths.warehouse)) == "0o600"
    # Everything else under MILO_DATA_DIR (delivery folders, the WAL, DuckDB's temporary files) keeps the
    # umask's mode, and is out of reach of other users only because MILO_DATA_DIR itself is 0o700.
    assert mode(paths.data_dir) & 0o077 == 0


def _make_commands(target: str, **variables: str) -> list[str]:
    """The commands `make <target>` would run, as make expands them (`make -n`: printed, not run)."""
    command = ["make", "-n", target, *(f"{k}={v}" for k, v in variables.items())]
    out = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if not line.lstrip().startswith("#")]


def test_ui_and_docs_servers_bind_the_loopback_interface_only():
    (ui,) = [line for line in _make_commands("ui") if "dagster dev" in line]
    assert re.search(r"\s(-h|--host) 127\.0\.0\.1(\s|$)", ui), ui
    docs = [line for line in _make_commands("docs") if "docs serve" in line]
    assert docs and all(re.search(r"--host 127\.0\.0\.1(\s|$)", line) for line in docs), docs
    assert "0.0.0.0" not in (REPO / "Makefile").read_text()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening_sockets_of_group(pgid: int) -> list[str]:
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        local = line.split()[3]
        for pid in map(int, re.findall(r"pid=(\d+)", line)):
            try:
                if os.getpgid(pid) == pgid:
                    found.append(local)
            except ProcessLookupError:
                continue
    return found


@pytest.mark.slow
def test_make_ui_listens_on_the_loopback_interface_only(tmp_path):
    """`make ui`'s own command line, started for real: every socket its processes listen on is loopback.
    (Like `make ui`, `dagster dev` re-parses the dbt project on start.)"""
    port = _free_port()
    (ui,) = [line for line in _make_commands("ui", UI_PORT=str(port)) if "dagster dev" in line]
    command = ["bash", "-c", ui]
    data = tmp_path / "data"
    (data / "dagster").mkdir(parents=True)
    server = subprocess.Popen(
        command,
        cwd=REPO,
        env=child_env(data),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail("dagster dev did not answer within 180 s")
        time.sleep(5)  # let the daemon and the code server settle
        sockets = _listening_sockets_of_group(server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    print(f"sockets listened on by `make ui`'s processes: {sockets}")
    assert any(s.endswith(f":{port}") for s in sockets), sockets
    not_loopback = [s for s in sockets if not re.match(r"^(127\.\d+\.\d+\.\d+|\[::1\]|localhost):\d+$", s)]
    assert not_loopback == [], f"listening beyond the loopback interface: {not_loopback} (all: {sockets})"


# --------------------------------------------------------------------------------------------------------------
# end to end, on generated data, with a real key
# --------------------------------------------------------------------------------------------------------------


def _dbt_run_folders(dagster_home: Path) -> list[Path]:
    """The folders dagster-dbt wrote for the runs of this instance (`<op>-<run id[:7]>-<hash>`)."""
    con = sqlite3.connect(f"file:{dagster_home / 'history' / 'runs.db'}?mode=ro", uri=True)
    try:
        runs = [r[0][:7] for r in con.execute("SELECT run_id FROM runs")]
    finally:
        con.close()
    target = REPO / "dbt_project" / "target"
    return sorted(p for p in target.iterdir() if p.is_dir() and any(f"-{run}-" in p.name for run in runs))


@pytest.mark.slow
@pytest.mark.e2e
def test_end_to_end_run_leaks_no_personal_data_nor_the_key(tmp_path, monkeypatch):
    data = tmp_path / "data"
    key = secrets.token_hex(32)
    env = child_env(data, **{KEY_VAR: key})
    milo = str(BIN / "milo")
    subprocess.run(
        [milo, "synth", "--start", "2014-11", "--end", "2015-10", "--scale", "0.005"],
        env=env,
        check=True,
        capture_output=True,
    )
    run = subprocess.run([milo, "materialize"], env=env, capture_output=True, text=True, timeout=1800, cwd=REPO)
    assert run.returncode == 0, run.stderr[-3000:]

    paths = settings.Paths(data)
    dbt_folders = _dbt_run_folders(paths.dagster_home)
    assert dbt_folders
    needles = personal_data_in_landing(paths.landing)
    kinds = {k for k in needles.words.values()}
    assert kinds >= {"name", "email", "phone", "nir", "birth_date", "person_id"}
    needles = needles.merged(key_needles(key))
    needles.add_secret("PUBLIC DEMO KEY", "demo key used")

    found, columns = scan_warehouse(paths.warehouse, needles, public_reference_values())
    assert columns > 300 and found == [], found[:20]
    found, files = scan_tree(paths.dagster_home, needles)
    assert files > 5 and found == [], found[:20]
    assert needles.find(run.stdout + run.stderr) == []
    if paths.reports.exists():  # charts and pages drawn from the marts
        found, _ = scan_tree(paths.reports, needles)
        assert found == [], found[:20]
    try:
        for folder in dbt_folders:  # dbt's logs, compiled SQL and run results of this run
            found, _ = scan_tree(folder, needles)
            assert found == [], (folder, found[:20])
    finally:
        for folder in dbt_folders:  # ours alone (named after our run ids): no litter in the shared target/
            shutil.rmtree(folder)

    secret = PseudoKey(bytes.fromhex(key))
    with open_warehouse(paths.warehouse, read_only=True) as con:
        key_ids = con.execute("SELECT DISTINCT pseudo_key_id FROM audit.ingest_ledger").fetchall()
        sample = con.execute(
            "SELECT ledger.file_path, raw._source_line, raw.id_jeune_pseudo "
            "FROM (SELECT * FROM raw.imilo__young_people USING SAMPLE 50 ROWS) AS raw "
            "JOIN audit.ingest_ledger AS ledger ON ledger.system = 'imilo' AND ledger.entity = 'young_people' "
            "AND ledger.delivery_month = raw._delivery_month AND ledger.status = 'active'"
        ).fetchall()
        loaded = table_state(con, ("raw", "audit"))
        marts = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'marts'").fetchall()
    assert key_ids == [(secret.key_id,)]
    assert marts[0][0] > 0
    for file, line, pseudonym in sample:  # the pseudonym is the HMAC of the delivered identifier, nothing else
        record = Path(file).read_text(encoding="utf-8").splitlines()[line - 1].split(",")
        assert pseudonym == secret.pseudonym("imilo", record[1])

    # Stable: the same files under the same key give the same raw layer; unlinkable under another key.
    monkeypatch.setenv(settings.DATA_DIR_VAR, str(data))
    monkeypatch.setenv(KEY_VAR, key)
    assert _load_everything(paths, tmp_path / "same-key.duckdb") == loaded
    monkeypatch.setenv(KEY_VAR, secrets.token_hex(32))
    other = _load_everything(paths, tmp_path / "other-key.duckdb")
    hashes = {file_sha256(p) for p in paths.landing.rglob("*.csv")}
    assert _pseudonyms(loaded) - hashes and not (_pseudonyms(loaded) - hashes) & _pseudonyms(other)

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    assert (mode(paths.warehouse), mode(paths.landing), mode(paths.data_dir)) == (0o600, 0o700, 0o700)
