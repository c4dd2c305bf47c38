"""The month loop: simulate from a burn-in start so that dossiers and spells are under way when the
first written month begins, and write each month's deliveries as soon as the month is simulated."""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

from orchestration.lib.contract import ENTITIES, SYSTEMS
from orchestration.lib.synth import records as R
from orchestration.lib.synth import targets as T
from orchestration.lib.synth.config import SynthConfig
from orchestration.lib.synth.events import Tally, generate_events
from orchestration.lib.synth.faults import corrupt_v1, split_late
from orchestration.lib.synth.network import build_network
from orchestration.lib.synth.population import Population
from orchestration.lib.synth.schemes import Schemes
from orchestration.lib.synth.situations import Situations
from orchestration.lib.synth.timeutil import business_days, mi_of, month_start, month_str
from orchestration.lib.synth.truth import write_truth
from orchestration.lib.synth.writer import Writer

BURN_IN_FROM = mi_of("2007-01")  # six years before 2013: long enough for the stock of open dossiers
P3_LAST = mi_of(SYSTEMS["parcours3"].last_month)


def generate(cfg: SynthConfig) -> dict:
    t0 = time.perf_counter()
    start_mi, end_mi = mi_of(cfg.start), mi_of(cfg.end)
    if start_mi > end_mi:
        raise ValueError(f"start {cfg.start} is after end {cfg.end}")
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(cfg.seed).spawn(8)]
    net = build_network(streams[0], cfg.ml_file)
    people, spells = _capacities(end_mi, cfg.scale)
    pop = Population(net, cfg.scale, streams[1], capacity=people)
    sch = Schemes(pop, streams[2], cfg.scale, capacity=spells)
    sits = Situations(pop, sch, streams[3])
    tally = Tally()
    ev_rng, fmt_rng = streams[4], streams[5]
    writer = Writer(Path(cfg.out), cfg.faults, streams[6], cfg.seed, cfg.scale)
    imilo_months = [m for m in range(max(start_mi, mi_of("2015-02")), end_mi + 1)]
    redeliver = set()
    if cfg.faults.redelivered_months and imilo_months:
        pick = streams[7].choice(
            len(imilo_months), min(cfg.faults.redelivered_months, len(imilo_months)), replace=False
        )
        redeliver = {imilo_months[int(i)] for i in pick}
    pending: dict[int, dict[str, list[pl.DataFrame]]] = {}
    late_log: list[dict] = []
    event_no = 0
    counts = {"parcours3": dict.fromkeys(ENTITIES, 0), "imilo": dict.fromkeys(ENTITIES, 0)}
    deliveries = 0
    # Whom the deliveries name at all: the warehouse can only know these people (the truth keeps everyone).
    delivered = np.zeros(people, dtype=bool)

    for mi in range(min(BURN_IN_FROM, start_mi), end_mi + 1):
        pop.welcome(mi)
        active = pop.in_contact(mi)
        pop.evolve(mi, active)
        sch.step(mi, active)
        active = pop.in_contact(mi)  # with the newcomers welcomed for a GJ group
        sits.step(mi, active)
        switching = np.flatnonzero(net.switch_mi == mi)
        if switching.size:  # every open dossier of a switching ML is migrated into I-Milo this month
            moved = active[np.isin(pop.ml[active], switching)]
            pop.touch(
                moved,
                business_days(
                    streams[1], np.full(moved.size, month_start(mi)), np.full(moved.size, month_start(mi) + 7)
                ),
            )
        enrol_keys = sch.take_records(mi, switching)
        sit_df = sits.take_records(mi, switching)
        touched = pop.take_touched(mi)
        if mi < start_mi:
            continue
        ev = generate_events(mi, active, pop, sch, ev_rng, tally, event_no).with_columns(
            month=pl.lit(mi, dtype=pl.Int32)
        )
        event_no += ev.height
        # Late records: never later than the last month the record's ML delivers in the same system.
        for name, df in (("events", ev), ("situations", sit_df)):
            switch = net.switch_mi[pop.ml[df["person"].to_numpy()]]
            last = np.where(mi < switch, np.minimum(np.minimum(switch - 1, P3_LAST), end_mi), end_mi)
            df = split_late(df, cfg.faults.late_rate, streams[6], last)
            for d, part in df.partition_by("deliver", as_dict=True).items():
                pending.setdefault(int(d[0]), {}).setdefault(name, []).append(part)
                if int(d[0]) != mi:
                    for system, sub in _by_system(part, pop, net, mi).items():
                        late_log.append(
                            {
                                "system": system,
                                "table": name,
                                "record_month": month_str(mi),
                                "delivery_month": month_str(int(d[0])),
                                "records": sub.height,
                            }
                        )
        arrived = pending.pop(mi, {})
        parts = {
            "young_people": touched,
            "events": pl.concat(arrived["events"]) if "events" in arrived else ev.clear(),
            "scheme_enrolments": enrol_keys,
            "situations": pl.concat(arrived["situations"]) if "situations" in arrived else sit_df.clear(),
        }
        parts = _without_orphans(parts, mi, pop, sch, net)
        delivered[parts["young_people"]] = True
        delivered[sch.en["person"][parts["scheme_enrolments"]]] = True
        for name in ("events", "situations"):
            delivered[parts[name]["person"].to_numpy()] = True
        for system in ("parcours3", "imilo"):
            if not SYSTEMS[system].delivers(month_str(mi)):
                continue
            frames = _format(system, mi, parts, pop, sch, net, cfg.seed, fmt_rng)
            for entity, df in frames.items():
                counts[system][entity] += df.height
            if mi in redeliver and system == "imilo":
                _redeliver(writer, system, mi, frames, cfg, streams[7])
            else:
                writer.write(system, mi, frames)
            deliveries += 1
        if cfg.progress:
            rows = sum(sum(c.values()) for c in counts.values())
            _progress(f"{month_str(mi)}  people {pop.n:,}  in contact {active.size:,}  rows {rows:,}", t0)

    tally.close_year()
    write_truth(cfg.truth_path, start_mi, end_mi, net, pop, sch, sits, tally, writer.planted, late_log, delivered)
    if cfg.progress:
        _progress(f"ground truth written to {cfg.truth_path}", t0)
    return {
        "out": str(cfg.out),
        "truth_dir": str(cfg.truth_path),
        "start": cfg.start,
        "end": cfg.end,
        "scale": cfg.scale,
        "seed": cfg.seed,
        "deliveries": deliveries,
        "rows": counts,
        "people": int(pop.n),
        "faults": len(writer.planted),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def _capacities(end_mi: int, scale: float) -> tuple[int, int]:
    """Room for every person and spell of the run from the start: growing big arrays step by step
    costs a copy, and the copies set the peak memory of a scale 1 run."""
    months = range(BURN_IN_FROM, end_mi + 1)
    people = sum(T.first_welcomes(m) for m in months) * scale * 1.03
    schemes = ("CIVIS", "ANI", "GJ", "EAV", "PPAE", "PACEA", "CEJ")
    spells = sum(T.scheme_entries(s, m) for s in schemes for m in months) * scale * 1.6  # + DIAG, renewals
    return int(people) + 1024, int(spells) + 1024


def _progress(text: str, t0: float) -> None:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # kB on Linux
    line = f"[synth] {text}  {time.perf_counter() - t0:.1f}s  peak RSS {peak:.2f} GB"
    print(line, file=sys.stderr, flush=True)


def _system_mask(persons: np.ndarray, months: np.ndarray, pop: Population, net) -> np.ndarray:
    """True where the record belongs to I-Milo (its ML had switched by the record's month)."""
    return months >= net.switch_mi[pop.ml[persons]]


def _orphaned(persons: np.ndarray, months: np.ndarray, pop: Population, net) -> np.ndarray:
    """True for a record dated after its ML moved to I-Milo about a person whose Parcours 3 dossier was
    closed before the move: no I-Milo dossier exists for them, so no system can deliver the record."""
    switch = net.switch_mi[pop.ml[persons]]
    return (months >= switch) & (pop.a["fw_mi"][persons] < switch) & (pop.a["end_mi"][persons] < switch)


def _without_orphans(parts: dict, mi: int, pop: Population, sch, net) -> dict:
    yp, en = parts["young_people"], parts["scheme_enrolments"]
    kept = {
        "young_people": yp[~_orphaned(yp, np.full(yp.size, mi), pop, net)],
        "scheme_enrolments": en[~_orphaned(sch.en["person"][en], np.full(en.size, mi), pop, net)],
    }
    for name in ("events", "situations"):
        df = parts[name]
        months = df["month"].to_numpy() if "month" in df.columns else np.full(df.height, mi)
        kept[name] = df.filter(pl.Series(~_orphaned(df["person"].to_numpy(), months, pop, net)))
    return kept


def _by_system(df: pl.DataFrame, pop, net, mi) -> dict[str, pl.DataFrame]:
    persons = df["person"].to_numpy()
    months = df["month"].to_numpy() if "month" in df.columns else np.full(df.height, mi)
    im = _system_mask(persons, months, pop, net)
    return {"imilo": df.filter(pl.Series(im)), "parcours3": df.filter(pl.Series(~im))}


def _format(system, mi, parts, pop, sch, net, seed, rng) -> dict[str, pl.DataFrame]:
    want_imilo = system == "imilo"
    yp = parts["young_people"]
    yp = yp[_system_mask(yp, np.full(yp.size, mi), pop, net) == want_imilo]
    en = parts["scheme_enrolments"]
    en = en[_system_mask(sch.en["person"][en], np.full(en.size, mi), pop, net) == want_imilo]
    ev = _by_system(parts["events"], pop, net, mi)[system]
    st = _by_system(parts["situations"], pop, net, mi)[system]
    ml = pop.ml
    yp = yp[np.lexsort((yp, ml[yp]))]
    en = en[np.lexsort((en, ml[sch.en["person"][en]]))]
    return {
        "young_people": R.young_people(system, mi, yp, pop, seed),
        "events": R.events(system, mi, ev.sort("event_no"), pop, rng),
        "scheme_enrolments": R.enrolments(system, mi, en, pop, sch),
        "situations": R.situations(system, mi, st.sort("sit", "month"), pop),
    }


def _redeliver(writer: Writer, system: str, mi: int, frames, cfg: SynthConfig, rng) -> None:
    """A faulty v1 (records missing or with a wrong date), then the full corrected month as v2."""
    v1, planted_v1, planted_v2 = {}, {}, {}
    for entity, df in frames.items():
        bad, wrong, missing = corrupt_v1(df, entity, cfg.faults.redelivery_error_rate, rng)
        v1[entity] = bad
        planted_v1[entity] = [(int(r) + 2, "corrected_in_v2") for r in wrong]
        planted_v2[entity] = [(int(r) + 2, "missing_in_v1") for r in missing]
    writer.write(system, mi, v1, version=1, plant=False, extra_planted=planted_v1)
    writer.write(system, mi, frames, version=2, plant=False, extra_planted=planted_v2)
