"""The contract as data: coherent with itself, with its document, with the dbt sources and with the seeds."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from orchestration.lib import contract_doc, dbt_sources
from orchestration.lib.contract import CODE_LISTS, SYSTEMS, Kind, Role, all_tables

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
# column code list -> (mapping seed) that must cover every code of the list
MAPPED = {
    "p3_type_evt": "map_event_types",
    "imilo_type_evenement": "map_event_types",
    "p3_mode_contact": "map_channels",
    "imilo_modalite": "map_channels",
    "imilo_statut_evenement": "map_attendance",
    "p3_dispositif": "map_schemes",
    "imilo_dispositif": "map_schemes",
    "p3_motif_sortie": "map_exit_reasons",
    "imilo_motif_sortie": "map_exit_reasons",
    "p3_situation": "map_situations",
    "imilo_categorie": "map_situations",
    "p3_type_contrat": "map_contract_types",
    "imilo_sous_type": "map_contract_types",
    "p3_sexe": "map_sex",
    "imilo_sexe": "map_sex",
    "p3_niveau": "map_education_levels",
    "imilo_niveau": "map_education_levels",
}


def test_every_table_has_the_same_four_entities_and_a_delivery_month_first():
    for system in SYSTEMS.values():
        assert list(system.tables) == ["young_people", "events", "scheme_enrolments", "situations"]
        for table in system.tables.values():
            assert table.columns[0].role is Role.DELIVERY_MONTH
            assert table.key in table.header
            assert len(set(table.header)) == len(table.header)


def test_code_columns_name_an_existing_list():
    for table in all_tables():
        for column in table.columns:
            if column.kind in (Kind.CODE, Kind.FLAG):
                assert column.codes in CODE_LISTS, (table.raw_table, column.name)


def test_patterns_compile_and_accept_real_codes():
    ml = next(c for c in SYSTEMS["imilo"].tables["events"].columns if c.name == "code_structure").pattern
    codes = [row["code_ml"] for row in csv.DictReader((SEEDS / "ref_missions_locales.csv").open(encoding="utf-8"))]
    assert all(re.fullmatch(ml, code) for code in codes)


def test_every_delivered_code_has_a_mapping():
    for list_name, seed in MAPPED.items():
        system = "parcours3" if list_name.startswith("p3_") else "imilo"
        with (SEEDS / f"{seed}.csv").open(encoding="utf-8") as handle:
            mapped = {row["source_code"] for row in csv.DictReader(handle) if row["source_system"] == system}
        missing = set(CODE_LISTS[list_name]) - mapped
        assert not missing, f"{seed}.csv lacks {system} codes {sorted(missing)} of {list_name}"


def test_document_and_dbt_sources_are_generated_from_the_contract():
    assert contract_doc.is_current(), "run `milo contract-doc`"
    assert dbt_sources.SOURCES_PATH.read_text(encoding="utf-8") == dbt_sources.render(), "run `milo dbt-sources`"
    document = contract_doc.DOC_PATH.read_text(encoding="utf-8")
    for table in all_tables():
        for column in table.columns:
            assert f"`{column.name}`" in document
