"""The loader on real files and a real DuckDB file: exactly once, atomic, validated, pseudonymised."""

from __future__ import annotations

import shutil

import pytest
from factories import FACTORY_SECRETS, render, rows_for, valid_row, write_delivery

from orchestration.lib.contract import table
from orchestration.lib.delivery import Delivery, find_deliveries
from orchestration.lib.ingest.loading import load_file
from orchestration.lib.ingest.months import MissingDeliveryError, NoDeliveryExpected, ingest_month
from orchestration.lib.ingest.reading import FileRejected
from orchestration.lib.pseudonymise import DEMO_KEY, MissingKeyError, PseudoKey

KEY = PseudoKey(DEMO_KEY, is_demo=True)


def snapshot(con) -> dict:
    """Every row of every raw and audit table (timestamps aside): 'the warehouse exactly as it was'."""
    names = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ('raw', 'audit')"
    ).fetchall()
    state = {}
    for schema, name in sorted(names):
        state[f"{schema}.{name}"] = sorted(map(repr, con.execute(f'SELECT * FROM "{schema}"."{name}"').fetchall()))
    return state


def write_file(landing, system, month, entity, rows, version=1):
    """A delivery whose `entity` file holds exactly `rows` (the other files valid)."""
    content = render(system, rows, table(system, entity).header)
    return write_delivery(landing, system, month, version=version, raw_bytes={entity: content})


def load(con, landing, system, month, entity, version=None, **kw):
    versions = find_deliveries(landing, system, month)
    delivery = versions[-1] if version is None else next(d for d in versions if d.version == version)
    return load_file(con, delivery, entity, KEY, **kw)


def test_load_then_reload_is_a_noop(data_dir, warehouse):
    write_delivery(data_dir.landing, "imilo", "2016-03", count=7)
    first = load(warehouse, data_dir.landing, "imilo", "2016-03", "events")
    assert (first.status, first.rows_loaded, first.rows_rejected) == ("loaded", 7, 0)
    before = snapshot(warehouse)
    again = load(warehouse, data_dir.landing, "imilo", "2016-03", "events")
    assert again.status == "unchanged"
    assert snapshot(warehouse) == before
    assert warehouse.execute("SELECT count(*) FROM audit.ingest_ledger").fetchall()[0][0] == 1


def test_same_files_renamed_delivery_is_a_noop(data_dir, warehouse):
    folder = write_delivery(data_dir.landing, "imilo", "2016-03")
    load(warehouse, data_dir.landing, "imilo", "2016-03", "young_people")
    before = snapshot(warehouse)
    # The same delivery copied again under a new version folder: identical files.
    copy = folder.parent / "v2"
    shutil.copytree(folder, copy)
    manifest = (copy / "manifest.json").read_text().replace('"version": 1', '"version": 2')
    (copy / "manifest.json").write_text(manifest)
    result = load(warehouse, data_dir.landing, "imilo", "2016-03", "young_people")
    assert result.status == "unchanged"
    assert snapshot(warehouse) == before


def test_corrected_redelivery_replaces_the_month(data_dir, warehouse):
    write_delivery(data_dir.landing, "parcours3", "2014-06", count=6)
    write_delivery(data_dir.landing, "parcours3", "2014-07", count=4)
    load(warehouse, data_dir.landing, "parcours3", "2014-06", "situations")
    load(warehouse, data_dir.landing, "parcours3", "2014-07", "situations")
    write_delivery(data_dir.landing, "parcours3", "2014-06", version=2, count=3)
    result = load(warehouse, data_dir.landing, "parcours3", "2014-06", "situations")
    assert (result.version, result.rows_loaded) == (2, 3)
    counts = dict(
        warehouse.execute(
            "SELECT strftime(_delivery_month, '%Y-%m'), count(*) FROM raw.parcours3__situations GROUP BY 1"
        ).fetchall()
    )
    assert counts == {"2014-06": 3, "2014-07": 4}
    statuses = warehouse.execute(
        "SELECT delivery_version, status FROM audit.ingest_ledger WHERE delivery_month = '2014-06-01' ORDER BY 1"
    ).fetchall()
    assert statuses == [(1, "superseded"), (2, "active")]


