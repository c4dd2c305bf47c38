"""Look at the platform the way its users do, and check what they would see.

On an already materialised MILO_DATA_DIR (`make demo`, or `milo synth` + `milo materialize`), starts the Dagster
UI (`dagster dev`) and a server for the dbt docs site, both on 127.0.0.1 and free ports, opens the main pages in
headless Chromium (Debian package `chromium`), checks that the expected names and figures are in each page, and
saves a screenshot of each under `$MILO_DATA_DIR/reports/ui/`. Every process it starts is stopped at the end,
with its whole process group, on failure and on Ctrl-C too.

    .venv/bin/python scripts/ui_check.py [--timeout 300] [--readme-images docs/images]

Exit status: 0 when every page showed what it should; 1 when a check failed (each failure is listed); 2 when
the data folder is not materialised or Chromium is missing. The Dagster daemon runs while the UI is up: the
sensors and the schedule are stopped by default, so nothing is launched unless someone turned them on.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import html
import itertools
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from orchestration.lib import settings  # noqa: E402

BIN = Path(sys.executable).parent
CHROMIUM = "/usr/bin/chromium"
LOCATION = "orchestration.definitions"
# The Dagster UI greets a loopback origin (127.0.0.1, localhost) with a newsletter dialog that would cover every
# screenshot. The same server reached under a name mapped to 127.0.0.1 is not a loopback origin to the page.
UI_HOST = "milo-ui.test"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
    f"--host-resolver-rules=MAP {UI_HOST} 127.0.0.1",
]
# Virtual time: the Dagster UI is a JavaScript app that queries its server; virtual time waits for pending
# requests, so the budget is not wall-clock time. A page that misses its text is retried with twice the budget.
VIRTUAL_TIME_MS = 15_000
WINDOW = (1600, 1000)
CHART_ASSET = ("reports", "charts")
PARTITIONED_ASSET = ("raw", "imilo__events")
MART_ASSET = ("marts", "fct_gj_spells")


@dataclass
class Page:
    name: str
    url: str
    expected: list[str]
    window: tuple[int, int] = WINDOW
    description: str = ""


@dataclass
class Outcome:
    name: str
    screenshot: Path
    missing: list[str] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.missing and not self.error


# --- processes ------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(command: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start a process in a session (and process group) of its own, output to `log`."""
    with log.open("wb") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def stop(process: subprocess.Popen, grace: float = 30.0) -> None:
    """SIGINT to the process group, then SIGTERM, then SIGKILL; also sweeps members that outlive the leader."""
    pgid = process.pid
    for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        if process.poll() is not None and not _group_alive(pgid):
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.5)
            if process.poll() is not None and not _group_alive(pgid):
                return


def _raise_exit(signum, frame):
    raise SystemExit(128 + signum)


# --- HTTP -----------------------------------------------------------------------------------------------------

