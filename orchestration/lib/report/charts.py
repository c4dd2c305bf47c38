"""National charts of the marts, as PNG: Garantie jeunes entries by recording system, end-of-month stocks per
scheme, support intensity by month of seniority, profile of GJ entrants per year.

Each chart has a query (warehouse -> small Polars frame of national aggregates) and a plot (frame -> PNG), so
the plots can be tested on hand-made frames. Figures are drawn on matplotlib's Agg canvas directly, without
pyplot: no display, no global state shared between runs or threads.

Published-safe: national level only, and counts of people go through the secrecy rule of the published
tables (dbt var `secrecy_k`) before they are drawn: see `suppress`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# Same default as `secrecy_k` in dbt_project.yml; the Dagster asset passes the project's value.
DEFAULT_K = 11
DPI = 100
SWITCH_OVER = date(2015, 1, 1)
MASKED_COLOUR = "#c8c8c8"
SCHEME_COLOURS = {
    "GJ": "#d1495b",
    "PACEA": "#00798c",
    "CEJ": "#edae49",
    "CIVIS": "#66a182",
    "ANI": "#8d96a3",
    "EAV": "#2e4057",
    "DIAG": "#a05195",
    "PPAE": "#8c564b",
}
SCHEME_LABELS = {
    "GJ": "GJ (Garantie jeunes)",
    "PACEA": "PACEA",
    "CEJ": "CEJ (Contrat d'engagement jeune)",
    "CIVIS": "CIVIS",
    "ANI": "ANI jeunes",
    "EAV": "EAV (Emplois d'avenir)",
    "DIAG": "DIAG (diagnostic before PACEA)",
    "PPAE": "PPAE",
}
SYSTEMS = {
    "parcours3": ("Parcours 3", "#30638e"),
    "continued": ("Parcours 3, continued in I-Milo", "#7d5ba6"),
    "imilo": ("I-Milo", "#f08a24"),
}
# (dimension, title, [(category, label)]) of the entrant profile, in drawing order.
PROFILE = (
    ("sex", "Sex", [("female", "women"), ("male", "men")]),
    (
        "age_band",
        "Age at entry",
        [("under_18", "under 18"), ("18_21", "18-21"), ("22_25", "22-25"), ("26_plus", "26+")],
    ),
    (
        "education_class",
        "Education (DARES class)",
        [("below_cap_bep", "below CAP-BEP"), ("cap_bep", "CAP-BEP"), ("bac", "baccalauréat"), ("higher", "higher")],
    ),
    ("qpv", "Lives in a QPV", [("yes", "yes"), ("no", "no"), ("not_recorded", "not recorded (Parcours 3 dossier)")]),
)
PROFILE_COLOURS = ("#30638e", "#f08a24", "#66a182", "#a05195")


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    caption: str
    source: str
    png: bytes
    figures: dict[str, int | float | str] = field(default_factory=dict)

    @property
    def filename(self) -> str:
        return f"{self.name}.png"


# --- statistical secrecy ---------------------------------------------------------------------------------------


def suppress(counts: Sequence[int | None], k: int = DEFAULT_K) -> list[bool]:
    """Which cells of one additive group (categories of one month or year) to mask.

    Primary: counts from 1 to k-1. Secondary: when that masks one cell alone, the smallest other non-zero cell
    too, so that no masked cell is the difference between the total and the cells shown. A group whose total is
    itself under k is masked whole.
    """
    values = [int(c or 0) for c in counts]
    total = sum(values)
    if 0 < total < k:
        return [v > 0 for v in values]
    masked = [0 < v < k for v in values]
    if sum(masked) == 1:
        others = [(v, i) for i, v in enumerate(values) if v > 0 and not masked[i]]
        if others:
            masked[min(others)[1]] = True
    return masked


def mask_small(values: np.ndarray, k: int = DEFAULT_K) -> np.ndarray:
    """Counts standing alone (no total drawn beside them): 1 to k-1 become NaN (a gap in the line)."""
    out = values.astype(float)
    out[(out > 0) & (out < k)] = np.nan
    return out


# --- queries: national aggregates only -------------------------------------------------------------------------


def entries_by_system(con) -> pl.DataFrame:
    """GJ entries per month (renewals included) by the system that recorded them, over the observed months."""
    return con.sql(
        """
        WITH months AS (
            SELECT month FROM marts.monthly_activity WHERE geo_level = 'national'
        ), entries AS (
            SELECT
                entry_month AS month,
                count(*) FILTER (WHERE source_systems = 'parcours3') AS parcours3,
                count(*) FILTER (WHERE source_systems = 'parcours3+imilo') AS continued,
                count(*) FILTER (WHERE source_systems = 'imilo') AS imilo
            FROM marts.fct_gj_spells
            GROUP BY entry_month
        )
        SELECT
            months.month,
            coalesce(entries.parcours3, 0)::BIGINT AS parcours3,
            coalesce(entries.continued, 0)::BIGINT AS continued,
            coalesce(entries.imilo, 0)::BIGINT AS imilo
        FROM months
        LEFT JOIN entries USING (month)
        ORDER BY months.month
        """
    ).pl()


def stock_by_scheme(con) -> pl.DataFrame:
    """End-of-month stock of each scheme, national rows of marts.monthly_activity."""
    columns = ", ".join(f"{s.lower()}_stock::BIGINT AS {s}" for s in SCHEME_COLOURS)
    return con.sql(
        f"SELECT month, {columns} FROM marts.monthly_activity WHERE geo_level = 'national' ORDER BY month"
    ).pl()


def support_intensity(con) -> pl.DataFrame:
    """Per scheme and month of seniority, all monthly cohorts pooled (weighted by the people counted)."""
    return con.sql(
        """
        SELECT
            scheme,
            seniority_month,
            sum(people)::BIGINT AS people,
            sum(individual_interviews_per_person * people) / sum(people) AS interviews_per_person,
            sum((workshops_per_person + collective_information_per_person) * people) / sum(people)
                AS collective_per_person
        FROM marts.gj_support_intensity
        WHERE cohort_level = 'month' AND people > 0
        GROUP BY scheme, seniority_month
        ORDER BY scheme, seniority_month
        """
    ).pl()


def entrant_profile(con) -> pl.DataFrame:
    """First GJ entries per entry year, dimension and category (long format)."""
    return con.sql(
        """
        WITH entrants AS (
            SELECT
                year(entry_month) AS year,
                sex,
                age_band,
                education_class,
                CASE WHEN lives_in_qpv THEN 'yes' WHEN NOT lives_in_qpv THEN 'no' ELSE 'not_recorded' END AS qpv
            FROM marts.fct_gj_spells
            WHERE NOT is_renewal
        ), long AS (
            UNPIVOT entrants ON sex, age_band, education_class, qpv INTO NAME dimension VALUE category
        )
        SELECT year::INTEGER AS year, dimension, category, count(*)::BIGINT AS entrants
        FROM long
        GROUP BY ALL
        ORDER BY year, dimension, category
        """
    ).pl()


def is_synthetic(con) -> bool:
    """True when every active delivery was loaded under the public demo key, which only synthetic data may use."""
    real = con.execute(
        "SELECT count(*) FROM audit.ingest_ledger WHERE status = 'active' AND pseudo_key_id NOT LIKE 'demo-%'"
    ).fetchall()[0][0]
    return real == 0


# --- plots -----------------------------------------------------------------------------------------------------


def _new_figure(width: float, height: float) -> Figure:
    """A figure on matplotlib's Agg canvas. matplotlib is imported here, not with the module: every Dagster
    process loads this module with the definitions, and only the charts asset draws (about 1 s saved per
    process start)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _percent_axis(ax: Axes) -> None:
    from matplotlib.ticker import PercentFormatter

    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))


