"""Scheme spells (CIVIS, ANI, Garantie jeunes, Emplois d'avenir, PPAE, PACEA and its diagnostic, CEJ).

A *spell* is one stay in a scheme; it is made of one *enrolment* record plus one per renewal (a new record
flagged as renewal, starting at the previous planned end). Each spell's true exit day is drawn at entry
(early exits, completions, renewals in the published proportions); enrolment records are then closed or
renewed lazily, month by month, so that a later event (a GJ phase opening inside a PACEA) can still
lengthen a spell that has not ended yet. Volumes follow `targets` with a running carry, so that the
monthly rounding of small scales does not drift from the yearly figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from orchestration.lib.synth import targets as T
from orchestration.lib.synth.population import IV, VBIS, Population, V
from orchestration.lib.synth.store import Columns
from orchestration.lib.synth.timeutil import (
    add_months,
    business_days,
    mi_of,
    month_end,
    month_of,
    month_start,
    years_between,
)

SCHEMES = ("CIVIS_R", "CIVIS_DC", "ANI", "GJ", "EAV", "PPAE", "DIAG", "PACEA", "CEJ")
CIVIS_R, CIVIS_DC, ANI, GJ, EAV, PPAE, DIAG, PACEA, CEJ = range(9)
P3_SCHEME = {CIVIS_R: "11", CIVIS_DC: "12", ANI: "20", GJ: "30", EAV: "40", PPAE: "50"}
REASONS = ("FIN_PREVUE", "EMPLOI_DURABLE", "EXCLUSION", "ABANDON", "DEMENAGEMENT", "AUTRE", "PASSAGE_GJ")
FIN, EMPLOI, EXCLUSION, ABANDON, DEMENAGEMENT, AUTRE, PASSAGE_GJ = range(7)
P3_REASON = dict(zip(range(7), ("1", "2", "3", "4", "5", "6", "6"), strict=True))  # no P3 "to GJ" code
MONTH_DAYS = 30.44
IMILO_SWITCH = mi_of("2017-01")  # from 2017 GJ is a phase inside a PACEA


@dataclass(frozen=True)
class Rule:
    first: tuple[tuple[int, float], ...]  # planned months of the first enrolment, with probabilities
    renew: int  # months added by a renewal
    max_months: int
    early: float  # share of spells ending before the planned end
    early_months: tuple[float, float]  # uniform range of the early exit, in months after entry
    reasons: tuple[tuple[int, float], ...]  # early exit reasons
    renewed: float  # share of spells renewed (running past the first planned end)


_CIVIS_EXITS = ((EMPLOI, 0.45), (ABANDON, 0.25), (DEMENAGEMENT, 0.1), (AUTRE, 0.2))
_JOB = ((EMPLOI, 0.40), (ABANDON, 0.30), (DEMENAGEMENT, 0.10), (AUTRE, 0.20))
RULES = {
    CIVIS_R: Rule(((12, 1.0),), 12, 24, 0.35, (2, 12), _CIVIS_EXITS, 0.25),
    ANI: Rule(((6, 1.0),), 6, 12, 0.30, (1, 6), ((EMPLOI, 0.2), (ABANDON, 0.4), (AUTRE, 0.4)), 0.30),
    # GJ (DA 2019-018): 12 months renewable to 18, 26% early exits after 8 months on average
    # (exclusion 41%, abandon 21%, moving 12%, other 26%); renewals ~8% of entries.
    GJ: Rule(
        ((12, 1.0),),
        6,
        18,
        0.26,
        (3, 13),
        ((EXCLUSION, 0.41), (ABANDON, 0.21), (DEMENAGEMENT, 0.12), (AUTRE, 0.26)),
        0.087,
    ),
    EAV: Rule(((36, 1.0),), 0, 36, 0.35, (1, 30), ((ABANDON, 0.4), (AUTRE, 0.4), (DEMENAGEMENT, 0.2)), 0.0),
    PPAE: Rule(((6, 1.0),), 6, 24, 0.40, (1, 6), ((EMPLOI, 0.5), (AUTRE, 0.5)), 0.30),
    PACEA: Rule(((12, 1.0),), 12, 24, 0.35, (1, 12), _JOB, 0.12),
    # CEJ: 6-12 months, up to 18; mean stay 7.5 months in ML (DA n°46).
    CEJ: Rule(((6, 0.3), (9, 0.2), (12, 0.5)), 6, 18, 0.50, (1, 9), _JOB, 0.08),
}
RULES[CIVIS_DC] = RULES[CIVIS_R]
RULES[DIAG] = Rule(((3, 1.0),), 0, 3, 1.0, (0, 3), ((FIN, 1.0),), 0.0)

# Profile of entrants (raking targets on the pool of candidates). GJ: DA 2019-018, DA n°63, DREES;
# PACEA and CEJ: DA n°63 and DA n°46. "known" = first welcome at least 3 months before entry.
PROFILES = {
    GJ: {
        "female": [0.55, 0.45],
        "age": [0.16, 0.65, 0.19],
        "edu": [0.50, 0.22, 0.24, 0.04],
        "qpv": [0.77, 0.23],
        "zrr": [0.921, 0.079],
    },
    PACEA: {"age": [0.12, 0.58, 0.30], "nodipl": [0.64, 0.36], "qpv": [0.82, 0.18]},
    CEJ: {"age": [0.09, 0.59, 0.32], "edu": [0.48, 0.20, 0.25, 0.07], "qpv": [0.81, 0.19]},
    ANI: {"age": [0.65, 0.35, 0.0]},
    # CIVIS: about half of the entries in the "renforcé" track (low levels) - assumption.
    CIVIS_R: {"edu": [0.50, 0.22, 0.25, 0.03]},
}
OVERSAMPLE = 8  # candidates kept per place to fill before weighing them
GJ_GROUP = (10, 20)
GJ_NEWCOMERS = 1 / 3  # share of a group not known to the ML before (DA 2019-018: two thirds were)
NO_GJ_RENEWAL = {mi_of("2020-04")}  # GJ entrants start in groups of 10-20 per ML


def below_cap(level: np.ndarray, dipl: np.ndarray) -> np.ndarray:
    return (level <= VBIS) | ((level == V) & ~dipl)


def edu4(level: np.ndarray, dipl: np.ndarray) -> np.ndarray:
    """DARES education bands: below CAP-BEP, CAP-BEP, bac level, higher."""
    return np.where(below_cap(level, dipl), 0, np.where(level == V, 1, np.where(level == IV, 2, 3)))


def age_band(age: np.ndarray) -> np.ndarray:
    return np.where(age < 18, 0, np.where(age <= 21, 1, 2))


class Schemes:
    def __init__(self, pop: Population, rng: np.random.Generator, scale: float, capacity: int = 1024):
        self.pop, self.rng, self.scale = pop, rng, scale
        i32 = np.int32
        self.sp = Columns(
            {
                "person": np.int32,
                "scheme": np.int8,
                "entry": i32,
                "exit": i32,
                "reason": np.int8,
                "max_end": i32,
                "parent": i32,
                "renewals": np.int8,
                "cur": np.int32,
                "open": np.bool_,
                "level": np.int8,
                "dipl": np.bool_,
                "known": np.bool_,
                "age": np.int8,
                "p3_entry": np.bool_,
            },
            fill={"parent": -1},
            capacity=capacity,
        )
        self.en = Columns(
            {
                "spell": np.int32,
                "person": np.int32,
                "scheme": np.int8,
                "entry": i32,
                "planned": i32,
                "actual": i32,
                "reason": np.int8,
                "renewal": np.bool_,
                "parent": np.int32,
            },
            fill={"actual": -1, "reason": -1, "parent": -1},
            capacity=capacity + capacity // 4,
        )
        self.carry = dict.fromkeys(("CIVIS", "ANI", "GJ", "EAV", "PPAE", "PACEA", "CEJ"), 0.0)
        self.by_entry_month: dict[int, list[np.ndarray]] = {}
        self.closed_now: list[np.ndarray] = []
        self.open_spells = np.zeros(0, dtype=np.int64)
        # Raking targets corrected month after month by what was actually picked: choosing a whole group
        # in a small ML dilutes the weights, and the feedback makes up for it.
        self.pacea_by_month: dict[int, int] = {}
        self.pacea_gap = 0.0
        self.gj_new_pacea_share = 0.5  # running share of GJ entrants for whom a PACEA is opened
        self.aim = {s: {k: np.array(v, dtype=float) for k, v in p.items()} for s, p in PROFILES.items()}
        self.seen = {s: {k: np.array(v, dtype=float) for k, v in p.items()} for s, p in PROFILES.items()}

    # ---- volumes -------------------------------------------------------------------------------------
    def _quota(self, name: str, mi: int, target: float) -> int:
        want = target * self.scale + self.carry[name]
        n = int(np.floor(max(want, 0.0) + self.rng.random()))
        return n

    def _book(self, name: str, mi: int, target: float, realised: int) -> None:
        # Keep what could not be placed for next month, within two months of volume (a structural
        # shortage must not pile up into a burst).
        cap = 2 * target * self.scale + 5
        self.carry[name] = float(np.clip(self.carry[name] + target * self.scale - realised, -cap, cap))

    # ---- spells --------------------------------------------------------------------------------------
    def _draw_exit(self, scheme: int, entry: np.ndarray):
        rule, rng, n = RULES[scheme], self.rng, entry.size
        pick = rng.choice(len(rule.first), n, p=[p for _, p in rule.first])
        months = np.array([m for m, _ in rule.first])[pick]
        first_end = add_months(entry, months)
        max_end = add_months(entry, np.full(n, rule.max_months))
        u = rng.random(n)
        early = u < rule.early
        renewed = (u >= rule.early) & (u < rule.early + rule.renewed) & (max_end > first_end)
        if scheme == GJ:  # the April 2020 lockdown: GJ were prolonged without renewal records (POEM: 306)
            renewed &= ~np.isin(month_of(first_end), list(NO_GJ_RENEWAL))
        lo, hi = rule.early_months
        em = np.minimum(lo + rng.random(n) * (hi - lo), months - 0.5)
        t_early = np.minimum(entry + np.round(em * MONTH_DAYS).astype(np.int64), first_end - 1)
        t_early = np.maximum(t_early, entry + 7)
        t_renew = np.minimum(add_months(first_end, np.full(n, max(rule.renew, 1))), max_end)
        exit_day = np.where(early, t_early, np.where(renewed, t_renew, first_end))
        codes = np.array([r for r, _ in rule.reasons])
        reason = np.where(early, codes[rng.choice(len(codes), n, p=[p for _, p in rule.reasons])], FIN)
        return first_end, exit_day, reason.astype(np.int8), max_end

    def open_spell(
        self,
        scheme: int,
        persons: np.ndarray,
        entry: np.ndarray,
        mi: int,
        parent=None,
        exit_override=None,
        reason_override=None,
        planned_override=None,
    ) -> np.ndarray:
        pop = self.pop
        first_end, exit_day, reason, max_end = self._draw_exit(scheme, entry)
        if planned_override is not None:
            first_end = planned_override
        if exit_override is not None:
            exit_day, reason = exit_override, reason_override
        parent_spell = np.full(persons.size, -1) if parent is None else parent
        keys = self.sp.append(
            person=persons,
            scheme=scheme,
            entry=entry,
            exit=exit_day,
            reason=reason,
            max_end=max_end,
            parent=parent_spell,
            renewals=0,
            open=True,
            level=pop.level[persons],
            dipl=pop.dipl[persons],
            known=pop.fw_mi[persons] <= mi - 3,
            age=years_between(pop.birth[persons], entry),
            p3_entry=month_of(entry) < pop.net.switch_mi[pop.ml[persons]],
        )
        enrol = self._enrol(keys, persons, scheme, entry, first_end, False, np.full(persons.size, -1))
        self.sp.col("cur")[keys] = enrol
        self.open_spells = np.concatenate([self.open_spells, keys])
        field = {
            GJ: "sp_main",
            CEJ: "sp_main",
            CIVIS_R: "sp_main",
            CIVIS_DC: "sp_main",
            ANI: "sp_main",
            PACEA: "sp_pacea",
            EAV: "sp_eav",
            PPAE: "sp_ppae",
        }.get(scheme)
        if field:
            pop.a[field][persons] = keys
        if scheme == PACEA:
            for m, c in zip(*np.unique(month_of(entry), return_counts=True), strict=True):
                self.pacea_by_month[int(m)] = self.pacea_by_month.get(int(m), 0) + int(c)
        pop.extend_contact(persons, month_of(exit_day) + 1)
        return keys

    def _enrol(self, spells, persons, scheme, entry, planned, renewal, parent) -> np.ndarray:
        keys = self.en.append(
            spell=spells,
            person=persons,
            scheme=scheme,
            entry=entry,
            planned=planned,
            renewal=renewal,
            parent=parent,
        )
        months = month_of(entry)
        for m in np.unique(months):
            self.by_entry_month.setdefault(int(m), []).append(keys[months == m])
        return keys

    def set_exit(self, spells: np.ndarray, day: np.ndarray, reason: np.ndarray) -> None:
        self.sp.col("exit")[spells] = day
        self.sp.col("reason")[spells] = reason
        self.pop.extend_contact(self.sp["person"][spells], month_of(day) + 1)

    # ---- the month -----------------------------------------------------------------------------------
    def step(self, mi: int, active: np.ndarray) -> None:
        pop = self.pop
        start = month_start(mi)
        age = years_between(pop.birth[active], np.full(active.size, start))
        ok_age = (age >= 16) & (age <= 25)
        pool = active[ok_age]
        age = age[ok_age]
        self._gj(mi, pool, age)
        main_free = pop.sp_main[pool] < 0
        no_pacea = pop.sp_pacea[pool] < 0
        if mi >= T.SCHEME_WINDOWS["CEJ"][0]:
            sel = main_free & no_pacea
            self._simple("CEJ", CEJ, mi, pool[sel], age[sel])
        main_free = pop.sp_main[pool] < 0
        if T.SCHEME_WINDOWS["CIVIS"][0] <= mi <= T.SCHEME_WINDOWS["CIVIS"][1]:
            self._simple("CIVIS", CIVIS_R, mi, pool[main_free], age[main_free])
        main_free = pop.sp_main[pool] < 0
        if T.SCHEME_WINDOWS["ANI"][0] <= mi <= T.SCHEME_WINDOWS["ANI"][1]:
            sel = main_free & below_cap(pop.level[pool], pop.dipl[pool]) & ~pop.dipl[pool]
            self._simple("ANI", ANI, mi, pool[sel], age[sel])
        if T.SCHEME_WINDOWS["EAV"][0] <= mi <= T.SCHEME_WINDOWS["EAV"][1]:
            sel = (pop.sp_eav[pool] < 0) & ((pop.level[pool] <= V) | ~pop.dipl[pool])
            self._simple("EAV", EAV, mi, pool[sel], age[sel])
        sel = (pop.sp_ppae[pool] < 0) & (age >= 18)
        self._simple("PPAE", PPAE, mi, pool[sel], age[sel])
        if mi >= T.SCHEME_WINDOWS["PACEA"][0] - 1:
            sel = (pop.sp_main[pool] < 0) & (pop.sp_pacea[pool] < 0)
            self._diag(mi, pool[sel], age[sel])
        self._close(mi)

    def _select(self, pool, age, mi, n_per_ml, scheme, feedback=True) -> tuple[np.ndarray, np.ndarray]:
        """Pick n_per_ml[ml] candidates in each ML, with raking weights so that entrants match the
        scheme's profile; returns the chosen keys and their rank within their ML."""
        pop, rng = self.pop, self.rng
        ml = pop.ml[pool].astype(np.int64)
        # Weighing a million candidates to pick a few thousand is wasted work: keep a random subset
        # several times larger than each ML's need (all of them where the need is large).
        counts = np.bincount(ml, minlength=n_per_ml.size)
        rate = np.minimum(1.0, np.maximum(OVERSAMPLE * n_per_ml, 4 * OVERSAMPLE) / np.maximum(counts, 1))
        keep = (rng.random(pool.size) < rate[ml]) & (n_per_ml[ml] > 0)
        pool, age, ml = pool[keep], age[keep], ml[keep]
        w = np.ones(pool.size)
        profile = PROFILES.get(scheme)
        if profile:
            cats = _cats(pop, pool, age, mi, profile)
            w = rake(cats, self.aim[scheme])
        key = rng.exponential(size=pool.size) / np.maximum(w, 1e-12)
        # One sort on "ML + key squeezed into [0, 1)" orders by ML, then by key (Efraimidis-Spirakis).
        order = np.argsort(ml + np.minimum(key / (1.0 + key), 0.999999), kind="stable")
        ml_sorted = ml[order]
        first = np.searchsorted(ml_sorted, ml_sorted, side="left")
        rank = np.arange(pool.size) - first
        take = (rank < n_per_ml[ml_sorted]) & (w[order] > 0)
        if profile and feedback and take.any():
            self._feedback(scheme, {k: c[order[take]] for k, c in cats.items()})
        return pool[order[take]], rank[take]

    def _feedback(self, scheme: int, picked: dict[str, np.ndarray]) -> None:
        for name, target in PROFILES[scheme].items():
            target = np.array(target)
            got = np.bincount(picked[name], minlength=target.size)[: target.size] / picked[name].size
            weight = min(0.5, picked[name].size / 200)  # small months move the running shares less
            seen = self.seen[scheme][name] = (1 - weight) * self.seen[scheme][name] + weight * got
            aim = self.aim[scheme][name] * (target / np.maximum(seen, 1e-3)) ** 0.7
            aim = np.clip(aim, target / 10, np.minimum(target * 10, 0.99))
            self.aim[scheme][name] = np.where(target > 0, aim, 0.0) / np.where(target > 0, aim, 0.0).sum()

    def _spread(self, n: int, pool: np.ndarray) -> np.ndarray:
        """Entrants per ML, in proportion to each ML's candidates."""
        counts = np.bincount(self.pop.ml[pool], minlength=self.pop.net.n).astype(float)
        if n == 0 or counts.sum() == 0:
            return np.zeros(self.pop.net.n, dtype=np.int64)
        return self.rng.multinomial(n, counts / counts.sum())

    def _simple(self, name: str, scheme: int, mi: int, pool: np.ndarray, age: np.ndarray) -> None:
        target = T.scheme_entries(name, mi)
        n = self._quota(name, mi, target)
        chosen, _ = self._select(pool, age, mi, self._spread(n, pool), scheme)
        if chosen.size:
            pop = self.pop
            entry = business_days(
                self.rng, np.maximum(month_start(mi), pop.fw_day[chosen]), np.full(chosen.size, month_end(mi))
            )
            if name == "CIVIS":
                schemes = np.where(below_cap(pop.level[chosen], pop.dipl[chosen]), CIVIS_R, CIVIS_DC)
                for s in (CIVIS_R, CIVIS_DC):
                    self.open_spell(s, chosen[schemes == s], entry[schemes == s], mi)
            else:
                self.open_spell(scheme, chosen, entry, mi)
            pop.touch(chosen, entry)
        self._book(name, mi, target, chosen.size)

    def renewals_due(self, scheme: int, mi: int) -> int:
        """Renewal records that will start this month (spells of `scheme` running past a planned end)."""
        s = self.open_spells[self.sp["scheme"][self.open_spells] == scheme]
        planned = self.en["planned"][self.sp["cur"][s]]
        return int(((month_of(planned) == mi) & (self.sp["exit"][s] > planned)).sum())

    def _gj(self, mi: int, pool: np.ndarray, age: np.ndarray) -> None:
        # POEM entries count renewals: new groups fill what this month's renewals leave.
        target = max(T.gj_entries_with_renewals(mi) - self.renewals_due(GJ, mi) / self.scale, 0.0)
        if target <= 0:
            return
        pop, rng, net = self.pop, self.rng, self.pop.net
        start = month_start(mi)
        in_territory = net.gj_start_dept[net.dept[pop.ml[pool]]] <= mi
        sp_main = pop.sp_main[pool]
        main_ok = sp_main < 0
        if mi < IMILO_SWITCH:  # a CIVIS young person may move on to the GJ (the CIVIS then ends)
            civis = np.zeros(pool.size, dtype=bool)
            civis[~main_ok] = np.isin(self.sp["scheme"][sp_main[~main_ok]], (CIVIS_R, CIVIS_DC))
            main_ok |= civis
        else:  # from 2017 the GJ is a phase of a PACEA already begun, or of one opened for it
            sp_p = pop.sp_pacea[pool]
            pacea_ok = sp_p < 0
            pacea_ok[~pacea_ok] = self.sp["entry"][sp_p[~pacea_ok]] < start
            main_ok &= pacea_ok
        # Two thirds of a group were known to the ML before (DA 2019-018): first welcomed at least three
        # months earlier. The other third is welcomed for the group, just before it starts (below).
        sel = in_territory & main_ok & (pop.fw_mi[pool] <= mi - 3)
        pool, age = pool[sel], age[sel]
        n = self._quota("GJ", mi, target)
        sizes = []
        while sum(sizes) < n:
            sizes.append(int(rng.integers(GJ_GROUP[0], GJ_GROUP[1] + 1)))
        counts = np.bincount(pop.ml[pool], minlength=net.n).astype(float)
        if not sizes or counts.sum() == 0:
            self._book("GJ", mi, target, 0)
            return
        sizes = np.array(sizes)
        # Groups go to MLs in proportion to their candidates.
        group_ml = np.sort(rng.choice(net.n, sizes.size, p=counts / counts.sum()))
        group_day = business_days(rng, np.full(sizes.size, start + 14), np.full(sizes.size, month_end(mi)))
        n_new = rng.binomial(sizes, GJ_NEWCOMERS)
        n_known = sizes - n_new
        need = np.minimum(np.bincount(group_ml, weights=n_known, minlength=net.n).astype(np.int64), counts)
        chosen, rank = self._select(pool, age, mi, need.astype(np.int64), GJ, feedback=False)
        base = np.concatenate([[0], np.cumsum(np.bincount(group_ml, weights=n_known, minlength=net.n))[:-1]])
        gidx = np.searchsorted(np.cumsum(n_known), base[pop.ml[chosen]] + rank, side="right")
        entry = group_day[np.minimum(gidx, sizes.size - 1)]
        newcomers, new_entry = self._gj_newcomers(mi, group_ml, group_day, n_new)
        persons = np.concatenate([chosen, newcomers])
        entry = np.concatenate([entry, new_entry])
        if persons.size:
            ages = years_between(pop.birth[persons], entry)
            self._feedback(GJ, _cats(pop, persons, ages, mi, PROFILES[GJ]))
            self._open_gj(mi, persons, entry)
            pop.touch(persons, entry)
        self._book("GJ", mi, target, persons.size)

    def _gj_newcomers(self, mi, group_ml, group_day, n_new) -> tuple[np.ndarray, np.ndarray]:
        """Young people first welcomed this month to join a GJ group: drawn like any first welcome, then
        picked (raking weights) so that the groups get the GJ entrants' profile."""
        pop, rng = self.pop, self.rng
        group = np.repeat(np.arange(group_ml.size), 4 * n_new)
        if group.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        attrs = pop.draw(mi, group_ml[group], np.full(group.size, month_start(mi)), group_day[group] - 2)
        age = years_between(attrs["birth"], group_day[group])
        cats = _cats_of(attrs["female"], age, attrs["level"], attrs["dipl"], attrs["qpv"], attrs["zrr"])
        w = rake({k: cats[k] for k in PROFILES[GJ]}, self.aim[GJ])
        key = rng.exponential(size=group.size) / np.maximum(w, 1e-12)
        order = np.lexsort((key, group))
        first = np.searchsorted(group[order], group[order], side="left")
        take = order[(np.arange(group.size) - first) < n_new[group[order]]]
        keys = pop.append({k: v[take] for k, v in attrs.items()})
        pop.fw_debt += keys.size
        return keys, group_day[group[take]]

    def _open_gj(self, mi: int, persons: np.ndarray, entry: np.ndarray) -> None:
        pop = self.pop
        if mi < IMILO_SWITCH:
            civis = pop.sp_main[persons]
            had = civis >= 0
            if had.any():
                p3 = mi < pop.net.switch_mi[pop.ml[persons[had]]]
                self.set_exit(civis[had], entry[had], np.where(p3, AUTRE, PASSAGE_GJ).astype(np.int8))
            self.open_spell(GJ, persons, entry, mi)
            return
        gj = self.open_spell(GJ, persons, entry, mi)
        gj_exit = self.sp["exit"][gj]
        sp_p = pop.sp_pacea[persons]
        new = sp_p < 0
        if new.any():  # a diagnostic the same month, then the PACEA opens with the GJ phase
            p = persons[new]
            d0 = business_days(self.rng, np.full(p.size, month_start(mi)), entry[new])
            d0 = np.maximum(np.minimum(d0, entry[new] - 1), pop.fw_day[p])
            self.open_spell(
                DIAG,
                p,
                d0,
                mi,
                exit_override=entry[new],
                reason_override=np.full(p.size, PASSAGE_GJ, dtype=np.int8),
                planned_override=add_months(d0, np.full(p.size, 3)),
            )
            self.open_spell(PACEA, p, entry[new], mi)
            sp_p = pop.sp_pacea[persons]
        self.gj_new_pacea_share = 0.8 * self.gj_new_pacea_share + 0.2 * new.mean()
        # The GJ phase must fit in the PACEA's 24 months, and the PACEA lasts at least as long as the GJ.
        cap = self.sp["max_end"][sp_p]
        too_long = gj_exit > cap
        if too_long.any():
            self.set_exit(gj[too_long], cap[too_long], np.full(too_long.sum(), FIN, dtype=np.int8))
            gj_exit = self.sp["exit"][gj]
        short = self.sp["exit"][sp_p] < gj_exit
        if short.any():
            self.set_exit(sp_p[short], gj_exit[short], self.sp["reason"][gj[short]])
        self.sp.col("parent")[gj] = sp_p
        self.en.col("parent")[self.sp["cur"][gj]] = self.sp["cur"][sp_p]

    def _diag(self, mi: int, pool: np.ndarray, age: np.ndarray) -> None:
        """Diagnostics that lead to a PACEA entry next month. PACEA volumes are steered by entry month:
        next month's target, plus this month's shortfall, less the PACEAs the GJ groups will open."""
        self.pacea_gap += T.scheme_entries("PACEA", mi) * self.scale - self.pacea_by_month.get(mi, 0)
        target = T.scheme_entries("PACEA", mi + 1)
        gj_next = T.gj_entries_with_renewals(mi + 1) * (1 - T.GJ_RENEWAL_SHARE) * self.gj_new_pacea_share
        want = (target - gj_next) * self.scale + float(
            np.clip(self.pacea_gap, -target * self.scale, target * self.scale)
        )
        n = int(np.floor(max(want, 0.0) + self.rng.random()))
        chosen, _ = self._select(pool, age, mi, self._spread(n, pool), PACEA)
        if chosen.size:
            pop, rng = self.pop, self.rng
            # The PACEA opens next month; the diagnostic before it lasts mostly under a month, at most
            # about two here (it cannot start before this month).
            p_entry = business_days(
                rng, np.full(chosen.size, month_start(mi + 1)), np.full(chosen.size, month_end(mi + 1))
            )
            weeks = np.where(
                rng.random(chosen.size) < 0.8,
                rng.integers(1, 5, chosen.size),
                rng.integers(5, 10, chosen.size),
            )
            d0 = np.maximum(p_entry - weeks * 7, np.maximum(month_start(mi), pop.fw_day[chosen]))
            d0 = np.minimum(d0, p_entry - 1)
            self.open_spell(
                DIAG,
                chosen,
                d0,
                mi,
                exit_override=p_entry,
                reason_override=np.full(chosen.size, FIN, dtype=np.int8),
                planned_override=add_months(d0, np.full(chosen.size, 3)),
            )
            self.open_spell(PACEA, chosen, p_entry, mi)
            pop.touch(chosen, d0)

    def _close(self, mi: int) -> None:
        """End or renew the enrolments whose planned end or true exit falls in this month."""
        sp, en = self.sp, self.en
        s = self.open_spells
        cur = sp["cur"][s]
        planned, exit_day = en["planned"][cur], sp["exit"][s]
        first = np.minimum(planned, exit_day)
        due = month_of(first) <= mi
        s, cur, planned, exit_day = s[due], cur[due], planned[due], exit_day[due]
        ends = exit_day <= planned
        # Ending spells: the enrolment closes on the exit day, with the spell's reason (or "term reached").
        e_s, e_cur = s[ends], cur[ends]
        en.col("actual")[e_cur] = exit_day[ends]
        en.col("reason")[e_cur] = np.where(exit_day[ends] == planned[ends], FIN, sp["reason"][e_s])
        sp.col("open")[e_s] = False
        # Renewed spells: the enrolment reaches its term and a renewal record starts on that day.
        r_s, r_cur, r_pl = s[~ends], cur[~ends], planned[~ends]
        en.col("actual")[r_cur] = r_pl
        en.col("reason")[r_cur] = FIN
        if r_s.size:
            rule_renew = np.array([RULES[k].renew for k in range(len(SCHEMES))])[sp["scheme"][r_s]]
            new_pl = np.minimum(add_months(r_pl, rule_renew), sp["max_end"][r_s])
            new_pl = np.maximum(new_pl, sp["exit"][r_s])
            persons, parent = sp["person"][r_s], en["parent"][r_cur]
            new = self._enrol(r_s, persons, sp["scheme"][r_s], r_pl, new_pl, True, parent)
            sp.col("cur")[r_s] = new
            sp.col("renewals")[r_s] += 1
        self.closed_now.append(np.concatenate([e_cur, r_cur]))
        # Free the young person for other schemes.
        pop = self.pop
        for field in ("sp_main", "sp_pacea", "sp_eav", "sp_ppae"):
            arr = pop.a[field]
            persons = sp["person"][e_s]
            mine = arr[persons] == e_s
            arr[persons[mine]] = -1
        self.open_spells = self.open_spells[sp["open"][self.open_spells]]

    def take_records(self, mi: int, switching_mls: np.ndarray) -> np.ndarray:
        """Enrolments to deliver for `mi`: entered, renewed or ended this month, plus at an ML's switch-over
        every enrolment still open (it migrates to I-Milo with its entry date)."""
        parts = self.by_entry_month.pop(mi, []) + self.closed_now
        self.closed_now = []
        if switching_mls.size:
            en = self.en
            start = month_start(mi)
            ml = self.pop.ml[en["person"]]
            still = (en["entry"] < start) & ((en["actual"] < 0) | (en["actual"] >= start))
            parts.append(np.flatnonzero(still & np.isin(ml, switching_mls)))
        if not parts:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate(parts))


