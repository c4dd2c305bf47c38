"""Configuration of a generator run: what to write, where, how big, and which deliberate faults to plant."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path


@dataclass(frozen=True)
class Faults:
    """Rates of the deliberate defects planted in the deliveries, so the loader's defences can be tested.

    Every planted defect is listed in the truth folder's ``faults.csv`` (except late records, counted in
    ``late_records.csv``). Malformed and unknown-code lines are *extra* copies of valid records, so losing
    them leaves every true total intact.
    """

    # Share of events and situations delivered 1-3 months after the month they belong to (a counsellor
    # keying in a record late is the commonest real cause of revisions).
    late_rate: float = 0.03
    # Share of data lines written twice in a row (an export that paged twice over the same rows).
    duplicate_rate: float = 0.001
    # Number of I-Milo months delivered again as ``v2`` after a faulty ``v1``; v2 is the full month.
    redelivered_months: int = 1
    # Share of the re-delivered month's records missing or wrong in its faulty v1.
    redelivery_error_rate: float = 0.005
    # Share of extra lines broken at the CSV level (a field missing or too many, an unclosed quote).
    malformed_rate: float = 1e-4
    # Share of extra event lines with an event type absent from the contract's code list.
    unknown_code_rate: float = 1e-4

    @classmethod
    def none(cls) -> Faults:
        return cls(**{f.name: 0 for f in fields(cls)})


@dataclass(frozen=True)
class SynthConfig:
    out: Path  # the landing folder: deliveries go to out/<system>/<YYYY-MM>/v<N>/
    start: str = "2013-01"  # first delivery month written (YYYY-MM)
    end: str = "2025-12"  # last delivery month written
    scale: float = 0.02  # 1.0 = national volumes; smaller scales sample people and GJ groups
    seed: int = 42
    faults: Faults = field(default_factory=Faults)
    truth_dir: Path | None = None  # default: out.parent / "synthetic_truth"
    progress: bool = False  # one line per month on stderr
    ml_file: Path | None = None  # default: the repository's seeds/ref_missions_locales.csv

    @property
    def truth_path(self) -> Path:
        if self.truth_dir is not None:
            return Path(self.truth_dir)
        return Path(self.out).parent / "synthetic_truth"
