"""Realistic direct identifiers and free text, built column-wise.

Every character is representable in Windows-1252 (P3 files are cp1252): accents, ç, œ (Lœtitia, Lecœur)
and € in the notes, so that a wrong decoding shows at once. Identities derive from a keyed hash of the
person key, so nothing per person has to be stored and the same person always gets the same name.
"""

from __future__ import annotations

import numpy as np
import polars as pl

LAST_NAMES = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Legrand",
    "Garnier",
    "Faure",
    "Rousseau",
    "Blanc",
    "Guérin",
    "Muller",
    "Henry",
    "Roussel",
    "Nicolas",
    "Perrin",
    "Mathieu",
    "Clément",
    "Gauthier",
    "Dumont",
    "Lopez",
    "Fontaine",
    "Chevalier",
    "Robin",
    "Masson",
    "Sanchez",
    "Gérard",
    "Nguyen",
    "Boyer",
    "Denis",
    "Lemaire",
    "Duval",
    "Joly",
    "Gautier",
    "Roger",
    "Roche",
    "Hébert",
    "Ménard",
    "Barbé",
    "Lecœur",
    "Cœuret",
    "Bœuf",
    "Lefèbvre",
    "Benoît",
    "Brémond",
    "Garçon",
    "Besançon",
    "Hoarau",
    "Payet",
    "Grondin",
    "Diallo",
    "Traoré",
    "Benali",
    "Haddad",
    "Mendès",
    "Da Silva",
    "N'Diaye",
    "Le Goff",
    "Le Gall",
    "Kerbœuf",
    "Ferrand",
    "Pérez",
    "Rémy",
    "Chrétien",
    "Lacroix",
    "Ait Ahmed",
]
FEMALE_FIRST = [
    "Léa",
    "Chloé",
    "Manon",
    "Emma",
    "Camille",
    "Inès",
    "Sarah",
    "Océane",
    "Laura",
    "Marie",
    "Clara",
    "Anaïs",
    "Mélanie",
    "Julie",
    "Lucie",
    "Justine",
    "Noémie",
    "Maëlle",
    "Zoé",
    "Héloïse",
    "Clémence",
    "Gaëlle",
    "Lœtitia",
    "Aïcha",
    "Fatoumata",
    "Yasmine",
    "Kenza",
    "Jade",
    "Louise",
    "Célia",
    "Maéva",
    "Amélie",
    "Océane",
    "Inaya",
    "Mélissa",
    "Ophélie",
    "Axelle",
    "Élodie",
]
MALE_FIRST = [
    "Lucas",
    "Thomas",
    "Hugo",
    "Théo",
    "Maxime",
    "Enzo",
    "Nathan",
    "Mathis",
    "Kévin",
    "Alexandre",
    "Jérémy",
    "Clément",
    "Anthony",
    "Romain",
    "Quentin",
    "Dylan",
    "Loïc",
    "Benoît",
    "François",
    "Raphaël",
    "Noé",
    "Maël",
    "Timothée",
    "Grégoire",
    "Jérôme",
    "Mohamed",
    "Yanis",
    "Rayane",
    "Moussa",
    "Bilal",
    "Mehdi",
    "Adrien",
    "Florian",
    "Valentin",
    "Joël",
    "Cédric",
    "Gaëtan",
    "Aurélien",
]
MAIL_DOMAINS = [
    "gmail.com",
    "hotmail.fr",
    "orange.fr",
    "laposte.net",
    "yahoo.fr",
    "free.fr",
    "outlook.fr",
    "sfr.fr",
    "icloud.com",
]

