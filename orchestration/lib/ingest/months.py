"""Loading one system's table for one month: which delivery, which key, or why there is nothing to load."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.lib.contract import SYSTEMS
from orchestration.lib.delivery import Delivery, DeliveryError, latest_delivery
from orchestration.lib.ingest.loading import (
    FaultHook,
    FileResult,
    PreparedFile,
    ensure_warehouse,
    load_file,
    load_prepared,
    prepare_file,
)
from orchestration.lib.pseudonymise import key_from_environment


class MissingDeliveryError(DeliveryError):
    pass


@dataclass(frozen=True)
class NoDeliveryExpected:
    system: str
    entity: str
    month: str
    reason: str


def _delivery_for(landing: Path, system: str, entity: str, month: str) -> Delivery | NoDeliveryExpected:
    spec = SYSTEMS[system]
    if not spec.delivers(month):
        window = f"{spec.first_month or 'the start'} to {spec.last_month or 'now'}"
        return NoDeliveryExpected(system, entity, month, f"{spec.label} delivers from {window}")
    delivery = latest_delivery(landing, system, month)
    if delivery is None:
        raise MissingDeliveryError(
            f"no {spec.label} delivery for {month}: expected {landing / system / month}/v<N>/manifest.json "
            f"listing {spec.tables[entity].file_name(month)}"
        )
    return delivery


def ingest_month(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    system: str,
    entity: str,
    month: str,
    run_id: str = "",
    fault_hook: FaultHook | None = None,
) -> FileResult | NoDeliveryExpected:
    delivery = _delivery_for(landing, system, entity, month)
    if isinstance(delivery, NoDeliveryExpected):
        return delivery
    # The public demo key is accepted for synthetic deliveries only; real ones need MILO_PSEUDO_KEY.
    key = key_from_environment(allow_demo=delivery.is_synthetic)
    return load_file(con, delivery, entity, key, run_id=run_id, fault_hook=fault_hook, workdir=landing.parent)


def ingest_months(
    con: duckdb.DuckDBPyConnection, landing: Path, system: str, entity: str, months: list[str], run_id: str = ""
) -> Iterator[FileResult | NoDeliveryExpected]:
    """`ingest_month` over a range, in order, each file in its own transaction; stops at the first failure.

    While DuckDB loads one month, a background thread prepares the next month's file (SHA-256, decoding,
    header, quote scan: file-system work that releases the GIL or runs while DuckDB does): the Python pass
    over the bytes costs no wall time any more (docs/benchmarks.md).
    """
    deliveries: list[Delivery | NoDeliveryExpected | DeliveryError] = []
    for month in months:  # a missing month fails when its turn comes, after the months before it
        try:
            deliveries.append(_delivery_for(landing, system, entity, month))
        except MissingDeliveryError as exc:
            deliveries.append(exc)
    table = SYSTEMS[system].tables[entity]
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="milo-prepare") as pool:
        pending: dict[int, Future[PreparedFile]] = {}

        def prefetch(index: int) -> None:
            if index < len(deliveries) and isinstance(deliveries[index], Delivery):
                pending[index] = pool.submit(prepare_file, deliveries[index], entity, landing.parent)

        prefetch(0)
        try:
            checked_keys = set()
            for index, delivery in enumerate(deliveries):
                if isinstance(delivery, DeliveryError):
                    raise delivery
                if isinstance(delivery, NoDeliveryExpected):
                    prefetch(index + 1)
                    yield delivery
                    continue
                key = key_from_environment(allow_demo=delivery.is_synthetic)
                if key.key_id not in checked_keys:
                    ensure_warehouse(con, table, key)
                    checked_keys.add(key.key_id)
                prepared = pending.pop(index).result()
                prefetch(index + 1)
                yield load_prepared(con, prepared, key, run_id)
        finally:
            for future in pending.values():  # a failure or an abandoned generator: no decoded copy left behind
                future.cancel()
                if not future.cancelled() and future.exception() is None:
                    future.result().cleanup()
