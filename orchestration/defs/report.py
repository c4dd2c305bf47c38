"""Reports, rebuilt after the marts: national charts with their HTML page, and the dbt docs site.

Both assets open the DuckDB file (the charts read-only, `dbt docs generate` to build its catalog). DuckDB
refuses any second process while one writes, read-only included, and dbt does not retry: so they belong to
the one-writer pool too, and never hold the file while a load or a dbt build runs.
"""

import base64
import shutil
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import yaml
from dagster_dbt import DbtCliResource

from orchestration.defs.dbt_project import dbt_project
from orchestration.defs.resources import WarehouseResource
from orchestration.defs.transform import DOCS_URL, dbt_models
from orchestration.lib.report.charts import Chart, is_synthetic, render_charts, write_charts
from orchestration.lib.report.page import DBT_DOCS_NAME, write_page
from orchestration.lib.settings import POOL

GROUP = "reports"
CHART_MARTS = [dg.AssetKey(["marts", name]) for name in ("fct_gj_spells", "gj_support_intensity", "monthly_activity")]
# The docs describe every model: they wait for the marts and the published tables (the leaves of the dbt
# graph). dbt_models is one step, so waiting for some of its keys already waits for the whole build; the
# lineage drawn in the UI is what these deps add.
ALL_MARTS = sorted(
    {key for key in dbt_models.keys if key.path[0] in ("marts", "published")},
    key=lambda key: key.to_user_string(),
)
DBT_DOCS_STATIC = "static_index.html"


def secrecy_k(project_dir: Path) -> int:
    """The statistical secrecy threshold of the published tables (dbt var `secrecy_k`): one value for both."""
    config = yaml.safe_load((project_dir / "dbt_project.yml").read_text(encoding="utf-8"))
    return int(config["vars"]["secrecy_k"])


def chart_markdown(chart: Chart) -> str:
    """The chart inline (data URI: the UI shows it without reaching the file) above its caption."""
    data = base64.b64encode(chart.png).decode("ascii")
    return f"![{chart.title}](data:image/png;base64,{data})\n\n{chart.caption} Source: `{chart.source}`."


@dg.asset(
    key=dg.AssetKey([GROUP, "charts"]),
    group_name=GROUP,
    deps=CHART_MARTS,
    kinds={"python", "html"},
    pool=POOL,
    # Unpartitioned, with the dbt assets' policy, so that a month-range run can carry it at the end.
    backfill_policy=dg.BackfillPolicy.single_run(),
    tags={"layer": "reports"},
    description=(
        "National charts of the marts, as PNG files in `$MILO_DATA_DIR/reports/` with the page `index.html`, and "
        "inline below: Garantie jeunes entries per month by recording system (Parcours 3 / I-Milo), end-of-month "
        "stock per scheme, support intensity by month of seniority (GJ, PACEA, CEJ), profile of GJ entrants per "
        "year. National level only; counts under the secrecy threshold masked."
    ),
)
def charts(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    k = secrecy_k(Path(dbt_project.project_dir))
    reports = warehouse.paths.reports
    with warehouse.connect(read_only=True) as con:
        rendered = render_charts(con, k)
        synthetic = is_synthetic(con)
    files = write_charts(rendered, reports)
    page = write_page(
        reports,
        rendered,
        generated_at=datetime.now(UTC),
        synthetic=synthetic,
        k=k,
        warehouse=str(warehouse.path),
    )
    context.log.info(f"{len(files)} charts and {page} written")
    metadata: dict[str, object] = {
        "report_page": dg.MetadataValue.path(str(page)),
        "charts_folder": dg.MetadataValue.path(str(reports)),
        "synthetic_data": synthetic,
        "secrecy_k": k,
    }
    for chart in rendered:
        metadata[chart.name] = dg.MetadataValue.md(chart_markdown(chart))
        metadata.update(chart.figures)
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    key=dg.AssetKey([GROUP, "dbt_docs"]),
    group_name=GROUP,
    deps=ALL_MARTS,
    kinds={"dbt", "html"},
    pool=POOL,
    backfill_policy=dg.BackfillPolicy.single_run(),
    tags={"layer": "reports"},
    description=(
        "The dbt docs site (models, columns, tests, lineage, and the warehouse catalog), regenerated after the "
        "marts: `dbt docs generate --static` into dbt_project/target (served by `make docs`), and its single-file "
        f"version copied to `$MILO_DATA_DIR/reports/{DBT_DOCS_NAME}`."
    ),
)
def dbt_docs(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    # Exports MILO_DATA_DIR, which the dbt profile reads, before dbt starts.
    reports = warehouse.paths.reports
    project_dir = Path(dbt_project.project_dir)
    # The folder `make docs` serves, rather than one folder per run; the log where plain dbt writes it
    # (dagster-dbt would put it beside the artefacts, where it would grow with every build).
    target = project_dir / "target"
    arguments = ["docs", "generate", "--static", "--log-path", str(project_dir / "logs")]
    invocation = dbt.cli(arguments, manifest=dbt_project.manifest_path, target_path=target).wait()
    catalog = invocation.get_artifact("catalog.json")
    reports.mkdir(parents=True, exist_ok=True)
    copy = reports / DBT_DOCS_NAME
    partial = copy.with_suffix(".html.partial")
    shutil.copyfile(target / DBT_DOCS_STATIC, partial)
    partial.replace(copy)
    context.log.info(f"dbt docs: {target / 'index.html'}, single file {copy}")
    return dg.MaterializeResult(
        metadata={
            "static_file": dg.MetadataValue.path(str(copy)),
            "site_folder": dg.MetadataValue.path(str(target)),
            "serve": dg.MetadataValue.md(f"`make docs` serves the site on {DOCS_URL} (DOCS_PORT)."),
            "catalog_relations": len(catalog.get("nodes", {})) + len(catalog.get("sources", {})),
            "static_file_bytes": copy.stat().st_size,
        }
    )


report_assets = [charts, dbt_docs]