def test_truncated_file_fails_and_changes_nothing(data_dir, warehouse):
    write_delivery(data_dir.landing, "imilo", "2016-03")
    load(warehouse, data_dir.landing, "imilo", "2016-03", "events")
    before = snapshot(warehouse)
    folder = write_delivery(data_dir.landing, "imilo", "2016-03", version=2, count=9)
    path = folder / table("imilo", "events").file_name("2016-03")
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(FileRejected, match=rf"{path.name}: truncated or altered"):
        load(warehouse, data_dir.landing, "imilo", "2016-03", "events")
    assert snapshot(warehouse) == before


def test_missing_file_is_named(data_dir, warehouse):
    folder = write_delivery(data_dir.landing, "imilo", "2016-03")
    (folder / table("imilo", "situations").file_name("2016-03")).unlink()
    with pytest.raises(FileRejected, match=r"imilo_situations_2016-03.csv: file listed in the manifest is missing"):
        load(warehouse, data_dir.landing, "imilo", "2016-03", "situations")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda h: [c if c != "statut" else "status" for c in h], r"column 8 is named 'status' where .* 'statut'"),
        (lambda h: [c for c in h if c != "modalite"], r"column 'modalite' is missing"),
        (lambda h: h + ["canal"], r"unexpected column 'canal'"),
        (lambda h: [h[1], h[0], *h[2:]], r"columns are reordered: column 1 is 'id_evenement'"),
    ],
    ids=["renamed", "missing", "extra", "reordered"],
)
def test_header_must_match_the_contract(data_dir, warehouse, mutate, message):
    t = table("imilo", "events")
    header = mutate(t.header)
    rows = [r[: len(header)] + [""] * (len(header) - len(t.header)) for r in rows_for("imilo", "events", "2016-03", 3)]
    write_delivery(data_dir.landing, "imilo", "2016-03", raw_bytes={"events": render("imilo", rows, header)})
    before = snapshot(warehouse)
    with pytest.raises(FileRejected, match=r"imilo_evenements_2016-03.csv: line 1 \(header\): " + message):
        load(warehouse, data_dir.landing, "imilo", "2016-03", "events")
    assert snapshot(warehouse) == before


def test_malformed_lines_are_quarantined_with_their_line_numbers(data_dir, warehouse):
    t = table("parcours3", "events")
    rows = rows_for("parcours3", "events", "2014-06", 200)
    rows[9] = rows[9][:-2]  # line 11: a field short
    rows[10] = rows[10] + ["x"]  # line 12: a field too many
    rows[49][5] = "9"  # line 51: TYPE_EVT outside the code list
    rows[99][4] = "31/02/2014"  # line 101: impossible date
    # line 151: a quote left open, which must not swallow the lines after it
    rows[149] = ";".join(rows[149]).replace("13055S00", '"13055S00')
    write_delivery(data_dir.landing, "parcours3", "2014-06", raw_bytes={"events": render("parcours3", rows, t.header)})
    result = load(warehouse, data_dir.landing, "parcours3", "2014-06", "events", max_reject_rate=0.05)
    assert result.rows_in_file == 200
    assert result.rows_rejected == 5
    assert result.rows_loaded + result.rows_rejected == result.rows_in_file
    quarantined = warehouse.execute(
        "SELECT line, column_name, raw_value FROM audit.quarantine ORDER BY line"
    ).fetchall()
    assert [q[0] for q in quarantined] == [11, 12, 51, 101, 151]
    assert quarantined[2][1:] == ("TYPE_EVT", "9")
    assert quarantined[3][1:] == ("DATE_EVT", "31/02/2014")
    loaded_lines = [r[0] for r in warehouse.execute("SELECT _source_line FROM raw.parcours3__events").fetchall()]
    assert sorted(loaded_lines) == [n for n in range(2, 202) if n not in (11, 12, 51, 101, 151)]
    # every loaded row sits on the line it claims: NUM_EVENEMENT grows with the line
    pairs = warehouse.execute("SELECT _source_line, num_evenement FROM raw.parcours3__events").fetchall()
    assert all(int(event) == 5001 + line - 2 for line, event in pairs)


