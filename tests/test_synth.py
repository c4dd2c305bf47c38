"""The synthetic generator: determinism, the raw-file contract, the switch-over, GJ territories, the planted
faults and the calibration on published figures. Small scales and short spans keep it under a minute."""

from __future__ import annotations

import csv
import re
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from orchestration.lib.contract import CODE_LISTS, ENTITIES, SYSTEMS, Kind
from orchestration.lib.delivery import count_data_lines, file_sha256, find_deliveries
from orchestration.lib.synth import Faults, SynthConfig, generate
from orchestration.lib.synth.calibration import calibration_report, format_report
from orchestration.lib.synth.targets import GJ_WAVE1

SPAN = ("2014-10", "2015-09")  # across the P3 -> I-Milo switch-over
SCALE = 0.01


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth")
    generate(SynthConfig(out=root / "landing", start=SPAN[0], end=SPAN[1], scale=SCALE, seed=7))
    return root


@pytest.fixture(scope="module")
def faults(run) -> pl.DataFrame:
    return pl.read_csv(run / "synthetic_truth" / "faults.csv")


@pytest.fixture(scope="module")
def skips(faults) -> dict[str, set[int]]:
    """Planted fault lines per file (relative path), to leave out when reading values."""
    out: dict[str, set[int]] = {}
    for r in faults.filter(pl.col("kind") != "missing_in_v1").iter_rows(named=True):
        out.setdefault(r["file"], set()).add(r["line"])
    return out


def _table(run: Path, d, entity: str, skips: dict[str, set[int]]) -> pl.DataFrame:
    path = d.folder / d.files()[entity].name
    return _read(path, d.system, skips.get(path.relative_to(run / "landing").as_posix(), set()))


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _read(path: Path, system: str, skip: set[int]) -> pl.DataFrame:
    """A delivered file as text columns, without the planted fault lines (1-based line numbers)."""
    sysdef = SYSTEMS[system]
    text = path.read_bytes().decode(sysdef.encoding)
    lines = text.split("\r\n")
    kept = [line for i, line in enumerate(lines, start=1) if i not in skip]
    return pl.read_csv("\n".join(kept).encode(), separator=sysdef.delimiter, infer_schema=False)


def test_same_seed_same_bytes(tmp_path, run):
    generate(SynthConfig(out=tmp_path / "landing", start=SPAN[0], end=SPAN[1], scale=SCALE, seed=7))
    first = _files(run)
    again = _files(tmp_path)
    assert first.keys() == again.keys()
    assert [k for k in first if first[k] != again[k]] == []


def test_manifests_match_their_files(run):
    deliveries = find_deliveries(run / "landing")
    assert {d.system for d in deliveries} == {"parcours3", "imilo"}
    for d in deliveries:
        files = d.files()
        assert set(files) == set(ENTITIES)
        assert d.is_synthetic
        for entity, f in files.items():
            path = d.folder / f.name
            assert f.name == SYSTEMS[d.system].tables[entity].file_name(d.month)
            assert f.rows == count_data_lines(path)
            assert f.bytes == path.stat().st_size
            assert f.sha256 == file_sha256(path)


def test_encodings_and_headers(run):
    p3_text = ""
    for d in find_deliveries(run / "landing"):
        for entity, f in d.files().items():
            raw = (d.folder / f.name).read_bytes()
            text = raw.decode(SYSTEMS[d.system].encoding)
            header = text.split("\n", 1)[0].rstrip("\r").split(SYSTEMS[d.system].delimiter)
            assert header == SYSTEMS[d.system].tables[entity].header
            if d.system == "parcours3":
                p3_text += text
            else:
                raw.decode("utf-8")
    assert "œ" in p3_text and "€" in p3_text and "é" in p3_text
    with pytest.raises(UnicodeDecodeError):  # cp1252 bytes of œ/€ are not UTF-8: a wrong decoding shows
        p3_text.encode("cp1252").decode("utf-8")


