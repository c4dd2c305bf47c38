"""`make bench`: the platform's cost at national scale, measured, written to docs/benchmarks.md.

For each scale (default 0.1, 0.3 and 1.0; `SCALE=0.02` for a quick check) on 2013-01..2025-12:
generation; full-history ingestion through Dagster and, on the same files, a bare DuckDB `read_csv` into a
table (the throughput limit) with their ratio; a full `dbt build`; one new month end to end (the delivery
sensor's ingest run, then the transform run: `milo materialize --only dbt`, the full dbt build a transform
run makes, through Dagster, without the reports); peak RSS of each step; and a hand-written pandas script
computing GJ entrants per month and the GJ intensity curve straight from the raw files, against the same
figures from the marts. Data are generated once per scale under BENCH_DIR and reused.

Usage: python scripts/bench.py [--scales 0.1,0.3,1.0] [--dir DIR] [--doc docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
START, END = "2013-01", "2025-12"
GNU_TIME = Path("/usr/bin/time")


@dataclass
class Step:
    name: str
    seconds: float
    peak_rss_mb: float | None
    detail: dict = field(default_factory=dict)


def run(name: str, command: list[str], env: dict, cwd: Path = ROOT) -> Step:
    """Run a command, timing it and reading its peak RSS (GNU time, when the machine has it)."""
    prefix = [str(GNU_TIME), "-f", "%M", "-o", "/tmp/milo-bench-rss"] if GNU_TIME.exists() else []
    started = time.perf_counter()
    done = subprocess.run(prefix + command, env=env, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"bench step {name!r} failed: {' '.join(command)}")
    rss = float(Path("/tmp/milo-bench-rss").read_text().split()[-1]) / 1024 if prefix else None
    print(f"  {name:<34} {seconds:8.1f} s   peak RSS {rss or 0:8.0f} MB", flush=True)
    return Step(name, seconds, rss)


def python_step(name: str, code: str, env: dict) -> Step:
    return run(name, [str(BIN / "python"), "-c", code], env)


def bench_scale(scale: float, base: Path, skip_load: bool = False) -> dict:
    """Every step at one scale. With `skip_load`, the loading steps (generation, ingestion, bare read, the
    new month's ingest run) are taken from the previous run's results and only the dbt steps, the pandas
    script and the marts query run again, on the warehouse that run left (for a change to the dbt project
    alone: the loader's figures stay those of the run that measured them)."""
    data = base / f"scale-{scale:g}"
    held = base / f"scale-{scale:g}-held"  # the last month, delivered later as "the new month"
    env = os.environ | {
        "MILO_DATA_DIR": str(data),
        "DAGSTER_HOME": str(data / "dagster"),
        "PYTHONWARNINGS": "ignore",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    env.pop("MILO_PSEUDO_KEY", None)
    steps: list[Step] = []
    print(f"scale {scale:g} in {data}", flush=True)
    landing = data / "landing"
    if skip_load:
        return _bench_transform_only(scale, base, data, env)
    generated = data / "generate-step.json"  # the generation's measurement, kept with the data it made
    if not (landing / "imilo" / END).exists() and not (held / "imilo" / END).exists():
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(held, ignore_errors=True)
        step = run(
            "generate",
            [str(BIN / "milo"), "synth", "--start", START, "--end", END, "--scale", str(scale), "--seed", "1"],
            env,
        )
        generated.write_text(json.dumps(step.__dict__))
        steps.append(step)
    elif generated.exists():
        steps.append(Step(**json.loads(generated.read_text())))
    # a fresh warehouse and Dagster instance for every bench run; the deliveries are kept
    for stale in (data / "warehouse.duckdb", data / "warehouse.duckdb.wal", data / "dagster"):
        shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)
    for system in ("parcours3", "imilo"):  # hold the last month back
        if (landing / system / END).exists():
            (held / system).mkdir(parents=True, exist_ok=True)
            shutil.move(landing / system / END, held / system / END)
    subprocess.run([str(BIN / "milo"), "env"], env=env, check=True, capture_output=True)
    last_loaded = _previous_month(END)
    files = sorted(str(p) for p in landing.rglob("*.csv"))
    rows = sum(json.loads(m.read_text())["files"][i]["rows"] for m in landing.rglob("manifest.json") for i in range(4))
    size = sum(Path(f).stat().st_size for f in files)

    steps.append(
        run(
            "ingest (Dagster raw assets)",
            [str(BIN / "milo"), "materialize", "--only", "raw", "--from", START, "--to", last_loaded],
            env,
        )
    )
    steps.append(python_step("bare DuckDB read_csv", BARE_READ.format(base=str(base), landing=str(landing)), env))
    steps += _transform_steps(env, landing, held)
    by_name = {s.name: s for s in steps}
    ingest, bare = by_name["ingest (Dagster raw assets)"], by_name["bare DuckDB read_csv"]
    loading = {
        "scale": scale,
        "rows": rows,
        "bytes": size,
        "files": len(files),
        "ratio": bare.seconds / ingest.seconds,
        "ingest_rows_per_second": rows / ingest.seconds,
        "bare_rows_per_second": rows / bare.seconds,
    }
    return _save_result(base, data, loading, steps)


def _save_result(base: Path, data: Path, loading: dict, steps: list[Step]) -> dict:
    """The scale's figures: the loading ones given, the rest from the steps and the warehouse."""
    by_name = {s.name: s for s in steps}
    result = loading | {
        "steps": [s.__dict__ for s in steps],
        "new_month_seconds": by_name["new month: sensor + ingest run"].seconds
        + by_name["new month: transform run"].seconds,
        "pandas_agrees_with_marts": _compare_pandas_and_marts(),
        "warehouse_gb": _warehouse_gb(data),
        "slowest_dbt_nodes": _slowest_dbt_nodes(data),
    }
    (base / f"results-{loading['scale']:g}.json").write_text(json.dumps(result, indent=2))
    return result


def _transform_steps(env: dict, landing: Path, held: Path, new_month_ingest: Step | None = None) -> list[Step]:
    # dbt's artefacts (run_results.json: the time of every model) stay beside the data
    target = Path(env["MILO_DATA_DIR"]) / "dbt-target"
    steps = [
        run(
            "dbt build (full)",
            [str(BIN / "dbt"), "build", "--quiet", "--target-path", str(target)],
            env,
            cwd=ROOT / "dbt_project",
        )
    ]
    if new_month_ingest:
        steps.append(new_month_ingest)
    else:
        for system in ("parcours3", "imilo"):  # the new month arrives
            if (held / system / END).exists():
                shutil.move(held / system / END, landing / system / END)
        steps.append(python_step("new month: sensor + ingest run", NEW_MONTH_INGEST, env))
    # every model rebuilt whole from what is loaded: the transform run takes no month range
    steps.append(run("new month: transform run", [str(BIN / "milo"), "materialize", "--only", "dbt"], env))
    steps.append(python_step("pandas script from raw files", PANDAS_SCRIPT.format(landing=str(landing)), env))
    steps.append(python_step("same figures from the marts", MARTS_QUERY, env))
    return steps


def _bench_transform_only(scale: float, base: Path, data: Path, env: dict) -> dict:
    previous = json.loads((base / f"results-{scale:g}.json").read_text())
    loading = ("generate", "ingest (Dagster raw assets)", "bare DuckDB read_csv", "new month: sensor + ingest run")
    kept = {step["name"]: Step(**step) for step in previous["steps"] if step["name"] in loading}
    # when the previous run delivered the held month, the full build covers it too (1/156 more data), as
    # the transform run does anyway; otherwise it is delivered now
    steps = [kept[name] for name in loading[:-1] if name in kept] + _transform_steps(
        env, data / "landing", base / f"scale-{scale:g}-held", new_month_ingest=kept.get(loading[-1])
    )
    return _save_result(base, data, previous, steps)


def _slowest_dbt_nodes(data: Path, count: int = 8) -> list[list]:
    """The dbt nodes of the full build that took longest (dbt's own timing artefact)."""
    results = data / "dbt-target" / "run_results.json"
    if not results.exists():
        return []
    nodes = json.loads(results.read_text())["results"]
    slowest = sorted(nodes, key=lambda n: -n["execution_time"])[:count]
    return [[n["unique_id"].split(".", 2)[-1].rsplit(".", 1)[0][:60], round(n["execution_time"], 1)] for n in slowest]


def _warehouse_gb(data: Path) -> float:
    return sum(p.stat().st_size for p in data.glob("warehouse.duckdb*") if p.is_file()) / 1e9


def _previous_month(month: str) -> str:
    year, mon = (int(x) for x in month.split("-"))
    return f"{year - (mon == 1):04d}-{(mon - 2) % 12 + 1:02d}"


def _compare_pandas_and_marts() -> dict:
    pandas = json.loads(Path("/tmp/milo-bench-pandas.json").read_text())
    marts = json.loads(Path("/tmp/milo-bench-marts.json").read_text())
    curve = [abs(pandas["curve"].get(m, 0) - v) for m, v in marts["curve"].items()]
    return {
        "entrants_equal": pandas["entrants"] == marts["entrants"],
        "curve_max_abs_difference": round(max(curve, default=0.0), 4),
    }


# The throughput limit: every delivered file into one table per entity, typed as text, nothing else.
# DuckDB cannot decode Windows-1252 (and refuses these files as Latin-1, for their 0x80-0x9F bytes), so the
# Parcours 3 files are read as UTF-8 with errors ignored: the same bytes scanned, the accented lines dropped.
BARE_READ = """
import duckdb, glob
con = duckdb.connect('{base}/bare.duckdb')
for prefix, delim, enc in [('P3_JEUNES', ';', 'utf-8'), ('P3_EVENEMENTS', ';', 'utf-8'),
        ('P3_DISPOSITIFS', ';', 'utf-8'), ('P3_SITUATIONS', ';', 'utf-8'), ('imilo_jeunes', ',', 'utf-8'),
        ('imilo_evenements', ',', 'utf-8'), ('imilo_dispositifs', ',', 'utf-8'), ('imilo_situations', ',', 'utf-8')]:
    files = sorted(glob.glob('{landing}/*/*/v1/' + prefix + '_*.csv'))
    if files:
        con.execute(f"CREATE OR REPLACE TABLE {{prefix}} AS SELECT * FROM read_csv($f, delim='{{delim}}', "
                    f"header=true, all_varchar=true, encoding='{{enc}}', ignore_errors=true)", {{'f': files}})
con.close()
import os; os.remove('{base}/bare.duckdb')
"""

NEW_MONTH_INGEST = (
    """
import dagster as dg, subprocess, sys, json
from pathlib import Path
from orchestration.defs.automation import delivery_sensor
instance = dg.DagsterInstance.get()
# first tick: every delivery already there (the run keys are what the sensor remembers)
from orchestration.lib.delivery import find_deliveries
from orchestration.lib import settings
paths = settings.prepare_environment()
new = [d for d in find_deliveries(paths.landing) if d.month == '"""
    + END
    + """']
seen = sorted(d.checksum for d in find_deliveries(paths.landing) if d.month != '"""
    + END
    + """')
result = delivery_sensor(dg.build_sensor_context(instance=instance, cursor=json.dumps(seen)))
requests = result.run_requests
assert len(requests) == len(new), (len(requests), len(new))
for request in requests:
    keys = ",".join(k.to_user_string() for k in request.asset_selection)
    subprocess.run([str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m",
                    "orchestration.definitions", "--select", keys, "--partition", request.partition_key],
                   check=True, capture_output=True)
"""
)

# What an analyst writes by hand: GJ entrants per month and interviews per person by month of seniority.
PANDAS_SCRIPT = """
import glob, io, json
import pandas as pd
def read(path, **kw):
    # the analyst's guard against a quote left open, which would swallow the rest of the file
    with open(path, encoding=kw.pop('encoding', 'utf-8')) as handle:
        text = ''.join(line for line in handle if line.count('"') % 2 == 0)
    return pd.read_csv(io.StringIO(text), dtype=str, on_bad_lines='skip', **kw)
frames = []
for path in glob.glob('{landing}/parcours3/*/v*/P3_DISPOSITIFS_*.csv'):
    d = read(path, sep=';', encoding='cp1252')
    d = d[d.CODE_DISPOSITIF == '30']
    frames.append(pd.DataFrame({{'id': 'p3:' + d.NUM_INSCRIPTION, 'person': 'p3:' + d.NUM_DOSSIER,
        'renewal': d.RENOUVELLEMENT, 'entry': pd.to_datetime(d.DATE_ENTREE, format='%d/%m/%Y', errors='coerce'),
        'delivery': d.MOIS_EXTRACTION, 'version': path.split('/')[-2]}}))
legacy = {{}}
for path in sorted(glob.glob('{landing}/imilo/*/v*/imilo_jeunes_*.csv')):
    d = read(path, usecols=['id_jeune', 'id_dossier_p3']).dropna()
    legacy.update(zip(d.id_jeune, d.id_dossier_p3))
for path in glob.glob('{landing}/imilo/*/v*/imilo_dispositifs_*.csv'):
    d = read(path)
    d = d[d.code_dispositif == 'GJ']
    person = d.id_jeune.map(lambda i: 'p3:' + legacy[i] if i in legacy else 'im:' + i)
    frames.append(pd.DataFrame({{'id': 'im:' + d.id_dispositif, 'person': person, 'renewal': d.renouvellement,
        'entry': pd.to_datetime(d.date_entree, format='%Y-%m-%d', errors='coerce'),
        'delivery': d.mois_extraction.str.replace('-', ''), 'version': path.split('/')[-2]}}))
gj = pd.concat(frames).dropna(subset=['entry'])
gj = gj.sort_values(['delivery', 'version']).drop_duplicates('id', keep='last')
# an enrolment open at the 2015 switch-over is in both systems' files with the same entry date
gj = gj.drop_duplicates(['person', 'entry', 'renewal'], keep='last')
entrants = gj.groupby(gj.entry.dt.strftime('%Y-%m')).size()
# interviews per person by month of seniority, for the 2019 entrants (I-Milo only by then)
enr = []
for path in glob.glob('{landing}/imilo/*/v*/imilo_dispositifs_*.csv'):
    d = read(path)
    enr.append(d[d.code_dispositif == 'GJ'].assign(delivery=path.split('/')[-3] + path.split('/')[-2]))
enr = pd.concat(enr).sort_values('delivery').drop_duplicates('id_dispositif', keep='last')
for c in ('date_entree', 'date_fin_reelle'):
    enr[c] = pd.to_datetime(enr[c], errors='coerce')
enr = enr.sort_values(['id_jeune', 'date_entree'])
enr['spell'] = (enr.renouvellement != 'O').groupby(enr.id_jeune).cumsum()
spells = enr.groupby(['id_jeune', 'spell']).agg(entry=('date_entree', 'first'), end=('date_fin_reelle', 'last'),
    first_is_renewal=('renouvellement', 'first')).reset_index()
spells = spells[(spells.entry.dt.year == 2019) & (spells.first_is_renewal != 'O')]
ev = []
for path in glob.glob('{landing}/imilo/*/v*/imilo_evenements_*.csv'):
    d = read(path, usecols=['id_evenement', 'id_jeune', 'date_evenement', 'type_evenement', 'statut'])
    ev.append(d[(d.type_evenement == 'ENTRETIEN_INDIVIDUEL') & (d.statut == 'Présent')])
ev = pd.concat(ev).drop_duplicates('id_evenement')
ev['date'] = pd.to_datetime(ev.date_evenement, errors='coerce')
last_month = max(p.split('/')[-2] for p in glob.glob('{landing}/*/*/v*'))
observed_until = pd.Timestamp(last_month + '-01') + pd.DateOffset(months=1)
curve = {{}}
joined = spells.merge(ev, on='id_jeune')
for m in range(1, 25):
    start = spells.entry + pd.DateOffset(months=m - 1)
    open_ = (start < observed_until) & (spells.end.isna() | (spells.end > start))
    people = int(open_.sum())
    if not people:
        continue
    s = joined.entry + pd.DateOffset(months=m - 1)
    e = joined.entry + pd.DateOffset(months=m)
    inside = (joined.date >= s) & (joined.date < e) & (joined.end.isna() | (joined.date < joined.end))
    curve[str(m)] = round(inside.sum() / people, 4)
json.dump({{'entrants': {{k: int(v) for k, v in entrants.items()}}, 'curve': curve}},
          open('/tmp/milo-bench-pandas.json', 'w'))
"""

MARTS_QUERY = """
import duckdb, json, os
con = duckdb.connect(os.environ['MILO_DATA_DIR'] + '/warehouse.duckdb', read_only=True)
rows = con.execute("SELECT strftime(entry_month, '%Y-%m'), entrants FROM marts.gj_cohorts "
                   "WHERE geo_level = 'national' AND entrants > 0 ORDER BY 1").fetchall()
curve = con.execute("SELECT seniority_month::VARCHAR, individual_interviews_per_person FROM marts.gj_support_intensity "
            "WHERE scheme = 'GJ' AND cohort_level = 'year' AND cohort_month = DATE '2019-01-01' ORDER BY 1").fetchall()
json.dump({'entrants': dict(rows), 'curve': dict(curve)}, open('/tmp/milo-bench-marts.json', 'w'))
"""


def machine() -> str:
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kb = int(meminfo.read_text().split("\n")[0].split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB memory"
    return (
        f"{os.cpu_count()} cores{memory}, {platform.system()} {platform.machine()}, Python {platform.python_version()}"
    )


def render(results: list[dict]) -> str:
    out = [
        f"Measured on {date.today().isoformat()}, {machine()}, with `make bench` (scripts/bench.py). Each scale's "
        "figures come from its latest run (`results-<scale>.json` in BENCH_DIR).",
        "",
    ]
    out.append("| scale | rows | files | step | time (s) | peak RSS (MB) |")
    out.append("|---|---|---|---|---|---|")
    for r in results:
        for step in r["steps"]:
            rss = f"{step['peak_rss_mb']:.0f}" if step["peak_rss_mb"] else "n/a"
            out.append(
                f"| {r['scale']:g} | {r['rows']:,} | {r['files']} | {step['name']} | {step['seconds']:.1f} | {rss} |"
            )
    out += [
        "",
        "| scale | ingestion rows/s | bare read_csv rows/s | ratio | new month end to end (s) | pandas vs marts |",
    ]
    out.append("|---|---|---|---|---|---|")
    for r in results:
        out.append(
            f"| {r['scale']:g} | {r['ingest_rows_per_second']:,.0f} | {r['bare_rows_per_second']:,.0f} | "
            f"{r['ratio']:.2f} | {r['new_month_seconds']:.0f} | {r['pandas_agrees_with_marts']} |"
        )
    out += ["", "| scale | warehouse on disk (GB) | slowest nodes of the full dbt build (s) |", "|---|---|---|"]
    for r in results:
        slowest = ", ".join(f"{name} {seconds:g}" for name, seconds in r.get("slowest_dbt_nodes", []))
        out.append(f"| {r['scale']:g} | {r.get('warehouse_gb', 0):.1f} | {slowest} |")
    return "\n".join(out)


BEGIN, END_MARK = "<!-- bench:begin -->", "<!-- bench:end -->"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", default=os.environ.get("SCALE", "0.1,0.3,1.0"))
    parser.add_argument("--dir", type=Path, default=Path(os.environ.get("BENCH_DIR", ROOT / "data" / "bench")))
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument(
        "--skip-load",
        action="store_true",
        help="keep the loading steps of the previous run at each scale; run the dbt steps again",
    )
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    for scale in args.scales.split(","):
        bench_scale(float(scale), args.dir.resolve(), args.skip_load)
    # every scale measured so far in BENCH_DIR, each from its latest run
    results = sorted(
        (json.loads(p.read_text()) for p in args.dir.glob("results-*.json")), key=lambda result: result["scale"]
    )
    results = [r for r in results if "new_month_seconds" in r]  # complete runs only
    table = render(results)
    print(table)
    doc = args.doc.read_text(encoding="utf-8") if args.doc.exists() else f"# Benchmarks\n\n{BEGIN}\n{END_MARK}\n"
    head, _, rest = doc.partition(BEGIN)
    _, _, tail = rest.partition(END_MARK)
    args.doc.write_text(head + BEGIN + "\n" + table + "\n" + END_MARK + tail, encoding="utf-8")


if __name__ == "__main__":
    main()
