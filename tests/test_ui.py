"""The UI check (scripts/ui_check.py) on a small warehouse built here: synthetic deliveries, every asset
materialised through Dagster (reports and dbt docs included), then the Dagster UI and the dbt docs site
opened in headless Chromium. Slow (a few minutes): `make test-slow` or `make ui-check` on your own data."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
BIN = Path(sys.executable).parent
SCREENSHOTS = (
    "asset_graph",
    "marts_lineage",
    "raw_partitions",
    "mart_asset",
    "reports_asset",
    "report_page",
    "dbt_docs",
    "dbt_docs_model",
    "chart_in_dagster_ui",
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent: `apt-get install chromium` to run the UI check"
    ),
]


def run(*command: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=os.environ.copy())


def test_ui_check(data_dir):
    synth = run(str(BIN / "milo"), "synth", "--scale", "0.005", "--start", "2014-06", "--end", "2016-06", timeout=300)
    assert synth.returncode == 0, synth.stderr
    built = run(str(BIN / "milo"), "materialize", timeout=1800)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    assert (data_dir.reports / "index.html").exists() and (data_dir.reports / "dbt_docs.html").exists()

    check = run(sys.executable, str(ROOT / "scripts" / "ui_check.py"), timeout=900)
    assert check.returncode == 0, check.stdout + check.stderr
    for name in SCREENSHOTS:
        data = (data_dir.reports / "ui" / f"{name}.png").read_bytes()
        image = Image.open(io.BytesIO(data))
        image.verify()
        # a blank page compresses to a few KB; real content does not
        assert len(data) > 20_000, name
    # nothing left behind: the script stops every process it started
    ports = re.search(r"dagster dev on 127\.0\.0\.1:(\d+), dbt docs on 127\.0\.0\.1:(\d+)", check.stdout)
    assert ports, check.stdout
    for pattern in (f"dagster dev .*-p {ports[1]}", f"dagster_webserver --port {ports[1]}", f"http.server {ports[2]}"):
        assert subprocess.run(["pgrep", "-f", pattern], capture_output=True).returncode == 1, pattern
