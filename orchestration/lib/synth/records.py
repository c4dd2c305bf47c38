"""Turn internal records (integer codes, day numbers, person keys) into the contract's columns, as text.

Everything that depends on the delivery (the month column, the education nomenclature switch of 2019-01,
P3 or I-Milo identifiers) is decided here, at delivery time.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from orchestration.lib.contract import SYSTEMS
from orchestration.lib.synth import events as E
from orchestration.lib.synth import names as N
from orchestration.lib.synth import situations as S
from orchestration.lib.synth.network import dept_number
from orchestration.lib.synth.population import Population
from orchestration.lib.synth.schemes import P3_REASON, P3_SCHEME, REASONS, SCHEMES, Schemes
from orchestration.lib.synth.timeutil import mi_of, month_str

P3_LEVEL = ("VI", "VBIS", "V", "IV", "III", "II", "I")
IMILO_LEVEL_1969 = ("NV6", "NV5B", "NV5", "NV4", "NV3", "NV2", "NV1")
IMILO_LEVEL_2019 = ("INFRA3", "INFRA3", "N3", "N4", "N5", "N6", "N7")  # level I: N7, or N8 for a doctorate
LEVELS_2019_FROM = mi_of("2019-01")  # décret 2019-14; every record delivered from 2019-01 uses it
P3_MODE = {E.PHYS: "1", E.TEL: "2", E.LETTER: "3", E.MAIL: "4", E.SMS: "5", E.VISIO: "2"}
P3_TYPE = ("1", "2", "3", "4")
P3_DOSSIER_BASE = 100_001  # P3 dossier numbers: plain sequence numbers
P3_RECORD_BASE = 1  # other P3 record numbers
SALT_PERSON, SALT_EVENT, SALT_ENROL, SALT_SIT = 11, 12, 13, 14


def dates(days, fmt: str) -> pl.Series:
    """Day numbers to text in `fmt`; negative = no date (empty field)."""
    d = np.asarray(days, dtype=np.int64)
    s = pl.Series(np.where(d >= 0, d, 0).astype(np.int32)).cast(pl.Date).dt.strftime(fmt)
    return pl.select(pl.when(pl.Series(d >= 0)).then(s)).to_series()


def _codes(values: np.ndarray, labels, null_below: int = 0) -> pl.Series:
    v = np.asarray(values, dtype=np.int64)
    s = pl.Series(list(labels)).gather(np.maximum(v, 0))
    return pl.select(pl.when(pl.Series(v >= null_below)).then(s)).to_series()


def _text_int(values) -> pl.Series:
    return pl.Series(np.asarray(values, dtype=np.int64)).cast(pl.String)


def _flag(values) -> pl.Series:
    return pl.Series(np.where(np.asarray(values, dtype=bool), "O", "N"))


def p3_dossier(pop: Population, persons: np.ndarray) -> pl.Series:
    has = pop.fw_mi[persons] < pop.net.switch_mi[pop.ml[persons]]
    s = _text_int(persons + P3_DOSSIER_BASE)
    return pl.select(pl.when(pl.Series(has)).then(s)).to_series()


def imilo_person(persons: np.ndarray) -> pl.Series:
    return N.imilo_ids(persons, SALT_PERSON)


def _frame(system: str, entity: str, mi: int, cols: dict[str, pl.Series]) -> pl.DataFrame:
    table = SYSTEMS[system].tables[entity]
    month = SYSTEMS[system].format_month(month_str(mi))
    n = len(next(iter(cols.values()))) if cols else 0
    first = table.header[0]
    data = {first: pl.Series([month] * n, dtype=pl.String)}
    data.update({name: cols[name].alias(name).cast(pl.String) for name in table.header[1:]})
    return pl.DataFrame(data)


def young_people(system: str, mi: int, persons: np.ndarray, pop: Population, seed: int) -> pl.DataFrame:
    fmt = SYSTEMS[system].date_format
    ml = pl.Series(pop.net.codes).gather(pop.ml[persons])
    fem = pop.female[persons]
    last, first = N.names(persons, fem, seed)
    email, phone = N.contacts(persons, pop.cver[persons], fem, seed)
    dept = pl.Series(pop.net.depts).gather(pop.dept[persons])
    level, dipl = pop.level[persons], pop.dipl[persons]
    if system == "parcours3":
        return _frame(
            system,
            "young_people",
            mi,
            {
                "NUM_DOSSIER": p3_dossier(pop, persons),
                "CODE_ML": ml,
                "NOM": last,
                "PRENOM": first,
                "TEL": phone,
                "MEL": email,
                "DATE_NAISSANCE": dates(pop.birth[persons], fmt),
                "SEXE": pl.Series(np.where(fem, "2", "1")),
                "NIVEAU": _codes(level, P3_LEVEL),
                "DIPLOME": _flag(dipl),
                "DEP_RESIDENCE": dept,
                "ZUS": _flag(pop.zus[persons]),
                "ZRR": _flag(pop.zrr[persons]),
                "DATE_PREMIER_ACCUEIL": dates(pop.fw_day[persons], fmt),
                "DATE_MAJ": dates(pop.maj_day[persons], fmt),
            },
        )
    if mi >= LEVELS_2019_FROM:
        doctorate = N.keyed(persons, seed, 5) % np.uint64(10) == 0
        lv = _codes(level, IMILO_LEVEL_2019)
        n8 = pl.Series((level == 6) & doctorate)
        lv = pl.select(pl.when(n8).then(pl.lit("N8")).otherwise(lv)).to_series()
    else:
        lv = _codes(level, IMILO_LEVEL_1969)
    birth_dept = dept_number(pop.net.depts)[pop.net.dept[pop.ml[persons]]]
    return _frame(
        system,
        "young_people",
        mi,
        {
            "id_jeune": imilo_person(persons),
            "id_dossier_p3": p3_dossier(pop, persons),
            "code_structure": ml,
            "nom": last,
            "prenom": first,
            "email": email,
            "telephone": phone,
            "nir": N.nir(persons, fem, pop.birth[persons], birth_dept, seed),
            "date_naissance": dates(pop.birth[persons], fmt),
            "sexe": pl.Series(np.where(fem, "F", "H")),
            "niveau_formation": lv,
            "diplome_obtenu": _flag(dipl),
            "departement_residence": dept,
            "qpv": _flag(pop.qpv[persons]),
            "zrr": _flag(pop.zrr[persons]),
            "date_premier_accueil": dates(pop.fw_day[persons], fmt),
            "date_maj": dates(pop.maj_day[persons], fmt),
        },
    )


def events(system: str, mi: int, ev: pl.DataFrame, pop: Population, rng: np.random.Generator) -> pl.DataFrame:
    fmt = SYSTEMS[system].date_format
    persons = ev["person"].to_numpy()
    ml = pl.Series(pop.net.codes).gather(pop.ml[persons])
    note = N.notes(rng, ev.height)
    typ, mode = ev["type"].to_numpy(), ev["mode"].to_numpy()
    if system == "parcours3":
        p3_mode = np.array([P3_MODE[m] for m in range(len(E.MODES))])
        return _frame(
            system,
            "events",
            mi,
            {
                "NUM_EVENEMENT": _text_int(ev["event_no"].to_numpy() + P3_RECORD_BASE),
                "NUM_DOSSIER": p3_dossier(pop, persons),
                "CODE_ML": ml,
                "DATE_EVT": dates(ev["day"].to_numpy(), fmt),
                "TYPE_EVT": _codes(typ, P3_TYPE),
                "MODE_CONTACT": pl.Series(p3_mode[mode]),
                "COMMENTAIRE": note,
            },
        )
    return _frame(
        system,
        "events",
        mi,
        {
            "id_evenement": N.imilo_ids(ev["event_no"].to_numpy(), SALT_EVENT),
            "id_jeune": imilo_person(persons),
            "code_structure": ml,
            "date_evenement": dates(ev["day"].to_numpy(), fmt),
            "type_evenement": _codes(typ, E.TYPES),
            "modalite": _codes(mode, E.MODES),
            "statut": _codes(ev["status"].to_numpy(), E.STATUSES),
            "commentaire": note,
        },
    )


def enrolments(system: str, mi: int, keys: np.ndarray, pop: Population, sch: Schemes) -> pl.DataFrame:
    fmt = SYSTEMS[system].date_format
    en = sch.en
    persons = en["person"][keys]
    ml = pl.Series(pop.net.codes).gather(pop.ml[persons])
    scheme, reason = en["scheme"][keys], en["reason"][keys]
    entry, planned, actual = en["entry"][keys], en["planned"][keys], en["actual"][keys]
    renewal = en["renewal"][keys]
    if system == "parcours3":
        p3_s = np.array([P3_SCHEME.get(i, "") for i in range(len(SCHEMES))])
        p3_r = np.array([P3_REASON[i] for i in range(len(REASONS))])
        return _frame(
            system,
            "scheme_enrolments",
            mi,
            {
                "NUM_INSCRIPTION": _text_int(keys + P3_RECORD_BASE),
                "NUM_DOSSIER": p3_dossier(pop, persons),
                "CODE_ML": ml,
                "CODE_DISPOSITIF": pl.Series(p3_s[scheme]),
                "DATE_ENTREE": dates(entry, fmt),
                "DATE_FIN_PREVUE": dates(planned, fmt),
                "DATE_FIN_REELLE": dates(actual, fmt),
                "MOTIF_SORTIE": pl.select(
                    pl.when(pl.Series(reason >= 0)).then(pl.Series(p3_r[np.maximum(reason, 0)]))
                ).to_series(),
                "RENOUVELLEMENT": _flag(renewal),
            },
        )
    parent = en["parent"][keys]
    parent_id = N.imilo_ids(np.maximum(parent, 0), SALT_ENROL)
    return _frame(
        system,
        "scheme_enrolments",
        mi,
        {
            "id_dispositif": N.imilo_ids(keys, SALT_ENROL),
            "id_jeune": imilo_person(persons),
            "code_structure": ml,
            "code_dispositif": _codes(scheme, SCHEMES),
            "id_dispositif_parent": pl.select(pl.when(pl.Series(parent >= 0)).then(parent_id)).to_series(),
            "date_entree": dates(entry, fmt),
            "date_fin_prevue": dates(planned, fmt),
            "date_fin_reelle": dates(actual, fmt),
            "motif_sortie": _codes(reason, REASONS),
            "renouvellement": _flag(renewal),
        },
    )


def situations(system: str, mi: int, st: pl.DataFrame, pop: Population) -> pl.DataFrame:
    fmt = SYSTEMS[system].date_format
    persons = st["person"].to_numpy()
    ml = pl.Series(pop.net.codes).gather(pop.ml[persons])
    cat, sub = st["cat"].to_numpy(), st["sub"].to_numpy()
    if system == "parcours3":
        p3_c = np.array([S.P3_CATEGORY[i] for i in range(len(S.CATEGORIES))])
        return _frame(
            system,
            "situations",
            mi,
            {
                "NUM_SITUATION": _text_int(st["sit"].to_numpy() + P3_RECORD_BASE),
                "NUM_DOSSIER": p3_dossier(pop, persons),
                "CODE_ML": ml,
                "CODE_SITUATION": pl.Series(p3_c[cat]),
                "TYPE_CONTRAT": _codes(sub, S.P3_SUBTYPE),
                "DATE_DEBUT": dates(st["start"].to_numpy(), fmt),
                "DATE_FIN": dates(st["fin"].to_numpy(), fmt),
            },
        )
    return _frame(
        system,
        "situations",
        mi,
        {
            "id_situation": N.imilo_ids(st["sit"].to_numpy(), SALT_SIT),
            "id_jeune": imilo_person(persons),
            "code_structure": ml,
            "categorie": _codes(cat, S.CATEGORIES),
            "sous_type": _codes(sub, S.SUBTYPES),
            "etat": _codes(st["etat"].to_numpy(), S.ETATS),
            "date_debut": dates(st["start"].to_numpy(), fmt),
            "date_fin": dates(st["fin"].to_numpy(), fmt),
        },
    )