def test_each_ml_in_one_system_per_month(run, skips):
    systems_by_month: dict[str, dict[str, set[str]]] = {}
    for d in find_deliveries(run / "landing"):
        ml_col = SYSTEMS[d.system].tables["young_people"].header[2 if d.system == "parcours3" else 3]
        df = _table(run, d, "young_people", skips)
        systems_by_month.setdefault(d.month, {}).setdefault(d.system, set()).update(df[ml_col].drop_nulls())
    both_2015 = [m for m, s in systems_by_month.items() if m.startswith("2015") and len(s) == 2]
    assert both_2015, "in 2015 both systems deliver, for different MLs"
    for month, by_system in systems_by_month.items():
        if len(by_system) == 2:
            assert by_system["parcours3"].isdisjoint(by_system["imilo"]), month


def _check_value(column, values: pl.Series, sysdef, month_text: str) -> list[str]:
    problems = []
    present = values.drop_nulls()
    if column.required and present.len() != values.len():
        problems.append("missing required value")
    if column.kind is Kind.MONTH:
        if (present != month_text).any():
            problems.append("month differs from the folder")
    elif column.kind is Kind.DATE:
        for v in present.unique().to_list():
            datetime.strptime(v, sysdef.date_format)
    elif column.codes:
        bad = set(present.unique().to_list()) - set(CODE_LISTS[column.codes])
        if bad:
            problems.append(f"codes {sorted(bad)[:5]}")
    if column.pattern:
        bad = present.filter(~present.str.contains(column.pattern))
        if bad.len():
            problems.append(f"pattern {bad.head(3).to_list()}")
    return problems


def test_every_value_satisfies_the_contract(run, skips):
    problems = []
    for d in find_deliveries(run / "landing"):
        sysdef = SYSTEMS[d.system]
        for entity, f in d.files().items():
            rel = (d.folder / f.name).relative_to(run / "landing").as_posix()
            df = _read(d.folder / f.name, d.system, skips.get(rel, set()))
            assert df.columns == sysdef.tables[entity].header
            for column in sysdef.tables[entity].columns:
                for p in _check_value(column, df[column.name], sysdef, sysdef.format_month(d.month)):
                    problems.append(f"{rel} {column.name}: {p}")
    assert problems == []


def test_planted_faults_are_where_the_truth_says(run, faults):
    kinds = set(faults["kind"])
    assert {"duplicate_line", "corrected_in_v2", "missing_in_v1"} <= kinds
    for r in faults.iter_rows(named=True):
        path = run / "landing" / r["file"]
        system = r["file"].split("/")[0]
        sysdef = SYSTEMS[system]
        lines = path.read_bytes().decode(sysdef.encoding).split("\r\n")
        line = lines[r["line"] - 1]
        n_fields = len(sysdef.tables[_entity(r["file"])].header)
        if r["kind"] == "duplicate_line":
            assert line == lines[r["line"] - 2]
        elif r["kind"] == "unknown_code":
            assert "ENTRETIEN_COLLECTIF" in line or line.split(";")[5] == "7"
        elif r["kind"] == "malformed_unclosed_quote":
            assert r["line"] == len([x for x in lines if x])  # always the last line
        elif r["kind"].startswith("malformed"):
            assert len(next(csv.reader([line], delimiter=sysdef.delimiter))) != n_fields
    late = pl.read_csv(run / "synthetic_truth" / "late_records.csv")
    assert late.height and (late["delivery_month"] > late["record_month"]).all()
    # The re-delivered month: v2 is the whole corrected month and replaces v1.
    v2 = [d for d in find_deliveries(run / "landing") if d.version == 2]
    assert len(v2) == 1 and v2[0].system == "imilo"
    v1 = [d for d in find_deliveries(run / "landing", "imilo", v2[0].month) if d.version == 1][0]
    missing = faults.filter(pl.col("kind") == "missing_in_v1").height
    rows = lambda d: sum(f.rows for f in d.files().values())  # noqa: E731
    assert rows(v2[0]) == rows(v1) + missing


def _entity(rel: str) -> str:
    name = rel.rsplit("/", 1)[1]
    for system in SYSTEMS.values():
        for entity, table in system.tables.items():
            if name.startswith(table.file_prefix + "_"):
                return entity
    raise KeyError(rel)


