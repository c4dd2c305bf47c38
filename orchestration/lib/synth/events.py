"""Follow-up events of a month: individual interviews, workshops, collective information, remote contacts.

How often a young person is seen depends on where they are: the first-welcome month, a quiet dossier, a
CIVIS, a GJ (daily collective workshops for ~6 weeks, then sparser follow-up largely by phone), a PACEA
(each month of the first year >= 20% interviewed, >= 30% contacted remotely, DA n°63) or a CEJ (intensive
start, ~10% of activity from month 4, DA n°46). Counts are drawn per person-month, then expanded into
one row per event with np.repeat: no loop over people.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from orchestration.lib.synth import targets as T
from orchestration.lib.synth.population import Population
from orchestration.lib.synth.schemes import ANI, CEJ, CIVIS_DC, CIVIS_R, GJ, Schemes
from orchestration.lib.synth.timeutil import busday_count, business_days, month_end, month_of, month_start

II, WS, IC, CT = range(4)  # interview, workshop, collective information, remote contact
TYPES = ("ENTRETIEN_INDIVIDUEL", "ATELIER", "INFORMATION_COLLECTIVE", "CONTACT")
MODES = ("PHYSIQUE", "TELEPHONE", "COURRIEL", "SMS", "COURRIER", "VISIO")
PHYS, TEL, MAIL, SMS, LETTER, VISIO = range(6)
STATUSES = ("Présent", "Absent", "Annulé", "Reporté")
PRESENT = 0

BASE, WELCOME, CIVIS, GJ_S, PACEA_S, DIAG_S, CEJ_S = range(7)
GJ_COLLECTIVE_DAYS = 42  # ~6 weeks of daily collective workshops after a GJ group starts
GJ_SESSIONS_PER_DAY = 1.3  # a morning session most days, an afternoon one some days

# Per state: (probability of any activity, P(interview), extra interviews, P(contact), extra contacts,
# workshops, collective information). Tuned on the 2012-2014 published totals.
BASE_ACTIVE_EARLY, BASE_ACTIVE = 0.55, 0.30
REMOTE_ONLY_PCT = 18
PARAMS = {
    BASE: (1.0, 0.43, 0.90, 0.70, 0.50, 0.10, 0.03),
    WELCOME: (1.0, 1.00, 0.35, 0.40, 0.30, 0.10, 0.25),
    CIVIS: (0.80, 0.55, 0.45, 0.65, 0.60, 0.15, 0.03),
    DIAG_S: (1.0, 0.90, 0.40, 0.50, 0.30, 0.10, 0.30),
}


class Tally:
    """What the truth files need from each month's events (present events only)."""

    def __init__(self, n_hint: int = 0):
        self.seen_year = np.zeros(n_hint, dtype=np.bool_)
        self.ii_year = np.zeros(n_hint, dtype=np.bool_)
        self.recv_year = np.zeros(n_hint, dtype=np.bool_)
        self.year = None
        self.monthly: list[dict] = []
        self.yearly: list[dict] = []
        self.intensity: list[pl.DataFrame] = []

    def _fit(self, n: int) -> None:
        for name in ("seen_year", "ii_year", "recv_year"):
            arr = getattr(self, name)
            if arr.size < n:
                grown = np.zeros(max(n, arr.size * 2), dtype=np.bool_)
                grown[: arr.size] = arr
                setattr(self, name, grown)

    def close_year(self) -> None:
        if self.year is not None:
            self.yearly.append(
                {
                    "year": self.year,
                    "in_contact": int(self.seen_year.sum()),
                    "received_individual": int(self.ii_year.sum()),
                    "received": int(self.recv_year.sum()),
                }
            )
        self.seen_year[:] = False
        self.ii_year[:] = False
        self.recv_year[:] = False


def _pois(rng, lam):
    return rng.poisson(np.maximum(lam, 0.0))