def _figure(width: float, height: float, nrows: int = 1, ncols: int = 1):
    figure = _new_figure(width, height)
    axes = figure.subplots(nrows, ncols, squeeze=False)
    return figure, axes


def _png(figure: Figure, note: str) -> bytes:
    figure.get_layout_engine().set(h_pad=0.1)
    figure.supxlabel(note, fontsize=8, color="#555555", x=0.01, ha="left")
    buffer = io.BytesIO()
    # No software/version stamp: the same data gives the same bytes.
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _style(ax: Axes) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)


def _note(source: str, synthetic: bool, k: int) -> str:
    data = "SYNTHETIC data (milo synth), not real statistics" if synthetic else "I-Milo / Parcours 3 extracts"
    return f"France, national level. Source: {source}. {data}. Counts of 1 to {k - 1} people masked (grey)."


def plot_entries_by_system(frame: pl.DataFrame, k: int = DEFAULT_K, synthetic: bool = True) -> Chart:
    months = frame["month"].to_list()
    counts = frame.select(list(SYSTEMS)).to_numpy().astype(float)
    masked = np.array([suppress(row, k) for row in counts.astype(int)], dtype=bool).reshape(counts.shape)
    shown = np.where(masked, 0.0, counts)
    hidden_total = np.where(masked, counts, 0.0).sum(axis=1)
    # a month whose total is under k is hidden whole, masked bar included
    totals = counts.sum(axis=1)
    hidden_total[(totals > 0) & (totals < k)] = 0.0

    figure = _new_figure(11, 5.6)
    top, ax = figure.subplots(2, 1, sharex=True, height_ratios=[1, 3])
    bottom = np.zeros(len(months))
    for index, (label, colour) in enumerate(SYSTEMS.values()):
        ax.bar(months, shown[:, index], width=25, bottom=bottom, color=colour, label=label, align="edge")
        bottom += shown[:, index]
    ax.bar(months, hidden_total, width=25, bottom=bottom, color=MASKED_COLOUR, label="masked", align="edge")
    ax.set_ylabel("entries per month\n(renewals included)")
    ax.legend(loc="upper left", fontsize=8, frameon=False)

    share = np.full(len(months), np.nan)
    imilo = list(SYSTEMS).index("imilo")
    visible = (totals >= k) & ~masked[:, imilo]
    share[visible] = counts[visible, imilo] / totals[visible]
    top.plot(months, share, color=SYSTEMS["imilo"][1], linewidth=1.6)
    top.set_ylim(0, 1.05)
    top.set_yticks([0, 0.5, 1])
    _percent_axis(top)
    top.set_ylabel("I-Milo share")
    for axis in (top, ax):
        _style(axis)
        axis.axvline(SWITCH_OVER, color="#333333", linestyle=":", linewidth=1)
    top.annotate(
        "I-Milo roll-out\nfrom 1 Jan 2015",
        xy=(SWITCH_OVER, 0.5),
        xytext=(-6, 0),
        textcoords="offset points",
        ha="right",
        va="center",
        fontsize=8,
        color="#333333",
    )
    title = "Garantie jeunes entries per month, by the system that recorded them"
    figure.suptitle(title, x=0.01, ha="left", fontsize=12)

    source = "marts.fct_gj_spells"
    yearly = frame.with_columns(pl.col("month").dt.year().alias("year")).group_by("year").agg(pl.sum(*SYSTEMS))
    first_imilo = frame.filter(pl.col("imilo") > 0)["month"].min()
    figures: dict[str, int | float | str] = {"gj_entries_total": int(totals.sum())}
    if first_imilo is not None:
        figures["first_month_with_imilo_entries"] = first_imilo.strftime("%Y-%m")
    for row in yearly.filter(pl.col("year") == 2016).iter_rows(named=True):
        total_2016 = row["parcours3"] + row["continued"] + row["imilo"]
        if total_2016 >= k and not any(suppress([row[s] for s in SYSTEMS], k)):
            figures["imilo_share_of_2016_entries"] = round(row["imilo"] / total_2016, 3)
    caption = (
        "Entries into the Garantie jeunes each month, France. Counting convention of the POEM series: every "
        "entry counts, a renewal included (about 8 % of entries), in the month of its start. Colour: the system "
        "that recorded the entry; 'Parcours 3, continued in I-Milo' is an entry recorded in Parcours 3 whose spell "
        "was still open when its mission locale switched to I-Milo. The line is the I-Milo share of the month's "
        "entries (top): the mission locales moved to I-Milo during 2015."
    )
    return Chart("gj_entries_by_system", title, caption, source, _png(figure, _note(source, synthetic, k)), figures)


