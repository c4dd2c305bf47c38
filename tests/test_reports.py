"""Reports: the secrecy rule of the charts, each chart drawn from hand-made frames, and the whole set (PNG files,
HTML page, Dagster asset with inline images) from a small warehouse whose marts follow the enforced contracts."""

from __future__ import annotations

import base64
import io
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest
import yaml
from PIL import Image

from orchestration.defs.report import ALL_MARTS, CHART_MARTS, GROUP, chart_markdown, charts, dbt_docs, secrecy_k
from orchestration.defs.resources import WarehouseResource
from orchestration.lib.ingest.schema import initialise
from orchestration.lib.report import charts as ch
from orchestration.lib.report.page import DBT_DOCS_NAME, render_page, write_page
from orchestration.lib.settings import POOL
from orchestration.lib.warehouse import open_warehouse

ROOT = Path(__file__).resolve().parents[1]
MARTS_DIR = ROOT / "dbt_project" / "models" / "marts"
K = 11


def months(first: date, count: int) -> list[date]:
    return [date(first.year + (first.month - 1 + i) // 12, (first.month - 1 + i) % 12 + 1, 1) for i in range(count)]


def assert_png(data: bytes, min_width: int = 800) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(data))
    image.verify()
    width, height = Image.open(io.BytesIO(data)).size
    assert width >= min_width and height >= 300
    return width, height


# --- secrecy ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "masked"),
    [
        ([0, 40, 25], [False, False, False]),  # nothing small
        ([3, 40, 25], [True, False, True]),  # one small cell: the smallest other one goes too
        ([3, 5, 25], [True, True, False]),  # two small cells protect each other
        ([3, 0, 0], [True, False, False]),  # a total under k hides the group
        ([4, 0, 5], [True, False, True]),
        ([11, 0, 12], [False, False, False]),  # k itself is shown
        ([None, 30, 12], [False, False, False]),
    ],
)
def test_suppress(counts, masked):
    assert ch.suppress(counts, K) == masked


def test_mask_small_leaves_zeros_and_large_counts():
    out = ch.mask_small(np.array([0, 1, 10, 11, 500]), K)
    assert out[0] == 0 and np.isnan(out[1]) and np.isnan(out[2]) and list(out[3:]) == [11, 500]


# --- each chart from a frame -----------------------------------------------------------------------------------


def entries_frame() -> pl.DataFrame:
    calendar = months(date(2014, 1, 1), 36)
    rows = []
    for index, month in enumerate(calendar):
        if month < date(2015, 1, 1):
            rows.append((month, 30 + index, 0, 0))
        elif month < date(2015, 7, 1):
            rows.append((month, 12, 15, 20 + index))
        else:
            rows.append((month, 0, 0, 60 + index))
    return pl.DataFrame(rows, schema=["month", "parcours3", "continued", "imilo"], orient="row")


def test_entries_chart_counts_and_shares():
    frame = entries_frame()
    chart = ch.plot_entries_by_system(frame, K)
    assert_png(chart.png)
    assert chart.figures["gj_entries_total"] == sum(frame["parcours3"] + frame["continued"] + frame["imilo"])
    assert chart.figures["first_month_with_imilo_entries"] == "2015-01"
    assert chart.figures["imilo_share_of_2016_entries"] == 1.0
    assert "renewal" in chart.caption and chart.source == "marts.fct_gj_spells"


def test_stock_chart_skips_empty_schemes_and_masks_small_latest():
    calendar = months(date(2021, 1, 1), 24)
    frame = pl.DataFrame(
        {
            "month": calendar,
            "GJ": [900 - 30 * i for i in range(23)] + [5],  # 5 at the end: masked
            "PACEA": [2000 + 10 * i for i in range(24)],
            "CEJ": [0] * 14 + [100 * i for i in range(1, 11)],
            "CIVIS": [0] * 24,
        }
    )
    chart = ch.plot_stock_by_scheme(frame, K)
    assert_png(chart.png)
    assert chart.figures["gj_stock_latest"] == "masked"
    assert chart.figures["pacea_stock_latest"] == 2230 and chart.figures["cej_stock_latest"] == 1000
    assert "civis_stock_latest" not in chart.figures and chart.figures["latest_month"] == "2022-12"


