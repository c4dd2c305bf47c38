"""Declared situations (jobs, work-study contracts, training, immersions, school, job search...).

A situation is delivered when it is declared ahead (I-Milo state PREVU), when it starts (EN_COURS) and
when it ends (TERMINE), each time as its full current record. GJ entrants get work placements on the
published schedule (60% within 2 months, 80% within 4, DA 2019-018); an Emploi d'avenir is an aided job.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from orchestration.lib.synth import timeutil
from orchestration.lib.synth.population import Population
from orchestration.lib.synth.schemes import EAV, GJ, Schemes
from orchestration.lib.synth.store import Columns
from orchestration.lib.synth.timeutil import business_days, month_end, month_of, month_start

CATEGORIES = (
    "Emploi",
    "Contrat en Alternance",
    "Formation",
    "Immersion en entreprise",
    "Pmsmp",
    "Contrat de volontariat - bénévolat",
    "Scolarité",
    "Demandeur d'emploi",
)
EMPLOI, ALTERNANCE, FORMATION, IMMERSION, PMSMP, VOLONTARIAT, SCOLARITE, DE = range(8)
P3_CATEGORY = {
    EMPLOI: "1",
    ALTERNANCE: "2",
    FORMATION: "3",
    IMMERSION: "4",
    PMSMP: "4",
    SCOLARITE: "5",
    DE: "6",
    VOLONTARIAT: "7",
}
SUBTYPES = ("CDI", "CDD", "INTERIM", "CONTRAT_AIDE", "APPRENTISSAGE", "PROFESSIONNALISATION")
P3_SUBTYPE = ("CDI", "CDD", "INT", "CAI", "APP", "PRO")
CDI, CDD, INTERIM, AIDE, APPRENTI, PRO = range(6)
PREVU, EN_COURS, TERMINE = range(3)
ETATS = ("PREVU", "EN_COURS", "TERMINE")

# (category, subtype, share, min days, max days); max 0 = open-ended (a CDI, most of the time)
MIX = [
    (EMPLOI, CDI, 0.04, 0, 0),
    (EMPLOI, CDD, 0.16, 30, 180),
    (EMPLOI, INTERIM, 0.12, 3, 60),
    (EMPLOI, AIDE, 0.03, 180, 720),
    (ALTERNANCE, APPRENTI, 0.06, 365, 730),
    (ALTERNANCE, PRO, 0.025, 180, 365),
    (FORMATION, -1, 0.22, 30, 270),
    (IMMERSION, -1, 0.10, 5, 28),
    (VOLONTARIAT, -1, 0.04, 180, 300),
    (SCOLARITE, -1, 0.035, 280, 310),
    (DE, -1, 0.17, 30, 365),
]
HAZARD_BASE, HAZARD_SCHEME = 0.07, 0.12  # new situations per person-month


class Situations:
    def __init__(self, pop: Population, sch: Schemes, rng: np.random.Generator):
        self.pop, self.sch, self.rng = pop, sch, rng
        self.t = Columns(
            {
                "person": np.int32,
                "cat": np.int8,
                "sub": np.int8,
                "start": np.int32,
                "end": np.int32,
                "prevu_mi": np.int32,
            }
        )
        self.buckets: dict[int, list[np.ndarray]] = {}
        self.seen_spells = 0

    def _add(self, person, cat, sub, start, end, prevu_mi) -> None:
        keys = self.t.append(person=person, cat=cat, sub=sub, start=start, end=end, prevu_mi=prevu_mi)
        for months in (month_of(start), np.where(end >= 0, month_of(end), -1), prevu_mi):
            for m in np.unique(months[months >= 0]):
                self.buckets.setdefault(int(m), []).append(keys[months == m])

    def step(self, mi: int, active: np.ndarray) -> None:
        rng, pop = self.rng, self.pop
        start, end = month_start(mi), month_end(mi)
        in_scheme = (pop.sp_main[active] >= 0) | (pop.sp_pacea[active] >= 0)
        new = active[rng.random(active.size) < np.where(in_scheme, HAZARD_SCHEME, HAZARD_BASE)]
        n = new.size
        pick = rng.choice(len(MIX), n, p=np.array([m[2] for m in MIX]) / sum(m[2] for m in MIX))
        cat = np.array([m[0] for m in MIX])[pick]
        sub = np.array([m[1] for m in MIX])[pick]
        imilo = mi >= pop.net.switch_mi[pop.ml[new]]
        # I-Milo splits immersions: most are PMSMP (the formal scheme since 2014).
        cat = np.where((cat == IMMERSION) & imilo & (rng.random(n) < 0.7), PMSMP, cat)
        ahead = rng.random(n) < 0.10  # declared the month before it starts
        lo = np.where(ahead, end, np.maximum(start, pop.fw_day[new]))
        hi = np.where(ahead, month_end(mi + 1), end)
        s_day = business_days(rng, lo, hi)
        dmin = np.array([m[3] for m in MIX])[pick]
        dmax = np.array([m[4] for m in MIX])[pick]
        length = dmin + np.floor(rng.random(n) * (dmax - dmin + 1)).astype(np.int64)
        cdi_ends = rng.random(n) < 0.25
        e_day = np.where(dmax > 0, s_day + length, np.where(cdi_ends, s_day + rng.integers(60, 540, n), -1))
        self._add(new, cat, sub, s_day, e_day, np.where(ahead & imilo, mi, -1))
        self._scheme_situations(mi)

    def _scheme_situations(self, mi: int) -> None:
        """Work placements of new GJ entrants; the aided job of a new Emploi d'avenir."""
        sp, rng = self.sch.sp, self.rng
        new = np.arange(self.seen_spells, sp.n)
        self.seen_spells = sp.n
        gj = new[sp["scheme"][new] == GJ]
        if gj.size:
            person, entry = sp["person"][gj], sp["entry"][gj].astype(np.int64)
            u = rng.random(gj.size)
            offset = np.select(
                [u < 0.60, u < 0.80, u < 0.90],
                [
                    rng.integers(10, 58, gj.size),
                    rng.integers(58, 118, gj.size),
                    rng.integers(118, 300, gj.size),
                ],
                -1,
            )
            for repeat in (0, 1):  # about half do a second placement a month or two later
                has = (offset >= 0) & ((repeat == 0) | (rng.random(gj.size) < 0.5))
                gap = repeat * rng.integers(30, 75, has.sum())
                s_day = timeutil.next_business_day(entry[has] + offset[has] + gap)
                e_day = s_day + rng.integers(7, 28, has.sum())
                p = person[has]
                imilo = month_of(s_day) >= self.pop.net.switch_mi[self.pop.ml[p]]
                cat = np.where(imilo, PMSMP, IMMERSION)
                prevu = np.where(imilo & (rng.random(p.size) < 0.3), np.maximum(month_of(s_day) - 1, mi), -1)
                self._add(p, cat, np.full(p.size, -1), s_day, e_day, prevu)
        eav = new[sp["scheme"][new] == EAV]
        if eav.size:
            self._add(
                sp["person"][eav],
                np.full(eav.size, EMPLOI),
                np.full(eav.size, AIDE),
                sp["entry"][eav],
                sp["exit"][eav],
                np.full(eav.size, -1),
            )

    def take_records(self, mi: int, switching_mls: np.ndarray) -> pl.DataFrame:
        """Situation records of `mi`, frozen as they stand this month (they may be delivered late)."""
        t, pop = self.t, self.pop
        keys = np.unique(np.concatenate(self.buckets.pop(mi, [np.zeros(0, dtype=np.int64)])))
        start, end = month_start(mi), month_end(mi)
        s, e = t["start"][keys].astype(np.int64), t["end"][keys].astype(np.int64)
        person = t["person"][keys]
        started = s < end
        ended = (e >= 0) & (e < end)
        etat = np.where(ended, TERMINE, np.where(started, EN_COURS, PREVU))
        # An end after the young person left the ML goes unrecorded; a PREVU exists only in I-Milo.
        keep = ~(ended & (month_of(s) < mi) & (pop.end_mi[person] < mi))
        keep &= ~((etat == PREVU) & (mi < pop.net.switch_mi[pop.ml[person]]))
        keys, etat, e = keys[keep], etat[keep], e[keep]
        if switching_mls.size:  # open situations migrate to I-Milo with the dossier
            sw = np.flatnonzero(
                np.isin(pop.ml[t["person"]], switching_mls)
                & (t["start"] < start)
                & ((t["end"] < 0) | (t["end"] >= start))
                & (pop.end_mi[t["person"]] >= mi)
            )
            sw = np.setdiff1d(sw, keys)
            keys = np.concatenate([keys, sw])
            etat = np.concatenate([etat, np.full(sw.size, EN_COURS)])
            e = np.concatenate([e, t["end"][sw].astype(np.int64)])
        fin = np.where(etat == TERMINE, e, -1)
        return pl.DataFrame(
            {
                "sit": keys,
                "person": t["person"][keys],
                "cat": t["cat"][keys],
                "sub": t["sub"][keys],
                "etat": etat.astype(np.int8),
                "start": t["start"][keys],
                "fin": fin.astype(np.int32),
                "month": np.full(keys.size, mi, dtype=np.int32),
            }
        )
