"""The young people: who arrives each month (first welcome), who they are, how long they stay in contact,
and how their dossier changes (moving, finishing a diploma, new contact details).

One row per person in column arrays indexed by ``person_key``; rows are only ever appended, in order of
first welcome, so the month loop touches the recent tail rather than the whole history.
"""

from __future__ import annotations

import numpy as np

from orchestration.lib.synth import targets as T
from orchestration.lib.synth.network import Network
from orchestration.lib.synth.store import GROWTH
from orchestration.lib.synth.timeutil import business_days, month_end, month_of, month_start

# 1969 education levels, internal codes 0..6.
LEVELS = ("VI", "VBIS", "V", "IV", "III", "II", "I")
VI, VBIS, V, IV, III, II, LEVEL_I = range(7)
# Level and diploma at first welcome (DARES 2011): 39% below CAP-BEP (VI, Vbis, V without diploma),
# 20% CAP-BEP, 33% bac level, 8% higher.
LEVEL_MIX = [  # (level, diploma, share)
    (VI, False, 0.12),
    (VBIS, False, 0.12),
    (V, False, 0.15),
    (V, True, 0.20),
    (IV, False, 0.09),
    (IV, True, 0.24),
    (III, True, 0.05),
    (II, True, 0.023),
    (LEVEL_I, True, 0.007),
]
# Age at first welcome, 16..25: ~15.5% minors, about half 18-21 (DARES; Hauts-de-France 2019).
AGE_MIX = np.array([5.0, 10.5, 14.0, 14.0, 12.5, 11.0, 10.0, 9.0, 8.0, 6.0])
FEMALE_SHARE = 0.495
# Months a dossier stays in contact after the first welcome: a short-stay group and a long-stay one
# (tuned so that ~2.8 x the yearly first welcomes are in contact during a year, as published).
SHORT_SHARE, SHORT_MEAN, LONG_MEAN = 0.20, 2.0, 34.0
MOVE_RATE, LEVEL_RATE, CONTACT_RATE, UPDATE_RATE = 0.002, 0.004, 0.01, 0.02  # per person-month

_FIELDS = {
    "ml": np.int16,
    "dept": np.int16,
    "fw_day": np.int32,
    "fw_mi": np.int32,
    "birth": np.int32,
    "female": np.bool_,
    "level": np.int8,
    "dipl": np.bool_,
    "level0": np.int8,
    "dipl0": np.bool_,
    "zus": np.bool_,
    "qpv": np.bool_,
    "zrr": np.bool_,
    "end_mi": np.int32,
    "cver": np.int16,
    "maj_day": np.int32,
    "maj_mi": np.int32,
    "sp_main": np.int32,
    "sp_pacea": np.int32,
    "sp_eav": np.int32,
    "sp_ppae": np.int32,
    "in_imilo": np.bool_,
}


