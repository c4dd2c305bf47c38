"""The raw-file contract of the monthly deliveries, as data.

`docs/raw-formats.md` explains it in words; this module is what the loader validates against and what
the generator writes, so the two can never drift apart (a test checks the document lists every column).

A delivery is one folder ``landing/<system>/<YYYY-MM>/v<N>/`` holding the four table files of that system
and month and a ``manifest.json``. Version ``v1`` is the first delivery; a corrected re-delivery of the
same month is ``v2``, ``v3``... and replaces the earlier version entirely.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class Role(StrEnum):
    """What the loader does with a column."""

    DELIVERY_MONTH = "delivery_month"  # must equal the delivery folder's month; kept
    RECORD_ID = "record_id"  # identifier of the record itself (an event, an enrolment); kept
    PERSON_ID = "person_id"  # identifies a young person: HMAC-pseudonymised at the door
    LEGACY_PERSON_ID = "legacy_person_id"  # P3 dossier number carried by I-Milo: pseudonymised like P3's
    DIRECT_IDENTIFIER = "direct_identifier"  # names, e-mail, phone, NIR: dropped before any write
    FREE_TEXT = "free_text"  # counsellor notes: dropped before any write
    BIRTH_DATE = "birth_date"  # coarsened to the first day of its month
    ATTRIBUTE = "attribute"  # kept as delivered (after type and code-list checks)

    @property
    def reaches_warehouse(self) -> bool:
        return self not in (Role.DIRECT_IDENTIFIER, Role.FREE_TEXT)


class Kind(StrEnum):
    """Value types of the contract; the loader checks each one before any write."""

    TEXT = "text"
    INTEGER = "integer"
    DATE = "date"  # in the system's date format
    MONTH = "month"  # delivery month in the system's month format
    FLAG = "flag"  # O / N
    CODE = "code"  # one of a named code list


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    role: Role
    description: str
    required: bool = True
    codes: str | None = None  # name of a code list in CODE_LISTS, for Kind.CODE
    pattern: str | None = None  # regular expression the text must match (identifiers)

    @property
    def warehouse_name(self) -> str:
        """Column name in the `raw` schema: lower case, pseudonymised columns say so."""
        base = self.name.lower()
        if self.role in (Role.PERSON_ID, Role.LEGACY_PERSON_ID):
            return f"{base}_pseudo"
        if self.role is Role.BIRTH_DATE:
            return f"{base.replace('date_', 'mois_')}"
        return base


@dataclass(frozen=True)
class Table:
    system: str
    entity: str  # the same four entities in both systems
    file_prefix: str
    key: str  # column identifying a record within the system
    columns: tuple[Column, ...]
    description: str

    def file_name(self, month: str) -> str:
        return f"{self.file_prefix}_{SYSTEMS[self.system].format_month(month)}.csv"

    @property
    def header(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def raw_table(self) -> str:
        return f"{self.system}__{self.entity}"

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


@dataclass(frozen=True)
class System:
    name: str
    label: str
    encoding: str  # Python codec name
    delimiter: str
    date_format: str  # strftime format, also understood by DuckDB's strptime
    month_format: str
    first_month: str | None  # first delivery month, None = from the start of the data
    last_month: str | None  # last delivery month, None = still delivering
    tables: dict[str, Table] = field(default_factory=dict)

    def format_month(self, month: str) -> str:
        year, mon = (int(x) for x in month.split("-"))
        return date(year, mon, 1).strftime(self.month_format)

    def delivers(self, month: str) -> bool:
        """Whether this system is expected to deliver for `month` (YYYY-MM)."""
        if self.first_month and month < self.first_month:
            return False
        return not (self.last_month and month > self.last_month)


FLAG_CODES = {"O": "oui", "N": "non"}

# Code lists. I-Milo labels follow the public enums quoted in docs/raw-formats.md; Parcours 3 published
# no code list, so its codes are this project's documented assumption.
CODE_LISTS: dict[str, dict[str, str]] = {
    "flag": FLAG_CODES,
    "p3_sexe": {"1": "homme", "2": "femme"},
    "imilo_sexe": {"H": "homme", "F": "femme"},
    # 1969 nomenclature (both systems until 2018), and the 2019 one (I-Milo from 2019-01, décret 2019-14).
    "p3_niveau": {
        "VI": "niveau VI (sortie avant la 3e)",
        "VBIS": "niveau V bis (sortie de 3e ou de CAP-BEP avant l'année terminale)",
        "V": "niveau V (CAP-BEP, année terminale)",
        "IV": "niveau IV (baccalauréat)",
        "III": "niveau III (bac+2)",
        "II": "niveau II (licence, maîtrise)",
        "I": "niveau I (bac+5 et plus)",
    },
    "imilo_niveau": {
        "NV6": "niveau VI (nomenclature 1969)",
        "NV5B": "niveau V bis (nomenclature 1969)",
        "NV5": "niveau V (nomenclature 1969)",
        "NV4": "niveau IV (nomenclature 1969)",
        "NV3": "niveau III (nomenclature 1969)",
        "NV2": "niveau II (nomenclature 1969)",
        "NV1": "niveau I (nomenclature 1969)",
        "INFRA3": "infra niveau 3 (nomenclature 2019, ex VI et V bis)",
        "N3": "niveau 3 (nomenclature 2019, CAP-BEP)",
        "N4": "niveau 4 (nomenclature 2019, baccalauréat)",
        "N5": "niveau 5 (nomenclature 2019, bac+2)",
        "N6": "niveau 6 (nomenclature 2019, licence)",
        "N7": "niveau 7 (nomenclature 2019, master)",
        "N8": "niveau 8 (nomenclature 2019, doctorat)",
    },
    "p3_type_evt": {
        "1": "entretien individuel",
        "2": "atelier",
        "3": "information collective",
        "4": "contact (téléphone, courrier, courriel, SMS)",
    },
    "p3_mode_contact": {
        "1": "visite sur place",
        "2": "téléphone",
        "3": "courrier",
        "4": "courriel",
        "5": "SMS",
    },
    "imilo_type_evenement": {
        "ENTRETIEN_INDIVIDUEL": "entretien individuel",
        "ATELIER": "atelier",
        "INFORMATION_COLLECTIVE": "information collective",
        "CONTACT": "contact à distance",
    },
    "imilo_modalite": {
        "PHYSIQUE": "en présence",
        "TELEPHONE": "téléphone",
        "COURRIEL": "courriel",
        "SMS": "SMS",
        "COURRIER": "courrier",
        "VISIO": "visioconférence",
    },
    # Appointment status, as in the public I-Milo enum (pass-emploi-api).
    "imilo_statut_evenement": {
        "Présent": "présent",
        "Absent": "absent",
        "Annulé": "annulé",
        "Reporté": "reporté",
        "Planifié": "planifié",
        "Non précisé": "non précisé",
    },
    "p3_dispositif": {
        "11": "CIVIS renforcé",
        "12": "CIVIS droit commun",
        "20": "ANI jeunes",
        "30": "Garantie jeunes",
        "40": "Emploi d'avenir",
        "50": "PPAE",
    },
    "imilo_dispositif": {
        "CIVIS_R": "CIVIS renforcé",
        "CIVIS_DC": "CIVIS droit commun",
        "ANI": "ANI jeunes",
        "GJ": "Garantie jeunes",
        "EAV": "Emploi d'avenir",
        "PPAE": "PPAE",
        "DIAG": "Diagnostic approfondi (préalable au PACEA)",
        "PACEA": "PACEA",
        "CEJ": "Contrat d'engagement jeune",
    },
    "p3_motif_sortie": {
        "1": "terme du dispositif atteint",
        "2": "accès à l'emploi durable",
        "3": "exclusion",
        "4": "abandon du jeune",
        "5": "déménagement",
        "6": "autre motif",
    },
    "imilo_motif_sortie": {
        "FIN_PREVUE": "terme du dispositif atteint",
        "EMPLOI_DURABLE": "accès à l'emploi durable",
        "EXCLUSION": "exclusion",
        "ABANDON": "abandon",
        "DEMENAGEMENT": "déménagement",
        "AUTRE": "autre motif",
        "PASSAGE_GJ": "fin de phase : entrée en Garantie jeunes",
    },
    "p3_situation": {
        "1": "emploi",
        "2": "contrat en alternance",
        "3": "formation",
        "4": "immersion en entreprise",
        "5": "scolarité",
        "6": "demandeur d'emploi",
        "7": "volontariat, bénévolat",
    },
    "p3_type_contrat": {
        "CDI": "contrat à durée indéterminée",
        "CDD": "contrat à durée déterminée",
        "INT": "intérim",
        "CAI": "contrat aidé",
        "APP": "apprentissage",
        "PRO": "contrat de professionnalisation",
    },
    # Situation categories and states as in the public I-Milo enums (pass-emploi-api).
    "imilo_categorie": {
        "Emploi": "emploi",
        "Contrat en Alternance": "contrat en alternance",
        "Formation": "formation",
        "Immersion en entreprise": "immersion en entreprise",
        "Pmsmp": "période de mise en situation en milieu professionnel",
        "Contrat de volontariat - bénévolat": "volontariat, bénévolat",
        "Scolarité": "scolarité",
        "Demandeur d'emploi": "demandeur d'emploi",
    },
    "imilo_sous_type": {
        "CDI": "contrat à durée indéterminée",
        "CDD": "contrat à durée déterminée",
        "INTERIM": "intérim",
        "CONTRAT_AIDE": "contrat aidé",
        "APPRENTISSAGE": "apprentissage",
        "PROFESSIONNALISATION": "contrat de professionnalisation",
    },
    "imilo_etat": {"PREVU": "prévue", "EN_COURS": "en cours", "TERMINE": "terminée"},
}

ML_CODE_PATTERN = r"^[0-9][0-9AB][0-9]{3}S[0-9]{2}$"
DEPARTEMENT_PATTERN = r"^(0[1-9]|[1-8][0-9]|9[0-5]|2A|2B|97[1-6])$"
P3_ID_PATTERN = r"^[0-9]{1,9}$"
IMILO_ID_PATTERN = r"^[0-9A-Z]{10}$"


def _c(name, kind, role=Role.ATTRIBUTE, description="", **kw) -> Column:
    return Column(name, Kind(kind), Role(role), description, **kw)


def _parcours3_tables() -> dict[str, Table]:
    month = _c("MOIS_EXTRACTION", "month", "delivery_month", "Mois de l'extraction (AAAAMM).")
    dossier = _c("NUM_DOSSIER", "text", "person_id", "Numéro de dossier du jeune (numérique).", pattern=P3_ID_PATTERN)
    ml = _c("CODE_ML", "text", description="Code de la mission locale (structure).", pattern=ML_CODE_PATTERN)
    return {
        "young_people": Table(
            "parcours3",
            "young_people",
            "P3_JEUNES",
            "NUM_DOSSIER",
            (
                month,
                dossier,
                ml,
                _c("NOM", "text", "direct_identifier", "Nom de famille."),
                _c("PRENOM", "text", "direct_identifier", "Prénom."),
                _c("TEL", "text", "direct_identifier", "Téléphone.", required=False),
                _c("MEL", "text", "direct_identifier", "Adresse électronique.", required=False),
                _c("DATE_NAISSANCE", "date", "birth_date", "Date de naissance."),
                _c("SEXE", "code", description="Sexe.", codes="p3_sexe"),
                _c("NIVEAU", "code", description="Niveau de formation (nomenclature 1969).", codes="p3_niveau"),
                _c("DIPLOME", "flag", description="Diplôme obtenu au niveau atteint.", codes="flag"),
                _c(
                    "DEP_RESIDENCE",
                    "text",
                    description="Département de résidence.",
                    pattern=DEPARTEMENT_PATTERN,
                ),
                _c("ZUS", "flag", description="Réside en zone urbaine sensible.", codes="flag"),
                _c("ZRR", "flag", description="Réside en zone de revitalisation rurale.", codes="flag"),
                _c("DATE_PREMIER_ACCUEIL", "date", description="Date du premier accueil."),
                _c("DATE_MAJ", "date", description="Date de dernière modification du dossier."),
            ),
            "Dossiers des jeunes créés ou modifiés dans le mois, enregistrement complet et courant.",
        ),
        "events": Table(
            "parcours3",
            "events",
            "P3_EVENEMENTS",
            "NUM_EVENEMENT",
            (
                month,
                _c("NUM_EVENEMENT", "text", "record_id", "Numéro de l'événement.", pattern=P3_ID_PATTERN),
                dossier,
                ml,
                _c("DATE_EVT", "date", description="Date de l'événement."),
                _c("TYPE_EVT", "code", description="Type d'événement.", codes="p3_type_evt"),
                _c("MODE_CONTACT", "code", description="Mode du contact.", codes="p3_mode_contact"),
                _c("COMMENTAIRE", "text", "free_text", "Note libre du conseiller.", required=False),
            ),
            "Événements de suivi (entretiens, ateliers, informations collectives, contacts).",
        ),
        "scheme_enrolments": Table(
            "parcours3",
            "scheme_enrolments",
            "P3_DISPOSITIFS",
            "NUM_INSCRIPTION",
            (
                month,
                _c("NUM_INSCRIPTION", "text", "record_id", "Numéro d'inscription.", pattern=P3_ID_PATTERN),
                dossier,
                ml,
                _c("CODE_DISPOSITIF", "code", description="Dispositif.", codes="p3_dispositif"),
                _c("DATE_ENTREE", "date", description="Date d'entrée."),
                _c("DATE_FIN_PREVUE", "date", description="Date de fin prévue."),
                _c("DATE_FIN_REELLE", "date", description="Date de fin effective.", required=False),
                _c(
                    "MOTIF_SORTIE",
                    "code",
                    description="Motif de sortie.",
                    codes="p3_motif_sortie",
                    required=False,
                ),
                _c("RENOUVELLEMENT", "flag", description="Inscription de renouvellement.", codes="flag"),
            ),
            "Inscriptions en dispositif : entrées, fins prévues, fins effectives et motifs.",
        ),
        "situations": Table(
            "parcours3",
            "situations",
            "P3_SITUATIONS",
            "NUM_SITUATION",
            (
                month,
                _c("NUM_SITUATION", "text", "record_id", "Numéro de la situation.", pattern=P3_ID_PATTERN),
                dossier,
                ml,
                _c("CODE_SITUATION", "code", description="Situation déclarée.", codes="p3_situation"),
                _c(
                    "TYPE_CONTRAT",
                    "code",
                    description="Type de contrat (emploi, alternance).",
                    codes="p3_type_contrat",
                    required=False,
                ),
                _c("DATE_DEBUT", "date", description="Date de début."),
                _c("DATE_FIN", "date", description="Date de fin.", required=False),
            ),
            "Situations déclarées (emploi, formation, immersion...).",
        ),
    }


def _imilo_tables() -> dict[str, Table]:
    month = _c("mois_extraction", "month", "delivery_month", "Mois de l'extraction (AAAA-MM).")
    jeune = _c(
        "id_jeune", "text", "person_id", "Identifiant I-Milo du jeune (alphanumérique).", pattern=IMILO_ID_PATTERN
    )
    ml = _c("code_structure", "text", description="Code de la structure (mission locale).", pattern=ML_CODE_PATTERN)
    record = lambda name, label: _c(name, "text", "record_id", label, pattern=IMILO_ID_PATTERN)  # noqa: E731
    return {
        "young_people": Table(
            "imilo",
            "young_people",
            "imilo_jeunes",
            "id_jeune",
            (
                month,
                jeune,
                _c(
                    "id_dossier_p3",
                    "text",
                    "legacy_person_id",
                    "Numéro de dossier Parcours 3 d'un dossier migré.",
                    required=False,
                    pattern=P3_ID_PATTERN,
                ),
                ml,
                _c("nom", "text", "direct_identifier", "Nom de famille."),
                _c("prenom", "text", "direct_identifier", "Prénom."),
                _c("email", "text", "direct_identifier", "Adresse électronique.", required=False),
                _c("telephone", "text", "direct_identifier", "Téléphone.", required=False),
                _c("nir", "text", "direct_identifier", "Numéro d'inscription au répertoire.", required=False),
                _c("date_naissance", "date", "birth_date", "Date de naissance."),
                _c("sexe", "code", description="Sexe.", codes="imilo_sexe"),
                _c(
                    "niveau_formation",
                    "code",
                    description="Niveau de formation (1969 jusqu'en 2018, 2019 ensuite).",
                    codes="imilo_niveau",
                ),
                _c("diplome_obtenu", "flag", description="Diplôme obtenu au niveau atteint.", codes="flag"),
                _c(
                    "departement_residence",
                    "text",
                    description="Département de résidence.",
                    pattern=DEPARTEMENT_PATTERN,
                ),
                _c(
                    "qpv",
                    "flag",
                    description="Réside en quartier prioritaire de la politique de la ville.",
                    codes="flag",
                ),
                _c("zrr", "flag", description="Réside en zone de revitalisation rurale.", codes="flag"),
                _c("date_premier_accueil", "date", description="Date du premier accueil."),
                _c("date_maj", "date", description="Date de dernière modification du dossier."),
            ),
            "Dossiers des jeunes créés ou modifiés dans le mois, enregistrement complet et courant.",
        ),
        "events": Table(
            "imilo",
            "events",
            "imilo_evenements",
            "id_evenement",
            (
                month,
                record("id_evenement", "Identifiant de l'événement."),
                jeune,
                ml,
                _c("date_evenement", "date", description="Date de l'événement."),
                _c("type_evenement", "code", description="Type d'événement.", codes="imilo_type_evenement"),
                _c("modalite", "code", description="Modalité (canal).", codes="imilo_modalite"),
                _c("statut", "code", description="Statut du rendez-vous.", codes="imilo_statut_evenement"),
                _c("commentaire", "text", "free_text", "Note libre du conseiller.", required=False),
            ),
            "Événements de suivi (entretiens, ateliers, informations collectives, contacts).",
        ),
        "scheme_enrolments": Table(
            "imilo",
            "scheme_enrolments",
            "imilo_dispositifs",
            "id_dispositif",
            (
                month,
                record("id_dispositif", "Identifiant de l'inscription en dispositif."),
                jeune,
                ml,
                _c("code_dispositif", "code", description="Dispositif.", codes="imilo_dispositif"),
                _c(
                    "id_dispositif_parent",
                    "text",
                    description="Inscription englobante (le PACEA d'une phase Garantie jeunes).",
                    required=False,
                    pattern=IMILO_ID_PATTERN,
                ),
                _c("date_entree", "date", description="Date d'entrée."),
                _c("date_fin_prevue", "date", description="Date de fin prévue."),
                _c("date_fin_reelle", "date", description="Date de fin effective.", required=False),
                _c(
                    "motif_sortie",
                    "code",
                    description="Motif de sortie.",
                    codes="imilo_motif_sortie",
                    required=False,
                ),
                _c("renouvellement", "flag", description="Inscription de renouvellement.", codes="flag"),
            ),
            "Inscriptions en dispositif : entrées, fins prévues, fins effectives et motifs.",
        ),
        "situations": Table(
            "imilo",
            "situations",
            "imilo_situations",
            "id_situation",
            (
                month,
                record("id_situation", "Identifiant de la situation."),
                jeune,
                ml,
                _c("categorie", "code", description="Catégorie de situation.", codes="imilo_categorie"),
                _c(
                    "sous_type",
                    "code",
                    description="Sous-type (contrat).",
                    codes="imilo_sous_type",
                    required=False,
                ),
                _c("etat", "code", description="État de la situation.", codes="imilo_etat"),
                _c("date_debut", "date", description="Date de début."),
                _c("date_fin", "date", description="Date de fin.", required=False),
            ),
            "Situations déclarées (emploi, formation, immersion...).",
        ),
    }


SYSTEMS: dict[str, System] = {
    # Parcours 3: Windows-1252, ";", French dates. A mission locale switching in month S (2015-02..07)
    # is in P3 files up to S-1 and in I-Milo files from S, so the last P3 delivery is 2015-06; each
    # mission locale stopping after its switch-over month (docs/raw-formats.md, "Switch-over").
    "parcours3": System(
        name="parcours3",
        label="Parcours 3",
        encoding="cp1252",
        delimiter=";",
        date_format="%d/%m/%Y",
        month_format="%Y%m",
        first_month=None,
        last_month="2015-06",
    ),
    # I-Milo: UTF-8, ',', ISO dates; in force from 29 Jan 2015 (décret 2015-59), pilots from Feb 2015.
    "imilo": System(
        name="imilo",
        label="I-Milo",
        encoding="utf-8",
        delimiter=",",
        date_format="%Y-%m-%d",
        month_format="%Y-%m",
        first_month="2015-02",
        last_month=None,
    ),
}
SYSTEMS["parcours3"].tables.update(_parcours3_tables())
SYSTEMS["imilo"].tables.update(_imilo_tables())

ENTITIES = ("young_people", "events", "scheme_enrolments", "situations")
FIRST_MONTH = "2013-01"
MANIFEST_NAME = "manifest.json"
VERSION_RE = re.compile(r"^v([1-9][0-9]*)$")
MONTH_RE = re.compile(r"^(20[0-9]{2})-(0[1-9]|1[0-2])$")


def all_tables() -> list[Table]:
    return [t for s in SYSTEMS.values() for t in s.tables.values()]


def table(system: str, entity: str) -> Table:
    return SYSTEMS[system].tables[entity]
