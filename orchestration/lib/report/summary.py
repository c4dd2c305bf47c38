"""The short summary `make demo` ends with: rows per layer, and young people per month."""

from __future__ import annotations

from orchestration.lib.settings import Paths
from orchestration.lib.warehouse import open_warehouse

LAYERS = ("raw", "audit", "reference", "staging", "intermediate", "harmonised", "marts", "published")


def layer_row_counts(con) -> list[tuple[str, int, int]]:
    """(schema, tables and views, rows) for each layer present."""
    objects = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN $s",
        {"s": list(LAYERS)},
    ).fetchall()
    totals: dict[str, list[int]] = {}
    for schema, name in objects:
        rows = con.execute(f'SELECT count(*) FROM "{schema}"."{name}"').fetchall()[0][0]
        entry = totals.setdefault(schema, [0, 0])
        entry[0] += 1
        entry[1] += rows
    return [(layer, *totals[layer]) for layer in LAYERS if layer in totals]


def young_people_per_month(con) -> list[tuple]:
    """(month, young people in contact, first welcomes, GJ entries) nationally, from marts.monthly_activity."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = 'marts' AND table_name = 'monthly_activity'"
    ).fetchall()[0][0]
    if not exists:
        return []
    return con.execute(
        """
        SELECT strftime(month, '%Y-%m'), young_people_in_contact, first_welcomes, gj_entries
        FROM marts.monthly_activity
        WHERE geo_level = 'national'
        ORDER BY month
        """
    ).fetchall()


def print_summary(paths: Paths) -> None:
    if not paths.warehouse.exists():
        print(f"no warehouse at {paths.warehouse} yet")
        return
    with open_warehouse(paths.warehouse, read_only=True) as con:
        print(f"Warehouse {paths.warehouse}")
        print(f"{'layer':<12}{'objects':>8}{'rows':>14}")
        for layer, objects, rows in layer_row_counts(con):
            print(f"{layer:<12}{objects:>8}{rows:>14,}")
        months = young_people_per_month(con)
        if months:
            print("\nYoung people in contact per month (national, marts.monthly_activity):")
            print("year " + "".join(f"{m:>7}" for m in range(1, 13)) + f"{'GJ entries':>12}")
            by_year: dict[str, list] = {}
            for month, in_contact, _welcomes, gj in months:
                by_year.setdefault(month[:4], [{}, 0])
                by_year[month[:4]][0][int(month[5:])] = in_contact
                by_year[month[:4]][1] += gj
            for year, (cells, gj) in by_year.items():
                row = "".join(f"{cells[m]:>7,}" if m in cells else f"{'':>7}" for m in range(1, 13))
                print(f"{year} {row}{gj:>12,}")
