"""The walking skeleton end to end: files on disk -> Dagster raw assets -> dbt models -> mart, on a
temporary MILO_DATA_DIR, through real Dagster materialisations and the real dbt CLI."""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster_dbt import DbtCliResource
from factories import write_delivery

from orchestration.defs.dbt_project import dbt_project
from orchestration.defs.ingest import raw_assets
from orchestration.defs.resources import WarehouseResource
from orchestration.defs.transform import dbt_models
from orchestration.lib.warehouse import open_warehouse

pytestmark = pytest.mark.e2e


def resources():
    return {
        "warehouse": WarehouseResource(lock_wait_seconds=10),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=str(Path(sys.executable).parent / "dbt")),
    }


def raw_counts(path) -> dict[str, int]:
    with open_warehouse(path, read_only=True) as con:
        names = [
            r[0]
            for r in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema='raw'").fetchall()
        ]
        return {n: con.execute(f"SELECT count(*) FROM raw.{n}").fetchall()[0][0] for n in sorted(names)}


def test_file_to_mart(data_dir):
    write_delivery(data_dir.landing, "parcours3", "2015-02", count=6)
    write_delivery(data_dir.landing, "imilo", "2015-02", count=4)
    instance = dg.DagsterInstance.ephemeral()

    first = dg.materialize(raw_assets, partition_key="2015-02-01", resources=resources(), instance=instance)
    assert first.success
    counts = raw_counts(data_dir.warehouse)
    assert counts["parcours3__events"] == 6 and counts["imilo__events"] == 4
    checks = first.get_asset_check_evaluations()
    assert len(checks) == 16 and all(c.passed for c in checks)

    # The same month again: same rows, one ledger row per file.
    again = dg.materialize(raw_assets, partition_key="2015-02-01", resources=resources(), instance=instance)
    assert again.success
    assert raw_counts(data_dir.warehouse) == counts
    with open_warehouse(data_dir.warehouse, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM audit.ingest_ledger").fetchall()[0][0] == 8

    built = dg.materialize([dbt_models], resources=resources(), instance=instance)
    assert built.success
    evaluations = built.get_asset_check_evaluations()
    assert evaluations, "dbt tests should surface as asset checks"
    assert all(e.passed for e in evaluations), [e.check_name for e in evaluations if not e.passed]
    with open_warehouse(data_dir.warehouse, read_only=True) as con:
        # 6 P3 dossiers, 4 of them migrated to I-Milo the same month: 6 people, not 10
        people = con.execute("SELECT count(*) FROM harmonised.persons").fetchall()[0][0]
        # every event took place on 2015-02-10: 6 P3 interviews + 4 I-Milo interviews of migrated people
        national = con.execute(
            "SELECT young_people_in_contact, individual_interviews FROM marts.monthly_activity "
            "WHERE geo_level = 'national' AND month = DATE '2015-02-01'"
        ).fetchall()
        gj = con.execute("SELECT count(*), count(DISTINCT person_id) FROM marts.fct_gj_spells").fetchall()
    assert people == 6
    assert national == [(6, 10)]
    # each P3 GJ enrolment entered on 2015-02-03 and its I-Milo copy are one entry; the 5th and 6th are P3 only
    assert gj == [(6, 6)]


def test_month_without_delivery_by_design_materialises_empty(data_dir):
    result = dg.materialize(
        raw_assets[:1], partition_key="2019-05-01", resources=resources(), instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    materialization = result.asset_materializations_for_node(raw_assets[0].op.name)[0]
    assert materialization.metadata["delivery"].value == "no delivery expected"


def test_missing_expected_delivery_fails_naming_it(data_dir):
    with pytest.raises(Exception, match=r"no I-Milo delivery for 2019-05"):
        dg.materialize(
            raw_assets[1:], partition_key="2019-05-01", resources=resources(), instance=dg.DagsterInstance.ephemeral()
        )