def generate_events(
    mi: int,
    active: np.ndarray,
    pop: Population,
    sch: Schemes,
    rng: np.random.Generator,
    tally: Tally,
    first_no: int,
) -> pl.DataFrame:
    n = active.size
    start, end = month_start(mi), month_end(mi)
    sp = sch.sp
    k = np.zeros(n, dtype=np.int64)
    state = np.full(n, BASE)
    t = mi - pop.fw_mi[active]
    state[t == 0] = WELCOME
    spell_entry = np.zeros(n, dtype=np.int64)
    # PACEA (or its diagnostic) first, then the exclusive schemes override it (a GJ phase inside a PACEA).
    sp_p = pop.sp_pacea[active]
    has_p = sp_p >= 0
    p_entry = np.where(has_p, sp["entry"][np.maximum(sp_p, 0)], 0)
    in_diag = has_p & (p_entry >= end)
    in_pacea = has_p & (p_entry < end)
    state[in_diag] = DIAG_S
    state[in_pacea] = PACEA_S
    k[in_pacea] = mi - month_of(p_entry[in_pacea])
    spell_entry[in_pacea] = p_entry[in_pacea]
    sp_m = pop.sp_main[active]
    has_m = sp_m >= 0
    m_scheme = np.where(has_m, sp["scheme"][np.maximum(sp_m, 0)], -1)
    m_entry = np.where(has_m, sp["entry"][np.maximum(sp_m, 0)], 0)
    for code, st in ((GJ, GJ_S), (CEJ, CEJ_S), (CIVIS_R, CIVIS), (CIVIS_DC, CIVIS), (ANI, CIVIS)):
        sel = has_m & (m_scheme == code) & (m_entry < end)
        state[sel] = st
        k[sel] = mi - month_of(m_entry[sel])
        spell_entry[sel] = m_entry[sel]

    lock = T.LOCKDOWN.get(mi, 1.0)
    active_p = np.ones(n)
    p_ii, x_ii, p_ct, x_ct = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    ws, ic = np.zeros(n), np.zeros(n)
    for st, (pa, pi, xi, pc, xc, w, c) in PARAMS.items():
        sel = state == st
        active_p[sel], p_ii[sel], x_ii[sel], p_ct[sel], x_ct[sel], ws[sel], ic[sel] = pa, pi, xi, pc, xc, w, c
    base = state == BASE
    active_p[base] = np.where(t[base] <= 2, BASE_ACTIVE_EARLY, BASE_ACTIVE)
    # Some young people keep in touch only from afar (calls, texts) outside any scheme: the published
    # gap between "in contact" and "received in individual interview" (~15%).
    remote_only = ((active.astype(np.int64) * 2_654_435_761) >> 9) % 100 < REMOTE_ONLY_PCT
    p_ii[base & remote_only] *= 0.15
    pac = state == PACEA_S
    first_year = pac & (k < 12)
    # PACEA without GJ: the DA n°63 floor (>= 20% interviewed, >= 30% contacted each month of year 1).
    p_ii[first_year] = 0.45 - 0.015 * k[first_year]
    x_ii[first_year] = 0.1
    p_ct[first_year] = 0.65 - 0.02 * k[first_year]
    x_ct[first_year] = 0.4
    ws[first_year] = 0.15
    later = pac & (k >= 12)
    active_p[later], p_ii[later], x_ii[later] = 0.5, 0.75, 0.2
    p_ct[later], x_ct[later], ws[later] = 0.6, 0.5, 0.1
    cej = state == CEJ_S
    early = cej & (k <= 2)
    p_ii[early], x_ii[early], p_ct[early], x_ct[early] = 1.0, 0.3, 0.8, 1.5
    ws[early] = np.where(k[early] == 1, 8.0, 6.0)
    ic[early] = np.where(k[early] == 0, 0.5, 0.0)
    late_cej = cej & (k > 2)
    p_ii[late_cej], x_ii[late_cej], p_ct[late_cej], x_ct[late_cej], ws[late_cej] = 0.45, 0.2, 0.7, 0.8, 0.8
    gj = state == GJ_S
    g0, g1, g2 = gj & (k == 0), gj & (k == 1), gj & (k >= 2)
    p_ii[g0], x_ii[g0], p_ct[g0], ic[g0] = 1.0, 0.4, 0.3, 1.0
    p_ii[g1], x_ii[g1], p_ct[g1], x_ct[g1] = 0.55, 0.3, 0.5, 0.3
    active_p[g2], p_ii[g2], x_ii[g2], p_ct[g2], x_ct[g2], ws[g2] = 0.92, 0.45, 0.15, 0.8, 1.0, 0.4
    # The collective phase: sessions on the working days of the first six weeks that fall in this month.
    gj_lo = np.maximum(spell_entry, start)
    gj_hi = np.minimum(spell_entry + GJ_COLLECTIVE_DAYS, end)
    gj_days = np.where(gj & (k <= 2), busday_count(gj_lo, gj_hi), 0)
    gj_ws = rng.poisson(gj_days * GJ_SESSIONS_PER_DAY * 0.9)

    is_active = rng.random(n) < active_p
    # Lockdown months: fewer face-to-face meetings, more calls.
    p_ii_l = p_ii * lock
    n_ii = np.where(is_active & (rng.random(n) < p_ii_l), 1 + _pois(rng, x_ii), 0)
    n_ct = np.where(is_active & (rng.random(n) < np.minimum(p_ct / lock, 0.95)), 1 + _pois(rng, x_ct), 0)
    n_ws = np.where(is_active, _pois(rng, ws * lock), 0)
    n_ic = np.where(is_active, _pois(rng, ic * lock), 0)
    welcome = state == WELCOME  # the first welcome is itself an interview, on the welcome day
    n_ii = np.where(welcome, np.maximum(n_ii, 1), n_ii)
    nothing = is_active & (n_ii + n_ct + n_ws + n_ic + gj_ws == 0)
    n_ct = np.where(nothing, 1, n_ct)

    lo = np.maximum(start, pop.fw_day[active])
    parts = []
    for typ, counts in ((II, n_ii), (CT, n_ct), (WS, n_ws), (IC, n_ic)):
        idx = np.repeat(np.arange(n), counts)
        parts.append((idx, np.full(idx.size, typ), business_days(rng, lo[idx], np.full(idx.size, end))))
    gidx = np.repeat(np.arange(n), gj_ws)
    parts.append((gidx, np.full(gidx.size, WS), business_days(rng, gj_lo[gidx], gj_hi[gidx])))
    idx = np.concatenate([p[0] for p in parts])
    typ = np.concatenate([p[1] for p in parts])
    day = np.concatenate([p[2] for p in parts])
    # The welcome interview happens on the welcome day.
    wel = np.flatnonzero(welcome)
    first_ii = np.searchsorted(idx[: n_ii.sum()], wel) if wel.size else wel
    day[first_ii] = pop.fw_day[active][wel]

    m = idx.size
    mode = np.full(m, PHYS)
    u = rng.random(m)
    ct = typ == CT
    imilo = mi >= pop.net.switch_mi[pop.ml[active[idx]]]
    mode[ct] = np.where(
        imilo[ct],
        np.select([u[ct] < 0.55, u[ct] < 0.80, u[ct] < 0.95], [TEL, SMS, MAIL], LETTER),
        np.select([u[ct] < 0.65, u[ct] < 0.80, u[ct] < 0.92], [TEL, LETTER, MAIL], SMS),
    )
    remote_ii = (typ == II) & imilo & (u < (0.6 if lock < 0.7 else 0.04 if mi >= 2020 * 12 + 2 else 0.0))
    mode[remote_ii] = np.where(u[remote_ii] < 0.02, VISIO, np.where(lock < 0.7, TEL, VISIO))
    status = np.zeros(m, dtype=np.int8)

    _tally(mi, tally, pop, active, idx, typ, state, k, in_pacea, n)
    # I-Milo also records the appointments that did not take place (absent, cancelled, postponed).
    miss = imilo & ((typ == II) | (typ == WS)) & (rng.random(m) < np.where(typ == II, 0.12, 0.06))
    mi_idx = np.flatnonzero(miss)
    u_miss = rng.random(mi_idx.size)  # absent 65%, cancelled 25%, postponed 10%
    mstat = np.select([u_miss < 0.65, u_miss < 0.90], [1, 2], 3).astype(np.int8)
    mday = business_days(rng, lo[idx[mi_idx]], np.full(mi_idx.size, end))
    persons = np.concatenate([active[idx], active[idx[mi_idx]]])
    df = pl.DataFrame(
        {
            "person": persons,
            "day": np.concatenate([day, mday]).astype(np.int32),
            "type": np.concatenate([typ, typ[mi_idx]]).astype(np.int8),
            "mode": np.concatenate([mode, mode[mi_idx]]).astype(np.int8),
            "status": np.concatenate([status, mstat]),
        }
    ).sort("person", "day", "type", maintain_order=True)
    return df.with_columns(event_no=pl.int_range(first_no, first_no + df.height, dtype=pl.Int64))


