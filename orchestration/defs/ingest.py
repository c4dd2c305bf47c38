"""Raw assets: one per system and table, monthly partitioned, loading deliveries from landing/ into `raw`.

Contract: docs/raw-formats.md. Each file is loaded in one DuckDB transaction (orchestration.lib.ingest).
"""

import dagster as dg

from orchestration.defs.partitions import monthly_partitions, months_in_window
from orchestration.defs.resources import WarehouseResource
from orchestration.lib.contract import SYSTEMS, Table
from orchestration.lib.ingest.loading import MAX_REJECT_RATE, FileResult, raw_table_name, warehouse_columns
from orchestration.lib.ingest.months import NoDeliveryExpected, ingest_months
from orchestration.lib.settings import POOL

PREVIEW_ROWS = 5
CHECK_RECONCILED = "manifest_reconciled"
CHECK_REJECT_RATE = "reject_rate_below_limit"


def raw_asset_key(table: Table) -> dg.AssetKey:
    return dg.AssetKey(["raw", table.raw_table])


def _spec(table: Table) -> dg.AssetSpec:
    system = SYSTEMS[table.system]
    columns = dg.TableSchema(columns=[dg.TableColumn(name, sql_type) for name, sql_type in warehouse_columns(table)])
    return dg.AssetSpec(
        key=raw_asset_key(table),
        group_name=f"raw_{table.system}",
        kinds={"duckdb", "csv"},
        description=(
            f"{system.label} `{table.file_prefix}` files ({table.entity.replace('_', ' ')}), one month per "
            f"partition, loaded into `{raw_table_name(table)}`. Contract: docs/raw-formats.md, section "
            f"'{system.label}: {table.entity}'. Identifiers pseudonymised, names/contacts/NIR/free text dropped, "
            "birth dates coarsened to the month; rejected lines in audit.quarantine; one ledger row per file."
        ),
        metadata={"dagster/column_schema": columns, "dagster/table_name": raw_table_name(table)},
        tags={"layer": "raw", "system": table.system},
    )


def _file_metadata(result: FileResult | NoDeliveryExpected) -> dict:
    if isinstance(result, NoDeliveryExpected):
        return {"delivery": "no delivery expected", "reason": result.reason, "rows_loaded": 0}
    meta = {
        "delivery": f"v{result.version}",
        "status": result.status,
        "file": dg.MetadataValue.path(result.file),
        "file_sha256": result.sha256,
        "rows_in_file": result.rows_in_file,
        "rows_loaded": result.rows_loaded,
        "rows_rejected": result.rows_rejected,
        "reject_rate": round(result.reject_rate, 6),
        "pseudo_key_id": result.key_id,
        "load_seconds": round(result.seconds, 3),
    }
    if result.key_id.startswith("demo-"):
        meta["WARNING"] = "PUBLIC DEMO KEY: pseudonyms are NOT protected. Synthetic data only; set MILO_PSEUDO_KEY."
    return meta


def build_raw_assets(system_name: str) -> dg.AssetsDefinition:
    system = SYSTEMS[system_name]
    tables = list(system.tables.values())
    check_specs = [
        spec
        for t in tables
        for spec in (
            dg.AssetCheckSpec(
                CHECK_RECONCILED, asset=raw_asset_key(t), description="rows loaded + rejected = rows in manifest"
            ),
            dg.AssetCheckSpec(
                CHECK_REJECT_RATE,
                asset=raw_asset_key(t),
                description=f"share of rejected lines at most {MAX_REJECT_RATE:.0%} (above, the file fails)",
            ),
        )
    ]

    @dg.multi_asset(
        name=f"raw_{system_name}",
        specs=[_spec(t) for t in tables],
        check_specs=check_specs,
        partitions_def=monthly_partitions,
        # One run per range: a 3-month re-run or a 13-year backfill is one run, like the dbt assets.
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=POOL,
        can_subset=True,
    )
    def _raw_assets(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        months = months_in_window(context.partition_time_window)
        landing = warehouse.paths.landing
        selected = [t for t in tables if raw_asset_key(t) in context.selected_asset_keys]
        with warehouse.connect() as con:
            for table in selected:
                results = []
                for result in ingest_months(con, landing, system_name, table.entity, months, context.run.run_id):
                    results.append(result)
                    context.log.debug(f"{system_name}/{table.entity}/{result.month}: {_file_metadata(result)}")
                loaded = [r for r in results if isinstance(r, FileResult)]
                fresh = sum(r.status == "loaded" for r in loaded)
                context.log.info(
                    f"{raw_table_name(table)}: {len(loaded)} files, {fresh} loaded, "
                    f"{sum(r.rows_loaded for r in loaded):,} rows, {sum(r.rows_rejected for r in loaded):,} rejected"
                )
                metadata = _file_metadata(results[-1]) if len(results) == 1 else _range_metadata(results)
                metadata["dagster/row_count"] = con.execute(f"SELECT count(*) FROM {raw_table_name(table)}").fetchall()[
                    0
                ][0]
                metadata["preview"] = dg.MetadataValue.md(_preview(con, table))
                yield dg.MaterializeResult(asset_key=raw_asset_key(table), metadata=metadata)
                yield dg.AssetCheckResult(
                    asset_key=raw_asset_key(table),
                    check_name=CHECK_RECONCILED,
                    passed=all(r.rows_loaded + r.rows_rejected == r.rows_in_file for r in loaded),
                    metadata={"files": len(loaded)},
                )
                worst = max((r.reject_rate for r in loaded), default=0.0)
                yield dg.AssetCheckResult(
                    asset_key=raw_asset_key(table),
                    check_name=CHECK_REJECT_RATE,
                    passed=worst <= MAX_REJECT_RATE,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={"worst_reject_rate": round(worst, 6)},
                )

    return _raw_assets


def _range_metadata(results: list) -> dict:
    loaded = [r for r in results if isinstance(r, FileResult)]
    return {
        "months": len(results),
        "files_loaded": sum(r.status == "loaded" for r in loaded),
        "files_unchanged": sum(r.status == "unchanged" for r in loaded),
        "months_without_delivery_expected": len(results) - len(loaded),
        "rows_loaded": sum(r.rows_loaded for r in loaded),
        "rows_rejected": sum(r.rows_rejected for r in loaded),
    }


def _preview(con, table: Table) -> str:
    frame = con.sql(
        f"SELECT * FROM {raw_table_name(table)} ORDER BY _delivery_month DESC, _source_line LIMIT {PREVIEW_ROWS}"
    ).pl()
    if frame.is_empty():
        return "_no rows yet_"
    header = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * len(frame.columns) + "\n"
    rows = ["| " + " | ".join(_short(v) for v in row) + " |" for row in frame.iter_rows()]
    return header + "\n".join(rows)


def _short(value) -> str:
    text = "" if value is None else str(value)
    return text[:12] + "…" if len(text) > 16 else text


raw_assets = [build_raw_assets(name) for name in SYSTEMS]
