"""Hand-made deliveries for loader tests: valid rows by default, any field overridable, any line breakable.

The generator produces realistic data; these produce exactly the row a test needs to reason about.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from orchestration.lib.contract import SYSTEMS, Kind, Role, table
from orchestration.lib.delivery import write_manifest

# One valid value per column of each table, in the file's own formats (dates written per system).
_VALID = {
    "parcours3": {
        "NUM_DOSSIER": "1001",
        "CODE_ML": "13055S00",
        "NOM": "Lœtitia-Müller",
        "PRENOM": "Cœur",
        "TEL": "0611223344",
        "MEL": "coeur.muller@exemple.fr",
        "DATE_NAISSANCE": "1997-03-14",
        "SEXE": "2",
        "NIVEAU": "V",
        "DIPLOME": "N",
        "DEP_RESIDENCE": "13",
        "ZUS": "O",
        "ZRR": "N",
        "DATE_PREMIER_ACCUEIL": "2013-09-02",
        "DATE_MAJ": "{month}-10",
        "NUM_EVENEMENT": "5001",
        "DATE_EVT": "{month}-10",
        "TYPE_EVT": "1",
        "MODE_CONTACT": "1",
        "COMMENTAIRE": "Aide de 50 € pour le permis, suivi œuvre sociale",
        "NUM_INSCRIPTION": "7001",
        "CODE_DISPOSITIF": "30",
        "DATE_ENTREE": "{month}-03",
        "DATE_FIN_PREVUE": "2015-12-31",
        "DATE_FIN_REELLE": "",
        "MOTIF_SORTIE": "",
        "RENOUVELLEMENT": "N",
        "NUM_SITUATION": "9001",
        "CODE_SITUATION": "1",
        "TYPE_CONTRAT": "CDD",
        "DATE_DEBUT": "{month}-05",
        "DATE_FIN": "",
    },
    "imilo": {
        "id_jeune": "A1B2C3D4E5",
        "id_dossier_p3": "1001",
        "code_structure": "13055S00",
        "nom": "Lœtitia-Müller",
        "prenom": "Cœur",
        "email": "coeur.muller@exemple.fr",
        "telephone": "0611223344",
        "nir": "297031305512345",
        "date_naissance": "1997-03-14",
        "sexe": "F",
        "niveau_formation": "NV5",
        "diplome_obtenu": "N",
        "departement_residence": "13",
        "qpv": "O",
        "zrr": "N",
        "date_premier_accueil": "2013-09-02",
        "date_maj": "{month}-10",
        "id_evenement": "EV00000001",
        "date_evenement": "{month}-10",
        "type_evenement": "ENTRETIEN_INDIVIDUEL",
        "modalite": "PHYSIQUE",
        "statut": "Présent",
        "commentaire": "Aide de 50 € pour le permis, suivi œuvre sociale",
        "id_dispositif": "DI00000001",
        "code_dispositif": "GJ",
        "id_dispositif_parent": "",
        "date_entree": "{month}-03",
        "date_fin_prevue": "2016-12-31",
        "date_fin_reelle": "",
        "motif_sortie": "",
        "renouvellement": "N",
        "id_situation": "SI00000001",
        "categorie": "Emploi",
        "sous_type": "CDD",
        "etat": "EN_COURS",
        "date_debut": "{month}-05",
        "date_fin": "",
    },
}

# The direct identifiers and the birth date the factory writes into every young-people file (below): none
# may ever reach the warehouse, a log or an error message.
FACTORY_SECRETS = [
    "Lœtitia-Müller",
    "Cœur",
    "0611223344",
    "coeur.muller@exemple.fr",
    "297031305512345",
    "1997-03-14",
    "14/03/1997",
]


def valid_row(system: str, entity: str, month: str, **overrides: str) -> list[str]:
    spec = SYSTEMS[system]
    row = []
    for column in table(system, entity).columns:
        if column.role is Role.DELIVERY_MONTH:
            value = spec.format_month(month)
        else:
            value = _VALID[system][column.name].format(month=month)
            if column.kind is Kind.DATE and value:
                y, m, d = value.split("-")
                value = spec.date_format.replace("%Y", y).replace("%m", m).replace("%d", d)
        row.append(overrides.get(column.name, value))
    return row


def rows_for(system: str, entity: str, month: str, count: int) -> list[list[str]]:
    """`count` valid rows with distinct identifiers."""
    t = table(system, entity)
    id_columns = [c.name for c in t.columns if c.role in (Role.PERSON_ID, Role.LEGACY_PERSON_ID, Role.RECORD_ID)]
    rows = []
    for i in range(count):
        overrides = {}
        for name in id_columns:
            base = _VALID[system][name]
            overrides[name] = str(int(base) + i) if base.isdigit() else f"{base[:-4]}{i:04d}"
        rows.append(valid_row(system, entity, month, **overrides))
    return rows


def render(system: str, rows: list[list[str]], header: list[str]) -> bytes:
    """CSV as the contract asks: the system's delimiter, quotes only where needed, CRLF line ends.
    A row given as a str is written verbatim (to break a line on purpose)."""
    spec = SYSTEMS[system]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=spec.delimiter, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        if isinstance(row, str):
            buffer.write(row + "\r\n")
        else:
            writer.writerow(row)
    return buffer.getvalue().encode(spec.encoding)


def write_delivery(
    landing: Path,
    system: str,
    month: str,
    version: int = 1,
    rows: dict[str, list[list[str]]] | None = None,
    raw_bytes: dict[str, bytes] | None = None,
    synthetic: bool = True,
    count: int = 5,
) -> Path:
    """A complete delivery folder with a correct manifest; `raw_bytes` replaces a file's content verbatim."""
    folder = landing / system / month / f"v{version}"
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for entity, t in SYSTEMS[system].tables.items():
        path = folder / t.file_name(month)
        if raw_bytes and entity in raw_bytes:
            path.write_bytes(raw_bytes[entity])
        else:
            entity_rows = (rows or {}).get(entity) or rows_for(system, entity, month, count)
            path.write_bytes(render(system, entity_rows, t.header))
        files[entity] = path
    write_manifest(folder, system, month, version, files, synthetic=synthetic, producer="tests")
    return folder