def test_no_faults_means_clean_files(tmp_path):
    clean = Faults.none()
    generate(SynthConfig(tmp_path / "landing", "2015-05", "2015-06", scale=0.005, seed=3, faults=clean))
    assert pl.read_csv(tmp_path / "synthetic_truth" / "faults.csv").height == 0
    assert not list((tmp_path / "landing").rglob("v2"))


def test_switch_over_migrates_dossiers_and_spells(run, skips):
    truth = run / "synthetic_truth"
    switch = pl.read_csv(truth / "switch_over.csv")
    assert switch["switch_month"].is_between("2015-02", "2015-07").all()
    idf = switch.filter(pl.col("code_region_2016") == 11)
    assert idf.height and (idf["switch_month"] == "2015-07").all()
    persons = pl.read_parquet(truth / "persons.parquet")
    migrated = persons.filter(pl.col("migrated"))
    assert migrated.height and migrated["num_dossier_p3"].is_not_null().all()
    assert migrated["id_jeune"].str.contains(r"^[0-9A-Z]{10}$").all()
    spells = pl.read_parquet(truth / "spells.parquet")
    assert spells["crosses_switch_over"].any()
    # A migrated dossier is delivered in I-Milo in its ML's switch month, with its P3 number.
    for d in find_deliveries(run / "landing", "imilo"):
        df = _table(run, d, "young_people", skips)
        if df["id_dossier_p3"].is_not_null().any():
            break
    else:
        pytest.fail("no migrated dossier in the I-Milo files")


def test_gj_only_in_wave_one_before_2015(run, skips):
    path = run / "synthetic_truth" / "switch_over.csv"
    switch = pl.read_csv(path, schema_overrides={"code_departement": pl.String})
    dept = dict(zip(switch["code_ml"], switch["code_departement"], strict=True))
    seen = 0
    for d in find_deliveries(run / "landing", "parcours3"):
        df = _table(run, d, "scheme_enrolments", skips)
        gj = df.filter((pl.col("CODE_DISPOSITIF") == "30") & pl.col("DATE_ENTREE").str.ends_with("2014"))
        seen += gj.height
        assert set(gj["CODE_ML"].replace_strict(dept)) <= set(GJ_WAVE1)
    assert seen > 0


def test_calibration_at_small_scale(tmp_path):
    scale = 0.01
    generate(SynthConfig(out=tmp_path / "landing", start="2013-01", end="2014-12", scale=scale, seed=11))
    report = calibration_report(tmp_path / "synthetic_truth", scale)
    text = format_report(report)
    assert report.height >= 15, text
    assert report["within_tolerance"].all(), text
    yearly = pl.read_csv(tmp_path / "synthetic_truth" / "yearly_totals.csv")
    assert {"entries_GJ", "stock_CIVIS_R", "entries_with_renewals_GJ"} <= set(yearly.columns)


def test_gj_is_a_phase_of_a_pacea_from_2017(tmp_path):
    clean = Faults.none()
    generate(SynthConfig(tmp_path / "landing", "2017-09", "2017-10", scale=0.005, seed=5, faults=clean))
    frames = [
        _read(d.folder / d.files()["scheme_enrolments"].name, "imilo", set())
        for d in find_deliveries(tmp_path / "landing", "imilo")
    ]
    en = pl.concat(frames)
    gj = en.filter(
        (pl.col("code_dispositif") == "GJ")
        & (pl.col("date_entree") >= "2017-01-01")
        & (pl.col("renouvellement") == "N")
    )  # a renewal may continue a 2016 GJ
    assert gj.height and gj["id_dispositif_parent"].is_not_null().all()
    pacea_ids = set(en.filter(pl.col("code_dispositif") == "PACEA")["id_dispositif"])
    assert set(gj["id_dispositif_parent"]) & pacea_ids
    assert re.fullmatch(r"[0-9A-Z]{10}", gj["id_dispositif_parent"][0])
    spells = pl.read_parquet(tmp_path / "synthetic_truth" / "spells.parquet")
    gj_2017 = spells.filter((pl.col("scheme") == "GJ") & (pl.col("entry_date").dt.year() >= 2017))
    assert gj_2017.height and gj_2017["parent_spell_key"].is_not_null().all()
    assert spells.filter(pl.col("scheme") == "DIAG").height > 0