def _cats_of(female, age, level, dipl, qpv, zrr) -> dict[str, np.ndarray]:
    return {
        "female": female.astype(np.int64),
        "age": age_band(age),
        "edu": edu4(level, dipl),
        "nodipl": (~dipl).astype(np.int64),
        "qpv": qpv.astype(np.int64),
        "zrr": zrr.astype(np.int64),
    }


def _cats(pop: Population, keys: np.ndarray, age: np.ndarray, mi: int, profile: dict) -> dict:
    """The raking categories of `profile` for existing young people."""
    cats = _cats_of(pop.female[keys], age, pop.level[keys], pop.dipl[keys], pop.qpv[keys], pop.zrr[keys])
    return {k: cats[k] for k in profile}


def rake(cats: dict[str, np.ndarray], targets: dict[str, list[float]], iterations: int = 8) -> np.ndarray:
    """Iterative proportional fitting: weights that give the candidates the target margins."""
    n = next(iter(cats.values())).size
    w = np.ones(n)
    if n == 0:
        return w
    for _ in range(iterations):
        for name, target in targets.items():
            c = cats[name]
            tot = np.bincount(c, weights=w, minlength=len(target))[: len(target)]
            share = tot / max(tot.sum(), 1e-12)
            factor = np.where(share > 0, np.array(target) / np.maximum(share, 1e-12), 0.0)
            w = w * factor[c]
    return w
