"""`milo`: the command line of the platform (generate data, run the pipeline, summarise the warehouse).

Running the pipeline goes through Dagster's own CLI so that every run is recorded in the instance under
$MILO_DATA_DIR/dagster and shows in the UI exactly like a run launched there.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from orchestration.lib import settings

DEFAULT_START, DEFAULT_END = "2013-01", "2025-12"
# Small enough for a first `make demo` (install included) well under 10 minutes on 2 cores.
DEFAULT_SCALE = 0.02
DEFAULT_SEED = 20130101
# Every dbt asset (seeds and models, whatever their folder), not the reports, whose dbt_docs is a dbt kind too.
DBT_SELECTION = "kind:dbt and not group:reports"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="milo", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    synth = commands.add_parser("synth", help="generate synthetic monthly deliveries (and their ground truth)")
    synth.add_argument("--out", type=Path, help="landing folder (default: $MILO_DATA_DIR/landing)")
    synth.add_argument("--truth", type=Path, help="ground-truth folder (default: beside --out, never ingested)")
    synth.add_argument("--start", default=DEFAULT_START, help="first month, YYYY-MM")
    synth.add_argument("--end", default=DEFAULT_END, help="last month, YYYY-MM")
    synth.add_argument("--scale", type=float, default=DEFAULT_SCALE, help="1.0 = national volumes")
    synth.add_argument("--seed", type=int, default=DEFAULT_SEED)
    synth.add_argument("--no-faults", action="store_true", help="no late, duplicate, malformed or corrected data")
    synth.add_argument("--if-empty", action="store_true", help="do nothing if the landing folder has deliveries")
    synth.add_argument("--report", action="store_true", help="print the calibration report afterwards")
    synth.add_argument("--progress", action="store_true", help="one progress line per month on stderr")

    run = commands.add_parser(
        "materialize", help="ingest a month range, then build every dbt model and the reports, in one Dagster run"
    )
    run.add_argument("--from", dest="start", help="first month YYYY-MM (default: first delivered month)")
    run.add_argument("--to", dest="end", help="last month YYYY-MM (default: last delivered month)")
    run.add_argument(
        "--only",
        choices=["raw", "dbt"],
        help="only the raw assets of the range, or only the dbt models (a full dbt build, without --from/--to)",
    )
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"], help="run log level")

    commands.add_parser("summary", help="rows per layer and young people per month")
    sources = commands.add_parser("dbt-sources", help="regenerate the dbt sources file from the contract")
    sources.add_argument("--check", action="store_true", help="fail if the committed file is out of date")
    doc = commands.add_parser("contract-doc", help="regenerate the column tables of docs/raw-formats.md")
    doc.add_argument("--check", action="store_true", help="fail if the document is out of date")
    commands.add_parser("env", help="print the resolved paths as shell variables")

    args = parser.parse_args(argv)
    paths = settings.prepare_environment()
    return {
        "synth": _synth,
        "materialize": _materialize,
        "summary": _summary,
        "dbt-sources": _dbt_sources,
        "contract-doc": _contract_doc,
        "env": _env,
    }[args.command](args, paths)


def _synth(args, paths: settings.Paths) -> int:
    from orchestration.lib.delivery import find_deliveries
    from orchestration.lib.synth import Faults, SynthConfig, generate

    out = (args.out or paths.landing).resolve()
    if args.if_empty and find_deliveries(out):
        print(f"{out} already holds deliveries: nothing generated")
        return 0
    truth = (args.truth or out.parent / "synthetic_truth").resolve()
    config = SynthConfig(
        out=out,
        start=args.start,
        end=args.end,
        scale=args.scale,
        seed=args.seed,
        faults=Faults.none() if args.no_faults else Faults(),
        truth_dir=truth,
        progress=args.progress,
    )
    summary = generate(config)
    print(summary)
    if args.report:
        from orchestration.lib.synth.calibration import calibration_report, format_report

        print(format_report(calibration_report(truth, args.scale)))
    return 0


def delivered_months(landing: Path) -> list[str]:
    from orchestration.lib.delivery import find_deliveries

    return sorted({d.month for d in find_deliveries(landing)})


def _dagster(*arguments: str) -> None:
    command = [str(Path(sys.executable).parent / "dagster"), *arguments]
    print("+", " ".join(command), flush=True)
    # Dagster's own deprecation and beta notices are for the platform's developers, not its users.
    subprocess.run(command, check=True, env=os.environ | {"PYTHONWARNINGS": "ignore"})


def raw_selection() -> str:
    from orchestration.lib.contract import all_tables

    return ",".join(f"raw/{t.raw_table}" for t in all_tables())


def materialize_command(only: str | None, start: str | None, end: str | None, log_level: str = "INFO") -> list[str]:
    """The `dagster` arguments of `milo materialize`."""
    selection = {None: "*", "raw": raw_selection(), "dbt": DBT_SELECTION}[only]
    command = ["asset", "materialize", "-m", "orchestration.definitions", "--select", selection]
    # The dbt assets are unpartitioned: Dagster refuses a partition range when they are all a run selects.
    if only != "dbt":
        # Every asset has a single-run backfill policy: the range of raw months is one run whatever its
        # length, and the dbt assets in it build once, after the ingestion.
        command += ["--partition-range", f"{start}-01...{end}-01"]
    # Run events at INFO: the progress of each step, not every partition's materialisation event.
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    return command + ["--config-json", json.dumps(run_config)]


def _materialize(args, paths: settings.Paths) -> int:
    if args.only == "dbt":
        if args.start or args.end:
            print("--only dbt rebuilds every model from what is loaded: it takes no --from/--to", file=sys.stderr)
            return 2
        _dagster(*materialize_command("dbt", None, None, args.log_level))
        return 0
    months = delivered_months(paths.landing)
    if not months and not (args.start and args.end):
        print(f"no deliveries under {paths.landing}: run `milo synth` first", file=sys.stderr)
        return 1
    start, end = args.start or months[0], args.end or months[-1]
    _dagster(*materialize_command(args.only, start, end, args.log_level))
    return 0


def _summary(args, paths: settings.Paths) -> int:
    from orchestration.lib.report.summary import print_summary

    print_summary(paths)
    return 0


def _dbt_sources(args, paths: settings.Paths) -> int:
    from orchestration.lib import dbt_sources

    if args.check:
        current = dbt_sources.SOURCES_PATH.read_text(encoding="utf-8")
        if current != dbt_sources.render():
            print(f"{dbt_sources.SOURCES_PATH} is out of date: run `milo dbt-sources`", file=sys.stderr)
            return 1
        return 0
    print(dbt_sources.write())
    return 0


def _contract_doc(args, paths: settings.Paths) -> int:
    from orchestration.lib import contract_doc

    if args.check:
        if not contract_doc.is_current():
            print(f"{contract_doc.DOC_PATH} is out of date: run `milo contract-doc`", file=sys.stderr)
            return 1
        return 0
    print(contract_doc.write())
    return 0


def _env(args, paths: settings.Paths) -> int:
    print(f"export MILO_DATA_DIR={paths.data_dir}")
    print(f"export DAGSTER_HOME={os.environ['DAGSTER_HOME']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
