-- Where every delivered line went, per system, table and delivery month. A line is either kept (the latest
-- version of its record), or an exact duplicate line, or superseded by a later delivery of the same record;
-- a kept record is either in the harmonised layer or merged with the same person's version of that month,
-- or the same enrolment, delivered by the other system. `unexplained_rows` must be 0 (tested): any loss or
-- duplication between the layers shows there. The lines are counted from the staging views (through
-- int_delivered_lines), independently of the macro latest_version that the harmonised models use.
with delivered_lines as (
    select * from {{ ref('int_delivered_lines') }}
),

month_lines as (
    select
        source_system,
        entity,
        delivery_month,
        count(*) as raw_rows
    from {{ ref('int_delivered_lines') }}
    group by source_system, entity, delivery_month
),

-- the records with more than one line (a duplicate line, or a version in a later month): few, and the only
-- lines that are not simply kept
repeated_records as (
    select
        source_system,
        entity,
        record_key,
        max(delivery_month) as latest_month
    from {{ ref('int_delivered_lines') }}
    group by source_system, entity, record_key
    having count(*) > 1
),

repeated_lines as (
    select
        delivered_lines.source_system,
        delivered_lines.entity,
        delivered_lines.delivery_month,
        sum(case when delivered_lines.delivery_month = repeated_records.latest_month then 1 else 0 end)
            as latest_month_lines,
        -- the record delivered again in a later month: the later version wins
        sum(case when delivered_lines.delivery_month < repeated_records.latest_month then 1 else 0 end)
            as superseded_rows
    from delivered_lines
    inner join repeated_records
        on
            delivered_lines.source_system = repeated_records.source_system
            and delivered_lines.entity = repeated_records.entity
            and delivered_lines.record_key = repeated_records.record_key
    group by delivered_lines.source_system, delivered_lines.entity, delivered_lines.delivery_month
),

kept_repeated_records as (
    select
        source_system,
        entity,
        latest_month as delivery_month,
        count(*) as records
    from repeated_records
    group by source_system, entity, latest_month
),

raw_counts as (
    select
        month_lines.source_system,
        month_lines.entity,
        month_lines.delivery_month,
        month_lines.raw_rows,
        -- a record's lines in its latest delivery month: one kept, the others are duplicate lines
        coalesce(repeated_lines.latest_month_lines, 0) - coalesce(kept_repeated_records.records, 0)
            as duplicate_lines,
        coalesce(repeated_lines.superseded_rows, 0) as superseded_rows
    from month_lines
    left join repeated_lines
        on
            month_lines.source_system = repeated_lines.source_system
            and month_lines.entity = repeated_lines.entity
            and month_lines.delivery_month = repeated_lines.delivery_month
    left join kept_repeated_records
        on
            month_lines.source_system = kept_repeated_records.source_system
            and month_lines.entity = kept_repeated_records.entity
            and month_lines.delivery_month = kept_repeated_records.delivery_month
),

harmonised_rows as (
    select
        source_system,
        'young_people' as entity,
        delivery_month,
        case when system_rank > 1 then 1 else 0 end as merged_rows
    from {{ ref('int_person_versions') }}
    union all
    select
        source_system,
        'events' as entity,
        delivery_month,
        0 as merged_rows
    from {{ ref('events') }}
    union all
    select
        source_system,
        'scheme_enrolments' as entity,
        delivery_month,
        case when state_rank > 1 then 1 else 0 end as merged_rows
    from {{ ref('int_enrolment_records') }}
    union all
    select
        source_system,
        'situations' as entity,
        delivery_month,
        0 as merged_rows
    from {{ ref('situations') }}
),

harmonised_counts as (
    select
        source_system,
        entity,
        delivery_month,
        count(*) - sum(merged_rows) as harmonised_rows,
        sum(merged_rows) as merged_across_systems
    from harmonised_rows
    group by source_system, entity, delivery_month
)

select
    coalesce(raw_counts.source_system, harmonised_counts.source_system) as source_system,
    coalesce(raw_counts.entity, harmonised_counts.entity) as entity,
    coalesce(raw_counts.delivery_month, harmonised_counts.delivery_month) as delivery_month,
    coalesce(raw_counts.raw_rows, 0) as raw_rows,
    coalesce(raw_counts.duplicate_lines, 0) as duplicate_lines,
    coalesce(raw_counts.superseded_rows, 0) as superseded_rows,
    coalesce(harmonised_counts.merged_across_systems, 0) as merged_across_systems,
    coalesce(harmonised_counts.harmonised_rows, 0) as harmonised_rows,
    coalesce(raw_counts.raw_rows, 0)
    - coalesce(raw_counts.duplicate_lines, 0)
    - coalesce(raw_counts.superseded_rows, 0)
    - coalesce(harmonised_counts.merged_across_systems, 0)
    - coalesce(harmonised_counts.harmonised_rows, 0) as unexplained_rows
-- a full join: harmonised rows whose delivery month is not in staging show too
from raw_counts
full outer join harmonised_counts
    on
        raw_counts.source_system = harmonised_counts.source_system
        and raw_counts.entity = harmonised_counts.entity
        and raw_counts.delivery_month = harmonised_counts.delivery_month