def plot_stock_by_scheme(frame: pl.DataFrame, k: int = DEFAULT_K, synthetic: bool = True) -> Chart:
    months = frame["month"].to_list()
    figure, axes = _figure(11, 4.8)
    ax = axes[0][0]
    figures: dict[str, int | float | str] = {}
    for scheme, colour in SCHEME_COLOURS.items():
        if scheme not in frame.columns or not (frame[scheme].fill_null(0) > 0).any():
            continue
        values = mask_small(frame[scheme].fill_null(0).to_numpy(), k)
        ax.plot(months, values, color=colour, linewidth=1.6, label=SCHEME_LABELS[scheme])
        latest = values[-1]
        figures[f"{scheme.lower()}_stock_latest"] = int(latest) if not np.isnan(latest) else "masked"
    if months:
        figures["latest_month"] = months[-1].strftime("%Y-%m")
    ax.set_ylabel("young people in the scheme at month end")
    ax.set_ylim(bottom=0)
    _style(ax)
    ax.legend(loc="upper left", fontsize=8, frameon=False, ncols=2)
    title = "End-of-month stock per scheme"
    ax.set_title(title, loc="left", fontsize=12)
    source = "marts.monthly_activity"
    caption = (
        "Young people in each scheme on the last day of the month (continuous spells open then: a Garantie jeunes "
        "entry and its renewals are one spell), France. A young person in a Garantie jeunes phase inside a PACEA "
        "counts in both; the PACEA line includes them. Schemes follow their calendars: GJ from October 2013 "
        "(closed in March 2022), PACEA from 2017, CEJ from March 2022."
    )
    return Chart("stock_by_scheme", title, caption, source, _png(figure, _note(source, synthetic, k)), figures)


