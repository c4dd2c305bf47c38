{#- Where every raw row went, per system, table and delivery month. A raw row is either kept in staging
    (the latest version of its record), or an exact duplicate line, or superseded by a later delivery of the
    same record; a kept record is either in the harmonised layer or merged with the same person's version
    of that month, or the same enrolment, delivered by the other system. `unexplained_rows` must be 0 (tested): any loss or duplication between
    the layers shows there. -#}
-- Lines per delivery month, and how the lines of records delivered more than once divide into duplicate
-- lines and superseded versions (int_repeated_record_months holds those records' lines). Records delivered
-- once (nearly all) are one line each, neither.
with month_lines as (
    {%- for entity in raw_record_keys() %}
        {%- for system in ['parcours3', 'imilo'] %}
            select
                '{{ system }}' as source_system,
                '{{ entity }}' as entity,
                _delivery_month as delivery_month,
                count(*) as lines
            from {{ source('raw', system ~ '__' ~ entity) }}
            group by _delivery_month
            {% if not loop.last %}union all{% endif %}
        {%- endfor %}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

repeated_counts as (
    select
        source_system,
        entity,
        delivery_month,
        -- the same record twice in its latest delivery month: one line kept, the others are duplicate lines
        sum(case when is_latest_month then lines - 1 else 0 end) as duplicate_lines,
        -- the record delivered again in a later month: the later version wins (a dossier's record is one
        -- month's version, never superseded)
        sum(case when is_latest_month then 0 else lines end) as superseded_rows
    from {{ ref('int_repeated_record_months') }}
    group by source_system, entity, delivery_month
),

raw_counts as (
    select
        month_lines.source_system,
        month_lines.entity,
        month_lines.delivery_month,
        month_lines.lines as raw_rows,
        coalesce(repeated_counts.duplicate_lines, 0) as duplicate_lines,
        coalesce(repeated_counts.superseded_rows, 0) as superseded_rows
    from month_lines
    left join repeated_counts
        on
            month_lines.source_system = repeated_counts.source_system
            and month_lines.entity = repeated_counts.entity
            and month_lines.delivery_month = repeated_counts.delivery_month
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
-- a full join: harmonised rows whose delivery month is no longer in raw (a stale increment) show too
from raw_counts
full outer join harmonised_counts
    on raw_counts.source_system = harmonised_counts.source_system
        and raw_counts.entity = harmonised_counts.entity
        and raw_counts.delivery_month = harmonised_counts.delivery_month