# Counsellor notes: (text before, text after, takes an amount in euros). Some hold the delimiter of one
# system or the other and double quotes, so that the writer must quote them.
NOTES = [
    ("Point sur la recherche d'emploi, CV mis à jour", "", False),
    ("Jeune motivé; souhaite travailler dans la restauration", "", False),
    ("Aide financière FAJ de ", " € accordée pour le permis", True),
    ("Demande d'aide au transport (", " €), dossier transmis", True),
    ("A à cœur de passer le permis B, devis de ", " €", True),
    ("Orientation vers l'atelier \"Techniques de recherche d'emploi\"", "", False),
    ("Absent au dernier RDV, relancé par SMS", "", False),
    ("Situation de logement précaire; orienté vers le CLLAJ", "", False),
    ("Préparation d'un entretien d'embauche chez un boulanger", "", False),
    ("Inscription à Pôle emploi faite, identifiant communiqué", "", False),
    ("Allocation versée : ", " € ce mois-ci", True),
    ("Bilan de fin de période d'immersion, très positif", "", False),
    ("Projet : CAP cuisine en alternance, contacts employeurs donnés", "", False),
    ("Le jeune dit « ça va mieux » depuis l'entrée en formation", "", False),
    ("Reste à charge de ", " € pour la mutuelle, à revoir", True),
    ("Suivi santé : orienté vers le Point Accueil Écoute Jeunes", "", False),
    ("Recherche de stage ; a déposé 5 candidatures", "", False),
    ("Entretien téléphonique, rappeler la semaine prochaine", "", False),
]
NOTE_RATE = 0.35  # share of events carrying a note

_FOLD = {
    "é": "e",
    "è": "e",
    "ê": "e",
    "ë": "e",
    "à": "a",
    "â": "a",
    "ä": "a",
    "î": "i",
    "ï": "i",
    "ô": "o",
    "ö": "o",
    "ù": "u",
    "û": "u",
    "ü": "u",
    "ç": "c",
    "œ": "oe",
    "æ": "ae",
    "É": "e",
    "È": "e",
    "Ê": "e",
    "À": "a",
    "Ç": "c",
    "Œ": "oe",
    "ÿ": "y",
    "'": "",
    " ": "",
    "-": "-",
}

_B36 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)
_N36 = 36**10
_ID_MULT = 2_260_490_307_172_843  # ~ 36^10 / golden ratio, coprime with 36: key -> id is a bijection


def _fold(name: str) -> str:
    return "".join(_FOLD.get(ch, ch) for ch in name).lower()


