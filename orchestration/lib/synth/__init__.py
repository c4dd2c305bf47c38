"""Synthetic Parcours 3 / I-Milo monthly deliveries with their ground truth.

    from orchestration.lib.synth import generate, SynthConfig, Faults
    summary = generate(SynthConfig(out=Path("data/landing"), start="2013-01", end="2025-12", scale=0.02))

A deterministic, vectorised simulation of the missions locales (BRIEF sections 1-5): people arrive, stay in
contact, enter schemes with their real calendars, are seen and declare situations; each month is written
in the raw-file contract of the system their ML used that month. No Dagster import here.
"""

from orchestration.lib.synth.config import Faults, SynthConfig
from orchestration.lib.synth.generator import generate

__all__ = ["Faults", "SynthConfig", "generate"]