def test_too_many_rejects_fail_the_whole_file(data_dir, warehouse):
    rows = rows_for("imilo", "situations", "2016-03", 20)
    for row in rows[:3]:
        row[4] = "Chômage"
    write_delivery(
        data_dir.landing,
        "imilo",
        "2016-03",
        raw_bytes={"situations": render("imilo", rows, table("imilo", "situations").header)},
    )
    before = snapshot(warehouse)
    with pytest.raises(FileRejected, match=r"3 of 20 lines rejected \(15.00%\)"):
        load(warehouse, data_dir.landing, "imilo", "2016-03", "situations")
    assert snapshot(warehouse) == before


def test_windows_1252_accents_are_exact(data_dir, warehouse):
    write_delivery(data_dir.landing, "parcours3", "2014-06")
    load(warehouse, data_dir.landing, "parcours3", "2014-06", "events")
    # Free text is dropped, so the accents are checked where they survive: a quarantined code value.
    rows = rows_for("parcours3", "situations", "2014-06", 200)
    rows[0][5] = "CŒUR€"
    write_delivery(
        data_dir.landing,
        "parcours3",
        "2014-06",
        version=2,
        raw_bytes={"situations": render("parcours3", rows, table("parcours3", "situations").header)},
    )
    load(warehouse, data_dir.landing, "parcours3", "2014-06", "situations")
    value = warehouse.execute("SELECT raw_value FROM audit.quarantine").fetchall()[0][0]
    assert value == "CŒUR€"


def test_utf8_file_where_windows_1252_is_declared_is_refused(data_dir, warehouse):
    t = table("parcours3", "young_people")
    content = render("imilo", rows_for("parcours3", "young_people", "2014-06", 3), t.header).replace(b",", b";")
    write_delivery(data_dir.landing, "parcours3", "2014-06", raw_bytes={"young_people": content})
    with pytest.raises(FileRejected, match=r"P3_JEUNES_201406.csv: the file is UTF-8 but the contract declares cp1252"):
        load(warehouse, data_dir.landing, "parcours3", "2014-06", "young_people")


def test_windows_1252_file_where_utf8_is_declared_is_refused(data_dir, warehouse):
    t = table("imilo", "young_people")
    content = render("imilo", rows_for("imilo", "young_people", "2016-03", 3), t.header).decode().encode("cp1252")
    write_delivery(data_dir.landing, "imilo", "2016-03", raw_bytes={"young_people": content})
    with pytest.raises(FileRejected, match=r"imilo_jeunes_2016-03.csv: line 2: byte 0x9c is not valid utf-8"):
        load(warehouse, data_dir.landing, "imilo", "2016-03", "young_people")


def test_month_inside_the_file_must_match_its_folder(data_dir, warehouse):
    rows = rows_for("imilo", "events", "2016-03", 4)
    rows[2] = valid_row("imilo", "events", "2016-02", id_evenement="EV00000999")
    write_delivery(
        data_dir.landing,
        "imilo",
        "2016-03",
        raw_bytes={"events": render("imilo", rows, table("imilo", "events").header)},
    )
    with pytest.raises(FileRejected, match=r"line 4: mois_extraction is '2016-02' but the delivery folder is 2016-03"):
        load(warehouse, data_dir.landing, "imilo", "2016-03", "events")


def test_empty_file_is_refused(data_dir, warehouse):
    write_delivery(data_dir.landing, "imilo", "2016-03", raw_bytes={"events": b""})
    with pytest.raises(FileRejected, match=r"imilo_evenements_2016-03.csv: empty file"):
        load(warehouse, data_dir.landing, "imilo", "2016-03", "events")


