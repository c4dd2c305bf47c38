"""The warehouse against the generator's ground truth: no person or spell lost or counted twice across the
2015 switch-over. A fault-free delivery set, so that every difference would be the pipeline's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from orchestration.lib.pseudonymise import DEMO_KEY, PseudoKey
from orchestration.lib.synth import Faults, SynthConfig, generate
from orchestration.lib.warehouse import open_warehouse

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    data = tmp_path_factory.mktemp("truth") / "data"
    env = os.environ | {"MILO_DATA_DIR": str(data), "DAGSTER_HOME": str(data / "dagster")}
    env.pop("MILO_PSEUDO_KEY", None)
    generate(
        SynthConfig(out=data / "landing", start="2014-09", end="2015-12", scale=0.01, seed=7, faults=Faults.none())
    )
    subprocess.run([BIN / "milo", "materialize"], env=env, check=True, capture_output=True)
    return data


def test_every_person_counted_once_across_systems(built):
    truth = pl.read_parquet(built / "synthetic_truth" / "persons.parquet").filter(pl.col("has_delivered_record"))
    key = PseudoKey(DEMO_KEY, is_demo=True)
    expected = {
        key.pseudonym("parcours3", p3) if p3 is not None else key.pseudonym("imilo", imilo)
        for p3, imilo in truth.select("num_dossier_p3", "id_jeune").iter_rows()
    }
    with open_warehouse(built / "warehouse.duckdb", read_only=True) as con:
        found = {r[0] for r in con.execute("SELECT person_key FROM harmonised.persons").fetchall()}
        migrated = con.execute("SELECT count(*) FROM harmonised.persons WHERE migrated_from_parcours3").fetchall()[0][0]
    assert found == expected
    assert migrated > 0, "the window spans the switch-over: some dossiers must have migrated"


def test_every_spell_counted_once_across_systems(built):
    spells = pl.read_parquet(built / "synthetic_truth" / "spells.parquet").with_columns(
        pl.col("scheme").str.replace(r"^CIVIS_.*", "CIVIS")
    )
    expected = dict(spells.group_by("scheme").len().iter_rows())
    crossing = spells.filter(pl.col("crosses_switch_over") & (pl.col("scheme") == "GJ")).height
    with open_warehouse(built / "warehouse.duckdb", read_only=True) as con:
        found = dict(con.execute("SELECT scheme, count(*) FROM harmonised.scheme_spells GROUP BY 1").fetchall())
        found_crossing = con.execute(
            "SELECT count(*) FROM harmonised.scheme_spells WHERE scheme = 'GJ' AND crosses_switch_over"
        ).fetchall()[0][0]
    assert found == expected
    assert found_crossing == crossing > 0


def test_reconciliation_accounts_for_every_raw_row(built):
    with open_warehouse(built / "warehouse.duckdb", read_only=True) as con:
        unexplained = con.execute("SELECT sum(abs(unexplained_rows)) FROM harmonised.reconciliation").fetchall()[0][0]
        raw = con.execute("SELECT sum(raw_rows) FROM harmonised.reconciliation").fetchall()[0][0]
        ledger = con.execute("SELECT sum(rows_loaded) FROM audit.ingest_ledger WHERE status = 'active'").fetchall()
    assert unexplained == 0
    assert raw == ledger[0][0] > 0


def test_every_column_of_every_model_seed_and_source_is_described(built):
    """What the dbt docs site and the Dagster catalog show: no column without a description."""
    manifest = json.loads(
        (Path(__file__).resolve().parents[1] / "dbt_project" / "target" / "manifest.json").read_text()
    )
    relations = [n for n in manifest["nodes"].values() if n["resource_type"] in ("model", "seed")]
    relations += list(manifest["sources"].values())
    missing = []
    with open_warehouse(built / "warehouse.duckdb", read_only=True) as con:
        for node in relations:
            name = node.get("alias") or node["name"]
            if node["resource_type"] != "source" and not node.get("description"):
                missing.append(f"{name} (the model itself)")
            columns = con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = $s AND table_name = $t",
                {"s": node["schema"], "t": name},
            ).fetchall()
            assert columns, f"{node['schema']}.{name} is not in the warehouse"
            missing += [f"{name}.{c}" for (c,) in columns if not (node["columns"].get(c) or {}).get("description")]
    assert missing == []