def intensity_frame() -> pl.DataFrame:
    rows = []
    for scheme, people, interviews in (("GJ", 400, 1.0), ("PACEA", 900, 0.5), ("CEJ", 5, 1.3)):
        for month in range(1, 25):
            rows.append((scheme, month, people, interviews / month**0.3, 3.0 if month == 1 else 0.2))
    return pl.DataFrame(
        rows,
        schema=["scheme", "seniority_month", "people", "interviews_per_person", "collective_per_person"],
        orient="row",
    )


def test_intensity_chart_hides_small_populations():
    chart = ch.plot_support_intensity(intensity_frame(), K)
    assert_png(chart.png)
    assert chart.figures == {"gj_interviews_per_person_month_1": 1.0, "pacea_interviews_per_person_month_1": 0.5}


def profile_frame() -> pl.DataFrame:
    rows = []
    for year in (2014, 2015, 2016):
        for dimension, _, categories in ch.PROFILE:
            for index, (category, _) in enumerate(categories):
                rows.append((year, dimension, category, 40 + 10 * index if year > 2014 else 3 + index))
    return pl.DataFrame(rows, schema=["year", "dimension", "category", "entrants"], orient="row")


def test_profile_chart():
    chart = ch.plot_entrant_profile(profile_frame(), K)
    assert_png(chart.png)
    assert chart.figures["first_entries_total"] == 3 + 4 + 2 * (40 + 50)
    assert 0.4 < chart.figures["share_women_all_years"] < 0.5


def test_page_captions_and_links(tmp_path):
    rendered = [ch.plot_support_intensity(intensity_frame(), K), ch.plot_entrant_profile(profile_frame(), K)]
    page = render_page(rendered, generated_at=datetime(2026, 1, 5, tzinfo=UTC), synthetic=False, k=K)
    assert "Synthetic data" not in page and "Internal working page" in page
    assert 'src="support_intensity.png"' in page and 'src="gj_entrant_profile.png"' in page
    assert f'href="{DBT_DOCS_NAME}"' in page and "1 to 10" in page
    path = write_page(tmp_path / "out", rendered, generated_at=datetime(2026, 1, 5, tzinfo=UTC), synthetic=True, k=K)
    assert "<strong>Synthetic data.</strong>" in path.read_text(encoding="utf-8")
    assert not list(path.parent.glob("*.partial"))


# --- a small warehouse with the marts' contracts ---------------------------------------------------------------


def create_from_contract(con, model: str) -> None:
    """The mart's table exactly as its enforced contract declares it (names and types)."""
    (spec,) = yaml.safe_load((MARTS_DIR / f"{model}.yml").read_text(encoding="utf-8"))["models"]
    columns = ", ".join(f'"{c["name"]}" {c["data_type"]}' for c in spec["columns"])
    con.execute(f"CREATE TABLE marts.{model} ({columns})")


def insert(con, model: str, rows: pl.DataFrame) -> None:
    """Rows by column name; the contract's other columns stay null."""
    con.register("new_rows", rows)
    con.execute(f"INSERT INTO marts.{model} BY NAME SELECT * FROM new_rows")
    con.unregister("new_rows")


def fill_marts(con) -> int:
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    for model in ("fct_gj_spells", "monthly_activity", "gj_support_intensity"):
        create_from_contract(con, model)
    rng = np.random.default_rng(7)
    calendar = months(date(2014, 1, 1), 36)
    spells = []
    for month in calendar:
        for n in range(int(rng.integers(15, 40))):
            system = "parcours3" if month < date(2015, 1, 1) else ("parcours3+imilo" if n < 3 else "imilo")
            spells.append(
                {
                    "spell_id": f"{system}:{month:%Y%m}-{n}",
                    "entry_month": month,
                    "is_renewal": n % 12 == 0,
                    "source_systems": system,
                    "sex": "female" if rng.random() < 0.45 else "male",
                    "age_band": str(rng.choice(["under_18", "18_21", "22_25"], p=[0.15, 0.6, 0.25])),
                    "education_class": str(rng.choice(["below_cap_bep", "cap_bep", "bac", "higher"])),
                    "lives_in_qpv": None if system == "parcours3" else bool(rng.random() < 0.2),
                }
            )
    insert(con, "fct_gj_spells", pl.DataFrame(spells, infer_schema_length=None))
    activity = pl.DataFrame(
        {
            "month": calendar,
            "geo_level": ["national"] * 36,
            "geo_code": ["FR"] * 36,
            "gj_stock": [200 + 20 * i for i in range(36)],
            "civis_stock": [2000 - 40 * i for i in range(36)],
            "pacea_stock": [0] * 36,
        }
    )
    insert(con, "monthly_activity", activity)
    intensity = pl.DataFrame(
        [
            ("GJ", "month", cohort, seniority, 30, 1.0 / seniority, 2.0 if seniority == 1 else 0.1, 0.3)
            for cohort in calendar[:12]
            for seniority in range(1, 13)
        ],
        schema=[
            "scheme",
            "cohort_level",
            "cohort_month",
            "seniority_month",
            "people",
            "individual_interviews_per_person",
            "workshops_per_person",
            "collective_information_per_person",
        ],
        orient="row",
    )
    insert(con, "gj_support_intensity", intensity)
    return len(spells)


