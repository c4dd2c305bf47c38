"""A growable table of numpy columns: rows are appended in batches, read by column slices."""

from __future__ import annotations

import numpy as np

GROWTH = 1.5  # a gentler growth than doubling keeps the peak memory of scale 1 runs down


class Columns:
    def __init__(self, dtypes: dict[str, type], fill: dict[str, int] | None = None, capacity: int = 1024):
        self.n = 0
        self._fill = fill or {}
        self.c = {k: np.full(capacity, self._fill.get(k, 0), dtype=t) for k, t in dtypes.items()}

    def __getitem__(self, name: str) -> np.ndarray:
        return self.c[name][: self.n]

    def col(self, name: str) -> np.ndarray:
        """The full backing array (for in-place updates by key)."""
        return self.c[name]

    def append(self, **values) -> np.ndarray:
        size = max(np.size(v) for v in values.values())
        need = self.n + size
        cap = next(iter(self.c.values())).shape[0]
        if need > cap:
            new_cap = max(need, int(cap * GROWTH))
            for k, arr in self.c.items():
                grown = np.full(new_cap, self._fill.get(k, 0), dtype=arr.dtype)
                grown[:cap] = arr
                self.c[k] = grown
        keys = np.arange(self.n, need)
        for k, v in values.items():
            self.c[k][self.n : need] = v
        self.n = need
        return keys
