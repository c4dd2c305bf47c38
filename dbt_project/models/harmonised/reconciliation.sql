{#- Where every raw row went, per system, table and delivery month. A raw row is either kept in staging
    (the latest version of its record), or an exact duplicate line, or superseded by a later delivery of the
    same record; a kept record is either in the harmonised layer or merged with the same person's version
    of that month, or the same enrolment, delivered by the other system. `unexplained_rows` must be 0 (tested): any loss or duplication between
    the layers shows there. -#}
{%- set tables = {
    'young_people': {'key': {'parcours3': 'num_dossier_pseudo', 'imilo': 'id_jeune_pseudo'}, 'per_month': true},
    'events': {'key': {'parcours3': 'num_evenement', 'imilo': 'id_evenement'}, 'per_month': false},
    'scheme_enrolments': {'key': {'parcours3': 'num_inscription', 'imilo': 'id_dispositif'}, 'per_month': false},
    'situations': {'key': {'parcours3': 'num_situation', 'imilo': 'id_situation'}, 'per_month': false},
} -%}

-- Lines per delivery month, and how the lines of records delivered more than once divide into duplicate
-- lines and superseded versions. Records delivered once (nearly all) are one line each, neither: only the
-- others are grouped and ranked, as in the staging macro `latest_version`.
with record_months as (
    {%- for entity, spec in tables.items() %}
        {%- for system in ['parcours3', 'imilo'] %}
            {%- set relation = source('raw', system ~ '__' ~ entity) %}
            {%- set key_columns = [spec['key'][system]] + (['_delivery_month'] if spec['per_month'] else []) %}
            select
                '{{ system }}' as source_system,
                '{{ entity }}' as entity,
                _delivery_month as delivery_month,
                count(*) as lines,
                false as is_superseded,
                true as is_all_lines
            from {{ relation }}
            group by _delivery_month
            union all
            select
                '{{ system }}' as source_system,
                '{{ entity }}' as entity,
                delivery_month,
                lines,
                {%- if spec['per_month'] %}
                    false as is_superseded,
                {%- else %}
                    -- the record delivered again in a later month: the later version wins
                    delivery_month < max(delivery_month) over (partition by record_key) as is_superseded,
                {%- endif %}
                false as is_all_lines
            from (
                select
                    src.{{ spec['key'][system] }} as record_key,
                    src._delivery_month as delivery_month,
                    count(*) as lines
                from {{ relation }} as src
                inner join (
                    {{ records_delivered_more_than_once(relation, key_columns) }}
                ) as repeated
                    on {{ columns_equal('src', 'repeated', key_columns) }}
                group by src.{{ spec['key'][system] }}, src._delivery_month
            ) as repeated_record_months
            {% if not loop.last %}union all{% endif %}
        {%- endfor %}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

raw_counts as (
    select
        source_system,
        entity,
        delivery_month,
        sum(case when is_all_lines then lines else 0 end) as raw_rows,
        -- the same record twice in one delivery month: one line kept, the others are duplicate lines
        sum(case when not is_all_lines and not is_superseded then lines - 1 else 0 end) as duplicate_lines,
        sum(case when not is_all_lines and is_superseded then lines else 0 end) as superseded_rows
    from record_months
    group by source_system, entity, delivery_month
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