def test_header_only_file_loads_zero_rows(data_dir, warehouse):
    write_delivery(data_dir.landing, "imilo", "2016-03", rows={"events": []}, count=0)
    result = load(warehouse, data_dir.landing, "imilo", "2016-03", "events")
    assert (result.rows_in_file, result.rows_loaded) == (0, 0)


def test_exception_after_the_delete_rolls_everything_back(data_dir, warehouse):
    write_delivery(data_dir.landing, "imilo", "2016-03", count=5)
    load(warehouse, data_dir.landing, "imilo", "2016-03", "events")
    write_delivery(data_dir.landing, "imilo", "2016-03", version=2, count=8)
    before = snapshot(warehouse)

    def explode(stage):
        if stage == "after_delete":
            raise RuntimeError("injected fault")

    with pytest.raises(RuntimeError, match="injected fault"):
        load(warehouse, data_dir.landing, "imilo", "2016-03", "events", fault_hook=explode)
    assert snapshot(warehouse) == before


def test_months_without_delivery_by_design_and_missing_deliveries(data_dir, warehouse):
    nothing = ingest_month(warehouse, data_dir.landing, "imilo", "events", "2014-06")
    assert isinstance(nothing, NoDeliveryExpected)
    after = ingest_month(warehouse, data_dir.landing, "parcours3", "events", "2016-01")
    assert isinstance(after, NoDeliveryExpected)
    with pytest.raises(MissingDeliveryError, match=r"no I-Milo delivery for 2016-03: expected .*imilo/2016-03/v<N>"):
        ingest_month(warehouse, data_dir.landing, "imilo", "events", "2016-03")


def test_real_delivery_without_key_refuses_to_load(data_dir, warehouse):
    write_delivery(data_dir.landing, "imilo", "2016-03", synthetic=False)
    with pytest.raises(MissingKeyError, match="MILO_PSEUDO_KEY is not set"):
        ingest_month(warehouse, data_dir.landing, "imilo", "events", "2016-03")
    assert warehouse.execute("SELECT count(*) FROM audit.ingest_ledger").fetchall()[0][0] == 0


def test_no_direct_identifier_or_birth_date_reaches_the_warehouse(data_dir, warehouse):
    for system, month in (("parcours3", "2014-06"), ("imilo", "2016-03")):
        write_delivery(data_dir.landing, system, month)
        for entity in ("young_people", "events", "scheme_enrolments", "situations"):
            ingest_month(warehouse, data_dir.landing, system, entity, month)
    forbidden = [*FACTORY_SECRETS, "Lœtitia", "A1B2C3D4E5", "permis"]
    columns = warehouse.execute(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns "
        "WHERE table_schema IN ('raw', 'audit')"
    ).fetchall()
    for schema, name, column in columns:
        values = warehouse.execute(f'SELECT DISTINCT CAST("{column}" AS VARCHAR) FROM "{schema}"."{name}"').fetchall()
        for (value,) in values:
            for secret in forbidden:
                assert secret not in (value or ""), f"{secret!r} found in {schema}.{name}.{column}"
    birth = warehouse.execute("SELECT DISTINCT mois_naissance FROM raw.imilo__young_people").fetchall()
    assert [str(b[0]) for b in birth] == ["1997-03-01"]


def test_legacy_p3_identifier_links_to_the_p3_pseudonym(data_dir, warehouse):
    write_delivery(data_dir.landing, "parcours3", "2015-01")
    write_delivery(data_dir.landing, "imilo", "2015-03")
    ingest_month(warehouse, data_dir.landing, "parcours3", "young_people", "2015-01")
    ingest_month(warehouse, data_dir.landing, "imilo", "young_people", "2015-03")
    linked = warehouse.execute(
        """
        SELECT count(*) FROM raw.imilo__young_people AS i
        JOIN raw.parcours3__young_people AS p ON i.id_dossier_p3_pseudo = p.num_dossier_pseudo
        """
    ).fetchall()[0][0]
    assert linked == 5  # each migrated dossier (legacy number 1001) meets P3 dossier 1001
    assert KEY.pseudonym("parcours3", "1001") in {
        r[0] for r in warehouse.execute("SELECT num_dossier_pseudo FROM raw.parcours3__young_people").fetchall()
    }


