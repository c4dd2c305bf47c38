"""Loading one system's table for one month: which delivery, which key, or why there is nothing to load."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.lib.contract import SYSTEMS
from orchestration.lib.delivery import DeliveryError, latest_delivery
from orchestration.lib.ingest.loading import FaultHook, FileResult, load_file
from orchestration.lib.pseudonymise import key_from_environment


class MissingDeliveryError(DeliveryError):
    pass


@dataclass(frozen=True)
class NoDeliveryExpected:
    system: str
    entity: str
    month: str
    reason: str


def ingest_month(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    system: str,
    entity: str,
    month: str,
    run_id: str = "",
    fault_hook: FaultHook | None = None,
) -> FileResult | NoDeliveryExpected:
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
    # The public demo key is accepted for synthetic deliveries only; real ones need MILO_PSEUDO_KEY.
    key = key_from_environment(allow_demo=delivery.is_synthetic)
    return load_file(con, delivery, entity, key, run_id=run_id, fault_hook=fault_hook, workdir=landing.parent)