@pytest.fixture
def small_warehouse(data_dir) -> int:
    with open_warehouse(data_dir.warehouse) as con:
        initialise(con)
        return fill_marts(con)


def test_charts_from_the_warehouse(data_dir, small_warehouse):
    with open_warehouse(data_dir.warehouse, read_only=True) as con:
        assert ch.is_synthetic(con)  # nothing loaded under a real key
        rendered = ch.render_charts(con, K)
    assert [c.name for c in rendered] == [
        "gj_entries_by_system",
        "stock_by_scheme",
        "support_intensity",
        "gj_entrant_profile",
    ]
    assert rendered[0].figures["gj_entries_total"] == small_warehouse
    assert rendered[0].figures["first_month_with_imilo_entries"] == "2015-01"
    assert rendered[1].figures["gj_stock_latest"] == 200 + 20 * 35
    assert "pacea_stock_latest" not in rendered[1].figures
    assert rendered[2].figures["gj_interviews_per_person_month_1"] == 1.0
    paths = ch.write_charts(rendered, data_dir.reports)
    for path in paths:
        assert_png(path.read_bytes())


def test_charts_asset(data_dir, small_warehouse):
    result = dg.materialize([charts], resources={"warehouse": WarehouseResource(lock_wait_seconds=5)})
    assert result.success
    metadata = result.asset_materializations_for_node(charts.op.name)[0].metadata
    page = Path(metadata["report_page"].value)
    assert page == data_dir.reports / "index.html"
    html = page.read_text(encoding="utf-8")
    for name in ("gj_entries_by_system", "stock_by_scheme", "support_intensity", "gj_entrant_profile"):
        png = data_dir.reports / f"{name}.png"
        assert f'src="{name}.png"' in html
        markdown = metadata[name].value
        assert markdown.startswith("![") and "](data:image/png;base64," in markdown
        inline = markdown.split("base64,", 1)[1].split(")", 1)[0]
        assert base64.b64decode(inline) == png.read_bytes()
    assert "Synthetic data" in html and metadata["synthetic_data"].value is True
    assert metadata["secrecy_k"].value == secrecy_k(ROOT / "dbt_project") == K
    assert metadata["gj_entries_total"].value == small_warehouse


def test_chart_markdown_is_image_then_caption():
    chart = ch.Chart("x", "A title", "What it shows.", "marts.x", b"\x89PNG", {})
    assert chart_markdown(chart) == "![A title](data:image/png;base64,iVBORw==)\n\nWhat it shows. Source: `marts.x`."


def test_report_assets_follow_the_marts_in_the_one_writer_pool():
    from orchestration.definitions import defs
    from orchestration.defs.automation import everything_job, transform_job
    from orchestration.defs.transform import dbt_models

    graph = defs.resolve_asset_graph()
    for asset, parents in ((charts, CHART_MARTS), (dbt_docs, ALL_MARTS)):
        node = graph.get(asset.key)
        assert node.group_name == GROUP and set(parents) <= node.parent_keys
        assert asset.op.pool == POOL
    # the charts read marts that exist, and the docs wait for every published table, whatever its folder
    assert set(CHART_MARTS) <= set(dbt_models.keys)
    published = {k for k in dbt_models.keys if k.path[-1].startswith("pub_")}
    assert dg.AssetKey(["marts", "gj_cohorts"]) in ALL_MARTS and published and published <= set(ALL_MARTS)
    for job in (everything_job, transform_job):
        assert {charts.key, dbt_docs.key} <= job.selection.resolve(graph), job.name