def test_deliveries_are_found_in_version_order(data_dir):
    write_delivery(data_dir.landing, "imilo", "2016-03", version=2)
    write_delivery(data_dir.landing, "imilo", "2016-03", version=10)
    (data_dir.landing / "imilo" / "2016-03" / "v11").mkdir()  # still being copied: no manifest
    found = find_deliveries(data_dir.landing)
    assert [(d.month, d.version) for d in found] == [("2016-03", 2), ("2016-03", 10)]
    assert isinstance(found[0], Delivery)


@pytest.mark.parametrize("every", [997, 97], ids=["few-rejects-inline-steps", "many-rejects-as-of-join"])
def test_line_numbers_survive_many_broken_lines(data_dir, warehouse, every):
    rows = rows_for("imilo", "events", "2016-03", 10000)
    broken = {}
    for i in range(5, 10000, every):
        line = i + 2
        kind = (i // every) % 3
        if kind == 0:
            rows[i] = rows[i][:-3]  # fields missing
            broken[line] = "MISSING COLUMNS"
        elif kind == 1:
            rows[i] = ",".join(rows[i]).replace("13055S00", '"13055S00')  # quote left open
            broken[line] = "UNQUOTED VALUE"
        else:
            rows[i][5] = "ENTRETIEN_COLLECTIF"  # code outside the list
            broken[line] = "code not in list imilo_type_evenement"
    write_file(data_dir.landing, "imilo", "2016-03", "events", rows)
    result = load(warehouse, data_dir.landing, "imilo", "2016-03", "events", max_reject_rate=0.05)
    assert result.rows_rejected == len(broken) and result.rows_loaded == 10000 - len(broken)
    quarantined = dict(warehouse.execute("SELECT line, reason FROM audit.quarantine").fetchall())
    assert quarantined.keys() == broken.keys()
    assert all(quarantined[line].startswith(kind) for line, kind in broken.items())
    pairs = warehouse.execute("SELECT _source_line, id_evenement FROM raw.imilo__events").fetchall()
    assert all(event == f"EV0000{line - 2:04d}" for line, event in pairs)
    assert {line for line, _ in pairs} == set(range(2, 10002)) - broken.keys()


def test_a_range_loads_in_order_and_stops_at_a_refused_file_leaving_no_working_copy(data_dir, warehouse):
    """ingest_months prepares the next month's file in the background: the months before a refused file
    are loaded, the refused one and those after it are not, and no decoded copy (plain text) stays behind,
    not even the one of the month prepared ahead when the refusal came."""
    from orchestration.lib.ingest.months import ingest_months

    months = ["2014-04", "2014-05", "2014-06", "2014-07"]  # Parcours 3: Windows-1252, decoded copies
    for month in months:
        write_delivery(data_dir.landing, "parcours3", month, count=6)
    events = table("parcours3", "events")
    may = data_dir.landing / "parcours3" / "2014-05" / "v1" / events.file_name("2014-05")
    # June's events file holds May's lines: intact, so it is refused while loading (month check), by which
    # time July's file is being prepared
    write_delivery(data_dir.landing, "parcours3", "2014-06", version=2, raw_bytes={"events": may.read_bytes()})
    loaded = []
    with pytest.raises(FileRejected, match=r"delivery folder is 2014-06"):
        for result in ingest_months(warehouse, data_dir.landing, "parcours3", "events", months):
            loaded.append(result.month)
    assert loaded == ["2014-04", "2014-05"]
    in_raw = warehouse.execute(
        "SELECT DISTINCT strftime(_delivery_month, '%Y-%m') FROM raw.parcours3__events ORDER BY 1"
    ).fetchall()
    assert [m for (m,) in in_raw] == ["2014-04", "2014-05"]
    assert list(data_dir.data_dir.glob(".milo-load-*")) == []