def _tally(mi, tally: Tally, pop, active, idx, typ, state, k, in_pacea, n) -> None:
    tally._fit(pop.n)
    if tally.year != mi // 12:
        tally.close_year()
        tally.year = mi // 12
    per = np.zeros((n, 4), dtype=np.int64)
    np.add.at(per, (idx, typ), 1)
    seen = per.sum(axis=1) > 0
    has_ii = per[:, II] > 0
    recv = (per[:, II] + per[:, WS] + per[:, IC]) > 0
    tally.seen_year[active[seen]] = True
    tally.ii_year[active[has_ii]] = True
    tally.recv_year[active[recv]] = True
    tally.monthly.append(
        {
            "month": mi,
            "in_contact": int(seen.sum()),
            "received_individual": int(has_ii.sum()),
            "individual_interviews": int(per[:, II].sum()),
            "workshops": int(per[:, WS].sum()),
            "collective_information": int(per[:, IC].sum()),
            "remote_contacts": int(per[:, CT].sum()),
        }
    )
    # Intensity by month of stay (k = 0 is the entry month) for the PACEA without GJ, GJ and CEJ.
    rows = []
    groups = (("PACEA", (state == PACEA_S) & in_pacea), ("GJ", state == GJ_S), ("CEJ", state == CEJ_S))
    for name, sel in groups:
        sel = sel & (k < 24)
        if not sel.any():
            continue
        kk = k[sel]
        rows.append(
            pl.DataFrame(
                {
                    "scheme": name,
                    "month_of_stay": kk,
                    "with_interview": per[sel, II] > 0,
                    "with_remote_contact": per[sel, CT] > 0,
                    "interviews": per[sel, II],
                    "workshops": per[sel, WS],
                    "remote_contacts": per[sel, CT],
                }
            )
            .group_by("scheme", "month_of_stay")
            .agg(
                young_people=pl.len(),
                with_interview=pl.col("with_interview").sum(),
                with_remote_contact=pl.col("with_remote_contact").sum(),
                interviews=pl.col("interviews").sum(),
                workshops=pl.col("workshops").sum(),
                remote_contacts=pl.col("remote_contacts").sum(),
            )
            .with_columns(month=pl.lit(mi))
        )
    if rows:
        tally.intensity.append(pl.concat(rows))