# Straight to 127.0.0.1, whatever proxy the environment names.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_status(url: str) -> int | None:
    try:
        with _opener.open(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return None


def graphql(base: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{base}/graphql", data=json.dumps({"query": query}).encode(), headers={"Content-Type": "application/json"}
    )
    with _opener.open(request, timeout=30) as response:
        return json.loads(response.read())


LOCATION_QUERY = """
{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""


def wait_for_dagster(base: str, process: subprocess.Popen, timeout: float) -> float:
    """Seconds until the webserver answers 200 and the code location has loaded; raises on a load error."""
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dagster dev exited with status {process.returncode}")
        if http_status(f"{base}/server_info") == 200:
            entries = graphql(base, LOCATION_QUERY)["data"]["workspaceOrError"].get("locationEntries", [])
            entry = next((e for e in entries if e["name"] == LOCATION), None)
            if entry and entry["loadStatus"] == "LOADED":
                loaded = entry["locationOrLoadError"]
                if loaded["__typename"] != "RepositoryLocation":
                    raise RuntimeError(f"code location failed to load: {loaded.get('message', loaded)}")
                return time.monotonic() - started
        time.sleep(1.0)
    raise TimeoutError(f"Dagster UI not ready after {timeout:.0f} s")


def wait_for_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if http_status(url) == 200:
            return
        time.sleep(0.5)
    raise TimeoutError(f"{url} not answering after {timeout:.0f} s")


# --- Chromium -------------------------------------------------------------------------------------------------


def visible_text(dom: str) -> str:
    """The text a reader sees: without scripts, styles and tags, entities decoded, spaces collapsed."""
    dom = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S | re.I)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", dom)).split())


def chromium_page(page: Page, screenshot: Path, profile: Path, budget_ms: int) -> str:
    """Load the page once: screenshot to `screenshot`, DOM returned as visible text."""
    width, height = page.window
    command = [
        CHROMIUM,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
        f"--virtual-time-budget={budget_ms}",
        f"--screenshot={screenshot}",
        "--dump-dom",
        page.url,
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True
    )
    try:
        out, err = process.communicate(timeout=budget_ms / 1000 + 90)
    except subprocess.TimeoutExpired as exc:
        raise TimeoutError(f"chromium did not finish {page.url}") from exc
    finally:
        stop(process, grace=5)
    if process.returncode != 0 or not screenshot.exists():
        tail = err.decode(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"chromium failed on {page.url} (status {process.returncode}): {' | '.join(tail)}")
    return visible_text(out.decode(errors="replace"))


class DevTools:
    """Chromium driven over the DevTools protocol on a pipe (fds 3 and 4), for the one page that needs a
    click: the chart inside the Dagster UI opens from its metadata row in a dialog."""

    def __init__(self, profile: Path, window: tuple[int, int] = WINDOW):
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire_pipes():
            # duplicate first: the pipe ends may themselves be fds 3 or 4
            read_end, write_end = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        command = [
            CHROMIUM,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={window[0]},{window[1]}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire_pipes,  # only dup2 calls: safe between fork and exec
            close_fds=False,
            start_new_session=True,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._ids = itertools.count(1)
        self._buffer = b""
        self.session = ""

    def send(self, method: str, params: dict | None = None, timeout: float = 60.0) -> dict:
        message_id = next(self._ids)
        message = {"id": message_id, "method": method, "params": params or {}}
        if self.session and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == message_id:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply.get("result", {})
            ready, _, _ = select.select([self._from_browser], [], [], 0.5)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self._buffer += chunk
        raise TimeoutError(method)

    def open(self, url: str) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable")
        self.send("Page.navigate", {"url": url})

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.evaluate(expression):
                return True
            time.sleep(0.5)
        return False

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"})["data"]))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.send("Browser.close", timeout=5)
        stop(self.process, grace=5)
        for fd in (self._to_browser, self._from_browser):
            with contextlib.suppress(OSError):
                os.close(fd)


SHOW_MARKDOWN = "[Show Markdown]"
CHART_IMAGE_LOADED = (
    "(() => { const i = document.querySelector('img[src^=\"data:image/png\"]');"
    " return !!(i && i.complete && i.naturalWidth > 0); })()"
)


def chart_in_dagster(url: str, metadata_key: str, screenshot: Path, profile: Path, timeout: float) -> Outcome:
    """Open the chart asset's page, click the chart's metadata row, check the image renders, screenshot it."""
    outcome = Outcome("chart_in_dagster_ui", screenshot)
    started = time.monotonic()
    browser = DevTools(profile)
    try:
        browser.open(url)
        if not browser.wait_for(
            f"document.body && document.body.innerText.includes({json.dumps(metadata_key)})", timeout
        ):
            outcome.missing.append(metadata_key)
            return outcome
        clicked = browser.evaluate(
            "(() => { const row = [...document.querySelectorAll('tr')].find("
            f"r => r.innerText.trim().startsWith({json.dumps(metadata_key)}));"
            " if (!row) return false;"
            f" const link = [...row.querySelectorAll('*')].find(e => e.childElementCount === 0"
            f" && e.textContent.trim() === {json.dumps(SHOW_MARKDOWN)});"
            " if (!link) return false; link.click(); return true; })()"
        )
        if not clicked:
            outcome.missing.append(f"{SHOW_MARKDOWN} of {metadata_key}")
            return outcome
        if not browser.wait_for(CHART_IMAGE_LOADED, timeout):
            outcome.missing.append("chart image (data URI) rendered in the dialog")
            return outcome
        time.sleep(1.0)  # let the dialog finish its opening transition
        browser.screenshot(screenshot)
    except Exception as exc:  # reported as a failed check
        outcome.error = f"{type(exc).__name__}: {exc}"
    finally:
        browser.close()
        outcome.seconds = time.monotonic() - started
    return outcome


# --- what to expect -------------------------------------------------------------------------------------------


def expectations(paths: settings.Paths) -> dict:
    """Figures the pages must show, read from the Dagster instance (before the UI starts)."""
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(list(CHART_ASSET)))
        if event is None or event.asset_materialization is None:
            raise LookupError(
                f"{'/'.join(CHART_ASSET)} has never been materialised in {paths.dagster_home}: "
                "run `make demo` (or `milo materialize`) first"
            )
        metadata = event.asset_materialization.metadata
        partitions = instance.get_materialized_partitions(dg.AssetKey(list(PARTITIONED_ASSET)))
    return {
        "gj_entries_total": metadata["gj_entries_total"].value,
        "materialized_partitions": len(partitions),
    }


def pages(ui: str, docs: str, paths: settings.Paths, expected: dict) -> list[Page]:
    total = expected["gj_entries_total"]
    return [
        Page(
            "asset_graph",
            f"{ui}/asset-groups",
            ["Global asset lineage", "raw_parcours3", "raw_imilo", "staging", "harmonised", "marts", "reports"],
            description="the asset graph, one box per layer",
        ),
        Page(
            "marts_lineage",
            f"{ui}/locations/{LOCATION}/asset-groups/marts",
            ["fct_gj_spells", "gj_support_intensity", "pub_gj_cohorts"],
            description="the marts group, with its inputs and the reports",
        ),
        Page(
            "raw_partitions",
            f"{ui}/assets/{'/'.join(PARTITIONED_ASSET)}?view=partitions",
            [PARTITIONED_ASSET[1], f"Materialized ({expected['materialized_partitions']})", "2013-01-01"],
            description="a partitioned raw asset, one partition per delivered month",
        ),
        Page(
            "mart_asset",
            f"{ui}/assets/{'/'.join(MART_ASSET)}",
            [MART_ASSET[1], "Columns", "source_systems", "entry_month", "Latest materialization"],
            window=(1600, 2200),
            description="a mart's page: description, SQL, column schema, latest materialisation",
        ),
        Page(
            "reports_asset",
            f"{ui}/assets/{'/'.join(CHART_ASSET)}",
            ["report_page", "gj_entries_by_system", "support_intensity", SHOW_MARKDOWN, f"{total}"],
            window=(1600, 1600),
            description="the charts asset and its metadata",
        ),
        Page(
            "report_page",
            (paths.reports / "index.html").as_uri(),
            [
                "Missions locales: national charts",
                "Garantie jeunes entries per month",
                "End-of-month stock per scheme",
                "Support intensity by month of seniority",
                "Profile of young people entering the Garantie jeunes",
            ],
            window=(1300, 4200),
            description="the HTML page of the charts",
        ),
        Page(
            "dbt_docs",
            f"{docs}/#!/overview",
            ["Layers", "harmonised", "fct_gj_spells", "pub_gj_cohorts"],
            description="the dbt docs site, overview",
        ),
        Page(
            "dbt_docs_model",
            f"{docs}/#!/model/model.milo.fct_gj_spells",
            ["fct_gj_spells", "source_systems", "crosses_switch_over"],
            description="the dbt docs page of a mart",
        ),
    ]


def check_page(page: Page, out: Path, profile: Path) -> Outcome:
    outcome = Outcome(page.name, out / f"{page.name}.png")
    started = time.monotonic()
    for budget in (VIRTUAL_TIME_MS, 2 * VIRTUAL_TIME_MS):
        try:
            text = chromium_page(page, outcome.screenshot, profile, budget)
        except Exception as exc:  # reported as a failed check
            outcome.error, outcome.missing = f"{type(exc).__name__}: {exc}", []
            continue
        (out / f"{page.name}.txt").write_text(text + "\n", encoding="utf-8")
        outcome.error = ""
        outcome.missing = [e for e in page.expected if e not in text]
        if not outcome.missing:
            break
    outcome.seconds = time.monotonic() - started
    return outcome


# --- main -----------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the Dagster UI")
    parser.add_argument("--readme-images", type=Path, help="also copy the README screenshots into this folder")
    args = parser.parse_args(argv)

    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} not found: apt-get install chromium", file=sys.stderr)
        return 2
    paths = settings.prepare_environment()
    dbt_target = ROOT / "dbt_project" / "target"
    try:
        expected = expectations(paths)
    except LookupError as exc:
        print(exc, file=sys.stderr)
        return 2
    for needed in (paths.reports / "index.html", dbt_target / "index.html", dbt_target / "catalog.json"):
        if not needed.exists():
            print(f"{needed} missing: materialise reports/charts and reports/dbt_docs first", file=sys.stderr)
            return 2

    out = paths.reports / "ui"
    out.mkdir(parents=True, exist_ok=True)
    for old in [*out.glob("*.png"), *out.glob("*.txt")]:
        old.unlink()
    signal.signal(signal.SIGTERM, _raise_exit)
    signal.signal(signal.SIGHUP, _raise_exit)

    ui_port, docs_port = free_port(), free_port()
    ui, docs = f"http://{UI_HOST}:{ui_port}", f"http://127.0.0.1:{docs_port}"
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    outcomes: list[Outcome] = []
    with contextlib.ExitStack() as stack:
        profile = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ui-check-chromium-")))
        # env restores default INT/TERM handling, which dagster dev started in the background would ignore
        dagster = start(
            ["env", "--default-signal=INT,TERM", str(BIN / "dagster"), "dev", "-m", LOCATION]
            + ["-h", "127.0.0.1", "-p", str(ui_port)],
            out / "dagster_dev.log",
            env,
        )
        stack.callback(stop, dagster)
        server = start(
            [
                sys.executable,
                "-m",
                "http.server",
                str(docs_port),
                "--bind",
                "127.0.0.1",
                "--directory",
                str(dbt_target),
            ],
            out / "docs_server.log",
        )
        stack.callback(stop, server, 5.0)

        print(f"dagster dev on 127.0.0.1:{ui_port}, dbt docs on 127.0.0.1:{docs_port}; screenshots in {out}")
        try:
            ready = wait_for_dagster(f"http://127.0.0.1:{ui_port}", dagster, args.timeout)
            wait_for_http(f"{docs}/index.html", 30)
        except (RuntimeError, TimeoutError) as exc:
            print(f"FAILED to start: {exc} (log: {out / 'dagster_dev.log'})", file=sys.stderr)
            return 1
        print(f"Dagster UI ready after {ready:.0f} s")
        for page in pages(ui, docs, paths, expected):
            outcomes.append(check_page(page, out, profile))
            _report(outcomes[-1], page.description)
        chart = chart_in_dagster(
            f"{ui}/assets/{'/'.join(CHART_ASSET)}",
            "gj_entries_by_system",
            out / "chart_in_dagster_ui.png",
            profile,
            timeout=60,
        )
        outcomes.append(chart)
        _report(chart, "a chart in the Dagster UI (metadata dialog)")

    failed = [o for o in outcomes if not o.ok]
    if args.readme_images and not failed:
        args.readme_images.mkdir(parents=True, exist_ok=True)
        for name in ("asset_graph", "chart_in_dagster_ui"):
            shutil.copyfile(out / f"{name}.png", args.readme_images / f"ui_{name}.png")
    print(f"{len(outcomes) - len(failed)}/{len(outcomes)} pages as expected")
    return 1 if failed else 0


def _report(outcome: Outcome, description: str) -> None:
    status = "ok  " if outcome.ok else "FAIL"
    print(f"{status} {outcome.name:<22} {outcome.seconds:5.1f} s  {description}", flush=True)
    if outcome.error:
        print(f"     error: {outcome.error}", flush=True)
    if outcome.missing:
        print(f"     missing from the page: {outcome.missing}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