class Population:
    def __init__(self, net: Network, scale: float, rng: np.random.Generator, capacity: int = 1024):
        self.net, self.scale, self.rng = net, scale, rng
        self.n = 0
        self.a = {k: np.zeros(capacity, dtype=t) for k, t in _FIELDS.items()}
        for k in ("sp_main", "sp_pacea", "sp_eav", "sp_ppae"):
            self.a[k][:] = -1
        self._touched: list[np.ndarray] = []
        self.fw_debt = 0  # first welcomes already made for GJ groups, taken off the next months' draw
        # Each ML's urban/rural character sets its share of ZUS/QPV and ZRR residents.
        self.ml_rural = rng.random(net.n) < 0.30

    def __getattr__(self, name):
        a = self.__dict__.get("a")
        if a is not None and name in a:
            return a[name][: self.n]
        raise AttributeError(name)

    def _grow(self, extra: int) -> None:
        need = self.n + extra
        cap = self.a["ml"].shape[0]
        if need <= cap:
            return
        new_cap = max(need, int(cap * GROWTH))
        for k, arr in self.a.items():
            grown = np.full(new_cap, -1 if k.startswith("sp_") else 0, dtype=arr.dtype)
            grown[:cap] = arr
            self.a[k] = grown

    def welcome(self, mi: int) -> np.ndarray:
        """Create this month's first welcomes; returns their keys. Newcomers welcomed straight into a GJ
        group last month (see `draw`/`append`) are part of the same national volume."""
        rng = self.rng
        n = int(rng.poisson(T.first_welcomes(mi) * self.scale))
        taken = min(n, self.fw_debt)
        self.fw_debt -= taken
        n -= taken
        ml = rng.choice(self.net.n, n, p=self.net.weight)
        lo = np.full(n, month_start(mi))
        return self.append(self.draw(mi, ml, lo, np.full(n, month_end(mi))))

    def draw(self, mi: int, ml: np.ndarray, fw_lo: np.ndarray, fw_hi: np.ndarray) -> dict[str, np.ndarray]:
        """Characteristics of would-be first welcomes in the given MLs (not yet added)."""
        rng, n = self.rng, ml.size
        fw_day = business_days(rng, fw_lo, fw_hi)
        age = rng.choice(10, n, p=AGE_MIX / AGE_MIX.sum()) + 16
        birth = fw_day - np.floor(age * 365.25 + rng.random(n) * 365.0).astype(np.int64)
        mix = rng.choice(len(LEVEL_MIX), n, p=[s for _, _, s in LEVEL_MIX])
        level = np.array([lv for lv, _, _ in LEVEL_MIX])[mix]
        dipl = np.array([d for _, d, _ in LEVEL_MIX])[mix]
        rural = self.ml_rural[ml]
        zus = rng.random(n) < np.where(rural, 0.02, 0.16)
        qpv = np.where(zus, rng.random(n) < 0.85, rng.random(n) < np.where(rural, 0.02, 0.05))
        zrr = ~zus & (rng.random(n) < np.where(rural, 0.42, 0.02))
        short = rng.random(n) < SHORT_SHARE
        span = np.where(short, rng.geometric(1 / (1 + SHORT_MEAN), n) - 1, rng.exponential(LONG_MEAN, n))
        age_out = month_of(birth + 9497)  # 26 years
        end_mi = np.maximum(np.minimum(mi + np.round(span).astype(np.int64), age_out), mi)
        return {
            "ml": ml,
            "dept": self.net.dept[ml],
            "fw_day": fw_day,
            "fw_mi": np.full(n, mi),
            "birth": birth,
            "female": rng.random(n) < FEMALE_SHARE,
            "level": level,
            "dipl": dipl,
            "level0": level,
            "dipl0": dipl,
            "zus": zus,
            "qpv": qpv,
            "zrr": zrr,
            "end_mi": end_mi,
            "maj_day": fw_day,
            "maj_mi": np.full(n, mi),
            "in_imilo": mi >= self.net.switch_mi[ml],
        }

    def append(self, attrs: dict[str, np.ndarray]) -> np.ndarray:
        n = attrs["ml"].size
        self._grow(n)
        keys = np.arange(self.n, self.n + n)
        for name, values in attrs.items():
            self.a[name][self.n : self.n + n] = values
        self.n += n
        self._touched.append(keys)
        return keys

    def in_contact(self, mi: int) -> np.ndarray:
        """Keys of the dossiers open in month `mi` (first welcome done, not yet out of contact)."""
        # Nobody stays more than ~10 years (16 -> 26): skip the old head of the arrays.
        lo = int(np.searchsorted(self.a["fw_mi"][: self.n], mi - 130))
        sl = slice(lo, self.n)
        ok = (self.a["fw_mi"][sl] <= mi) & (self.a["end_mi"][sl] >= mi)
        return np.flatnonzero(ok) + lo

    def touch(self, keys: np.ndarray, days: np.ndarray) -> None:
        """Mark dossiers as modified on `days` (they go in this month's young_people file)."""
        if keys.size == 0:
            return
        a = self.a
        a["maj_day"][keys] = np.maximum(a["maj_day"][keys], days)
        a["maj_mi"][keys] = month_of(a["maj_day"][keys])
        self._touched.append(keys)

    def extend_contact(self, keys: np.ndarray, until_mi: np.ndarray) -> None:
        self.a["end_mi"][keys] = np.maximum(self.a["end_mi"][keys], until_mi)

    def evolve(self, mi: int, active: np.ndarray) -> None:
        """Moves, finished diplomas, new contact details and other edits of open dossiers."""
        rng, a = self.rng, self.a
        active = active[a["fw_mi"][active] < mi]
        n = active.size
        lo, hi = np.full(n, month_start(mi)), np.full(n, month_end(mi))
        u = rng.random((4, n))
        move = active[u[0] < MOVE_RATE]
        a["dept"][move] = self.net.dept[rng.choice(self.net.n, move.size, p=self.net.weight)]
        up = active[(u[1] < LEVEL_RATE) & (a["level"][active] <= IV)]
        lv, dp = a["level"][up], a["dipl"][up]
        # Finishing a course: Vbis/VI -> V with CAP; V without -> with diploma; V -> IV; IV -> III.
        new_lv = np.where(lv <= VBIS, V, np.where(~dp, lv, np.where(lv == V, IV, III)))
        a["level"][up], a["dipl"][up] = new_lv, True
        contact = active[u[2] < CONTACT_RATE]
        a["cver"][contact] += 1
        other = active[u[3] < UPDATE_RATE]
        changed = np.unique(np.concatenate([move, up, contact, other]))
        self.touch(changed, business_days(rng, lo[: changed.size], hi[: changed.size]))

    def take_touched(self, mi: int) -> np.ndarray:
        """Keys of the dossiers created or modified in `mi` (each once), and reset the list."""
        keys = np.unique(np.concatenate(self._touched)) if self._touched else np.zeros(0, dtype=np.int64)
        self._touched = []
        return keys[self.a["maj_mi"][keys] == mi]