_FOLDED = tuple([_fold(n) for n in names] for names in (LAST_NAMES, FEMALE_FIRST, MALE_FIRST))


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a fast, well-spread hash of 64-bit keys (uint64 arithmetic wraps by design)."""
    with np.errstate(over="ignore"):
        z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def keyed(keys: np.ndarray, seed: int, salt: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        base = np.uint64((seed * 1_000_003 + salt * 7_919) % 2**63)
        return mix64(mix64(np.asarray(keys, dtype=np.int64).astype(np.uint64) ^ base))


def imilo_ids(keys: np.ndarray, salt: int) -> pl.Series:
    """10-character [0-9A-Z] identifiers, a bijection of the integer keys (one salt per record type)."""
    v = (_mulmod(np.asarray(keys, dtype=np.int64), _ID_MULT) + salt * 104_729_000_001 + 12_345) % _N36
    out = np.empty((v.shape[0], 10), dtype=np.uint8)
    for i in range(9, -1, -1):
        out[:, i] = _B36[v % 36]
        v = v // 36
    return pl.Series(out.view("S10").ravel()).cast(pl.String)


def _mulmod(k: np.ndarray, a: int) -> np.ndarray:
    """(k * a) mod 36^10 without int64 overflow: k is taken 8 bits at a time."""
    acc = np.zeros(k.shape[0], dtype=np.int64)
    for i in range(7):
        part = (k >> (8 * i)) & 0xFF
        acc = (acc + part * ((a << (8 * i)) % _N36)) % _N36
    return acc


def _pick(keys: np.ndarray, female: np.ndarray, seed: int, last: list, fem: list, mal: list):
    """Last and first name of each person from the given lists (the same index for names and e-mails)."""
    h = keyed(keys, seed, 1)
    li = (h % np.uint64(len(LAST_NAMES))).astype(np.int64)
    fi = (h >> np.uint64(20)).astype(np.int64)
    by_sex = pl.when(pl.Series(female)).then(pl.Series(fem).gather(fi % len(fem)))
    first = pl.select(by_sex.otherwise(pl.Series(mal).gather(fi % len(mal)))).to_series()
    return pl.Series(last).gather(li), first


def names(keys: np.ndarray, female: np.ndarray, seed: int) -> tuple[pl.Series, pl.Series]:
    last, first = _pick(keys, female, seed, LAST_NAMES, FEMALE_FIRST, MALE_FIRST)
    return last.alias("nom"), first.alias("prenom")


def contacts(keys: np.ndarray, version: np.ndarray, female: np.ndarray, seed: int):
    """E-mail and mobile phone; `version` changes when the young person gives new contact details."""
    k = np.asarray(keys, dtype=np.int64) * 64 + np.asarray(version, dtype=np.int64)
    h = keyed(k, seed, 2)
    hp = keyed(k, seed, 3)
    last_f, first_f = _pick(keys, female, seed, _FOLDED[0], _FOLDED[1], _FOLDED[2])
    suffix = (h >> np.uint64(8)) % np.uint64(100)
    domain = pl.Series(MAIL_DOMAINS).gather((h % np.uint64(len(MAIL_DOMAINS))).astype(np.int64))
    with_digits = (h >> np.uint64(16)) % np.uint64(3) == 0
    digits = pl.Series(suffix.astype(np.int64)).cast(pl.String)
    email = pl.select(
        pl.concat_str(
            [
                first_f,
                pl.lit("."),
                last_f,
                pl.when(pl.Series(with_digits)).then(digits).otherwise(pl.lit("")),
                pl.lit("@"),
                domain,
            ]
        )
    ).to_series()
    prefix = np.where(hp % np.uint64(5) == 0, "07", "06")
    number = pl.Series((hp >> np.uint64(8)) % np.uint64(100_000_000)).cast(pl.String).str.zfill(8)
    phone = pl.select(pl.concat_str([pl.Series(prefix), number])).to_series()
    has_mail = (h >> np.uint64(40)) % np.uint64(100) < 70
    has_phone = (hp >> np.uint64(40)) % np.uint64(100) < 88
    email = pl.select(pl.when(pl.Series(has_mail)).then(email)).to_series().alias("email")
    phone = pl.select(pl.when(pl.Series(has_phone)).then(phone)).to_series().alias("telephone")
    return email, phone


def nir(keys: np.ndarray, female: np.ndarray, birth_days: np.ndarray, birth_dept: np.ndarray, seed: int):
    """15-digit NIR: sex, birth year and month, département (99 abroad), commune, order, key 97 - n mod 97."""
    h = keyed(keys, seed, 4)
    b = np.asarray(birth_days, dtype=np.int64).astype("datetime64[D]")
    yy = b.astype("datetime64[Y]").astype(np.int64) % 100
    mm = b.astype("datetime64[M]").astype(np.int64) % 12 + 1
    abroad = h % np.uint64(100) < 6
    dept = np.where(abroad, 99, birth_dept)
    commune = ((h >> np.uint64(8)) % np.uint64(990)).astype(np.int64) + 1
    order = ((h >> np.uint64(20)) % np.uint64(998)).astype(np.int64) + 1
    sex = np.where(female, 2, 1)
    n13 = ((((sex * 100 + yy) * 100 + mm) * 100 + dept) * 1000 + commune) * 1000 + order
    key = 97 - n13 % 97
    value = n13 * 100 + key
    has = (h >> np.uint64(32)) % np.uint64(100) < 85
    out = pl.Series(value).cast(pl.String).str.zfill(15)
    return pl.select(pl.when(pl.Series(has)).then(out)).to_series().alias("nir")


def notes(rng: np.random.Generator, n: int) -> pl.Series:
    """A note for ~35% of events, else null."""
    has = rng.random(n) < NOTE_RATE
    t = rng.integers(0, len(NOTES), n)
    amount = (rng.integers(2, 60, n) * 10).astype(np.int64)
    before = pl.Series([a for a, _, _ in NOTES]).gather(t)
    after = pl.Series([b for _, b, _ in NOTES]).gather(t)
    takes = np.array([c for _, _, c in NOTES])[t]
    euros = pl.Series(amount).cast(pl.String)
    amt = pl.select(pl.when(pl.Series(takes)).then(euros).otherwise(pl.lit(""))).to_series()
    text = pl.select(pl.concat_str([before, amt, after])).to_series()
    return pl.select(pl.when(pl.Series(has)).then(text)).to_series()