def plot_support_intensity(frame: pl.DataFrame, k: int = DEFAULT_K, synthetic: bool = True) -> Chart:
    figure, axes = _figure(11, 4.6, ncols=2)
    panels = (
        ("interviews_per_person", "Individual interviews per person"),
        ("collective_per_person", "Collective activities per person\n(workshops + collective information)"),
    )
    figures: dict[str, int | float | str] = {}
    for ax, (column, label) in zip(axes[0], panels, strict=True):
        for scheme in ("GJ", "PACEA", "CEJ"):
            rows = frame.filter(pl.col("scheme") == scheme).sort("seniority_month")
            if rows.is_empty():
                continue
            values = rows[column].to_numpy().astype(float)
            values[rows["people"].to_numpy() < k] = np.nan
            ax.plot(
                rows["seniority_month"].to_numpy(),
                values,
                marker="o",
                markersize=3,
                color=SCHEME_COLOURS[scheme],
                label=scheme if scheme != "PACEA" else "PACEA (without GJ)",
            )
            if column == "interviews_per_person" and not np.isnan(values[0]):
                figures[f"{scheme.lower()}_interviews_per_person_month_1"] = round(float(values[0]), 2)
        ax.set_xlim(0.5, 24.5)
        ax.set_xticks([1, 3, 6, 9, 12, 15, 18, 21, 24])
        ax.set_xlabel("month of seniority (1 = month starting on the entry date)")
        ax.set_ylim(bottom=0)
        ax.set_title(label, loc="left", fontsize=11)
        _style(ax)
    axes[0][0].legend(fontsize=8, frameon=False)
    title = "Support intensity by month of seniority: Garantie jeunes vs PACEA vs CEJ"
    figure.suptitle(title, x=0.01, ha="left", fontsize=12)
    source = "marts.gj_support_intensity"
    caption = (
        "Support received in each month of seniority (month 1 starts on the entry date), every entry cohort "
        "pooled: events that took place, divided by the people whose spell is open that month (and whose month "
        "has been delivered). Left: individual interviews; right: workshops and collective information sessions. "
        "PACEA counts PACEA spells without a Garantie jeunes phase."
    )
    return Chart("support_intensity", title, caption, source, _png(figure, _note(source, synthetic, k)), figures)


