"""Jobs, the delivery sensor, the transform sensor and the monthly schedule.

- A new delivery in landing/ starts one ingest run for its system and month (run key: the delivery's
  checksum, so the same delivery never runs twice, and a corrected version is a new run).
- Once ingest runs have settled, one transform run: a full `dbt build` (every model rebuilt whole) and the
  reports, instead of one dbt build per delivery.
- On the 5th of each month, after deliveries have arrived, the schedule re-ingests the newest month and the
  three before it (late records and corrected re-deliveries revise them), then runs one full dbt build, all
  in one range run.
"""

import json
from datetime import datetime

import dagster as dg

from orchestration.defs.ingest import raw_asset_key, raw_assets
from orchestration.defs.partitions import key_of_month, month_of_key, shift_months
from orchestration.defs.transform import dbt_models
from orchestration.lib import settings
from orchestration.lib.contract import SYSTEMS
from orchestration.lib.delivery import find_deliveries

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
# On the unpartitioned transform runs, which months received data: what the run is for, in the UI.
MONTHS_TAG = "milo/months"
TRAILING_MONTHS = 3
SCHEDULE_DAY = 5

ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=dg.AssetSelection.assets(*raw_assets),
    description="Ingest only: load deliveries into `raw` (one system or both, a month or a range).",
)
transform_job = dg.define_asset_job(
    "transform_job",
    # the reports follow the marts they draw, so charts and docs never lag behind a transform run
    selection=dg.AssetSelection.assets(dbt_models) | dg.AssetSelection.groups("reports"),
    description="Rebuild every dbt model whole from what `raw` holds (one `dbt build`), then the reports.",
)
everything_job = dg.define_asset_job(
    "everything_job",
    selection=dg.AssetSelection.all(),
    description="A month range: ingest its months, then one full dbt build and the reports.",
)


def range_tags(first_month: str, last_month: str) -> dict[str, str]:
    return {RANGE_START: key_of_month(first_month), RANGE_END: key_of_month(last_month)}


def months_label(months: set[str]) -> str:
    """'2015-01..2015-03' for the months a run is for (one month alone: '2015-01'); gaps are not shown."""
    first, last = min(months), max(months)
    return first if first == last else f"{first}..{last}"


def scheduled_months(scheduled: datetime, trailing: int = TRAILING_MONTHS) -> tuple[str, str]:
    """The newest complete month before the scheduled date, and the first of the trailing months."""
    first_of_month = scheduled.date().replace(day=1)
    newest = shift_months(first_of_month, -1)
    oldest = shift_months(newest, -trailing)
    return oldest.strftime("%Y-%m"), newest.strftime("%Y-%m")


@dg.schedule(
    job=everything_job,
    cron_schedule=f"0 6 {SCHEDULE_DAY} * *",
    execution_timezone="Europe/Paris",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="On the 5th at 06:00 (Paris): the newest month and the three before it, then one dbt build.",
)
def monthly_schedule(context: dg.ScheduleEvaluationContext):
    first, last = scheduled_months(context.scheduled_execution_time)
    return dg.RunRequest(run_key=f"monthly-{last}", tags=range_tags(first, last))


@dg.sensor(
    job=ingest_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="One ingest run per new delivery folder in landing/ (run key: the delivery's checksum).",
)
def delivery_sensor(context: dg.SensorEvaluationContext):
    paths = settings.prepare_environment()
    seen = set(json.loads(context.cursor)) if context.cursor else set()
    requests = []
    for delivery in find_deliveries(paths.landing):
        checksum = delivery.checksum
        if checksum in seen:
            continue
        seen.add(checksum)
        keys = [raw_asset_key(t) for t in SYSTEMS[delivery.system].tables.values()]
        requests.append(
            dg.RunRequest(
                run_key=checksum,
                partition_key=key_of_month(delivery.month),
                asset_selection=keys,
                tags={"milo/delivery": delivery.label},
            )
        )
    context.update_cursor(json.dumps(sorted(seen)))
    return dg.SensorResult(run_requests=requests)


RAW_KEYS = [raw_asset_key(t) for s in SYSTEMS.values() for t in s.tables.values()]


@dg.sensor(
    job=transform_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="After ingest runs settle, one transform run (a full dbt build) for the months that received data.",
)
def transform_sensor(context: dg.SensorEvaluationContext):
    instance = context.instance
    busy = instance.get_run_records(
        dg.RunsFilter(
            job_name=ingest_job.name,
            statuses=[
                dg.DagsterRunStatus.QUEUED,
                dg.DagsterRunStatus.NOT_STARTED,
                dg.DagsterRunStatus.STARTING,
                dg.DagsterRunStatus.STARTED,
            ],
        ),
        limit=1,
    )
    if busy:
        return dg.SkipReason("ingest runs in progress: waiting for them to settle")
    after = int(context.cursor) if context.cursor else 0
    months, newest = set(), after
    for key in RAW_KEYS:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, after_storage_id=after), limit=1000
        ).records
        for record in records:
            newest = max(newest, record.storage_id)
            if record.partition_key:
                months.add(month_of_key(record.partition_key))
    if not months:
        return dg.SkipReason("no new raw data")
    context.update_cursor(str(newest))
    return dg.RunRequest(run_key=f"transform-{newest}", tags={MONTHS_TAG: months_label(months)})


schedules = [monthly_schedule]
sensors = [delivery_sensor, transform_sensor]
jobs = [ingest_job, transform_job, everything_job]