def plot_entrant_profile(frame: pl.DataFrame, k: int = DEFAULT_K, synthetic: bool = True) -> Chart:
    figure, axes = _figure(11, 7.2, nrows=2, ncols=2)
    years = sorted(frame["year"].unique().to_list())
    figures: dict[str, int | float | str] = {}
    for ax, (dimension, label, categories) in zip(axes.flat, PROFILE, strict=True):
        rows = frame.filter(pl.col("dimension") == dimension)
        counts = np.array(
            [
                [
                    rows.filter((pl.col("year") == year) & (pl.col("category") == category))["entrants"].sum()
                    for category, _ in categories
                ]
                for year in years
            ],
            dtype=float,
        ).reshape(len(years), len(categories))
        totals = counts.sum(axis=1)
        masked = np.array([suppress(row, k) for row in counts.astype(int)], dtype=bool).reshape(counts.shape)
        with np.errstate(invalid="ignore", divide="ignore"):
            shares = np.where(totals[:, None] >= k, counts / totals[:, None], 0.0)
        bottom = np.zeros(len(years))
        for index, (_, category_label) in enumerate(categories):
            values = np.where(masked[:, index], 0.0, shares[:, index])
            ax.bar(years, values, bottom=bottom, color=PROFILE_COLOURS[index], label=category_label, width=0.8)
            bottom += values
        hidden = np.where(masked, shares, 0.0).sum(axis=1)
        ax.bar(years, hidden, bottom=bottom, color=MASKED_COLOUR, label="masked", width=0.8)
        ax.set_ylim(0, 1)
        _percent_axis(ax)
        ax.set_xticks(years, [str(y) if y % 2 == 1 else "" for y in years])
        ax.set_title(label, loc="left", fontsize=11)
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        _style(ax)
        if dimension == "sex":
            women = counts[:, 0].sum()
            if counts.sum() >= k:
                figures["share_women_all_years"] = round(float(women / counts.sum()), 3)
            figures["first_entries_total"] = int(counts.sum())
    title = "Profile of young people entering the Garantie jeunes, by year of entry"
    figure.suptitle(title, x=0.01, ha="left", fontsize=12)
    source = "marts.fct_gj_spells"
    caption = (
        "First entries into the Garantie jeunes each year (renewals excluded), by their profile at entry: sex, age "
        "band (age in whole years from the birth month), DARES education class, and residence in a QPV. The QPV "
        "flag exists only in I-Milo dossiers: Parcours 3 dossiers show as 'not recorded' (their ZUS flag is a "
        "different zoning and is never equated with QPV). Years without entries have no bar."
    )
    return Chart("gj_entrant_profile", title, caption, source, _png(figure, _note(source, synthetic, k)), figures)


# --- all together ----------------------------------------------------------------------------------------------


def render_charts(con, k: int = DEFAULT_K) -> list[Chart]:
    """Query the marts and draw every chart (the connection may be read-only)."""
    synthetic = is_synthetic(con)
    return [
        plot_entries_by_system(entries_by_system(con), k, synthetic),
        plot_stock_by_scheme(stock_by_scheme(con), k, synthetic),
        plot_support_intensity(support_intensity(con), k, synthetic),
        plot_entrant_profile(entrant_profile(con), k, synthetic),
    ]


def write_charts(charts: Sequence[Chart], directory: Path) -> list[Path]:
    """Write each chart's PNG into `directory`, replacing the previous one atomically."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for chart in charts:
        path = directory / chart.filename
        partial = path.with_suffix(".png.partial")
        partial.write_bytes(chart.png)
        partial.replace(path)
        paths.append(path)
    return paths
