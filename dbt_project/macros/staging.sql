{#- Shared by the staging models of both systems: nothing system-specific here. -#}

{#- Keep the latest delivered version of each record of a base view (a source table in the project's
    vocabulary): the row of the most recent delivery month (a corrected re-delivery has already replaced its
    month in `raw`), and within it the last line, which also removes exact duplicate lines.

    Records delivered more than once are few (about 0.1 % of events): they are found first by a grouping on
    the key, and only their rows are ranked. Every other row passes through an anti-join with that small
    set. Ranking every row instead (one window over the whole table) sorted all columns of 180 million
    events at national scale: 110 s and 23 GB spilled to disk, against 25 s and 2 GB this way
    (docs/benchmarks.md). Plain SQL (nested WITH, joins, row_number) that any engine runs.

    `relation` may also be a parenthesised query over a base view: the incremental harmonised models pass
    the rows of the people a monthly run touches, so that only those are grouped (macro `scoped_records`). -#}
{% macro latest_version(relation, key_columns) %}
    {%- set order_columns = ['delivery_month', 'source_line'] -%}
    {%- set version_columns = key_columns + (order_columns | reject('in', key_columns) | list) -%}
    with repeated_records as (
        {{ records_delivered_more_than_once(relation, key_columns) }}
    ),

    latest_of_repeated as (
        select {{ version_columns | join(', ') }}
        from (
            select
                {%- for c in version_columns %}
                    src.{{ c }},
                {%- endfor %}
                row_number() over (
                    partition by {% for c in key_columns %}src.{{ c }}{% if not loop.last %}, {% endif %}{% endfor %}
                    order by src.delivery_month desc, src.source_line desc
                ) as version_rank
            from {{ relation }} as src
            inner join repeated_records as repeated
                on {{ columns_equal('src', 'repeated', key_columns) }}
        ) as ranked
        where ranked.version_rank = 1
    )

    select src.*
    from {{ relation }} as src
    left join repeated_records as repeated
        on {{ columns_equal('src', 'repeated', key_columns) }}
    where repeated.{{ key_columns[0] }} is null
    union all
    select src.*
    from {{ relation }} as src
    inner join latest_of_repeated as latest
        on {{ columns_equal('src', 'latest', version_columns) }}
{% endmacro %}

{#- The columns that identify a record of an entity, in the staging vocabulary. A dossier is delivered whole
    each month it changes and every monthly version is kept; the other entities keep their latest version. -#}
{% macro record_key(entity) -%}
    {{ return({
        'young_people': ['person_id', 'delivery_month'],
        'events': ['event_id'],
        'scheme_enrolments': ['enrolment_id'],
        'situations': ['situation_id'],
    }[entity]) }}
{%- endmacro %}

{#- The keys of the records with more than one raw row (a duplicate line, or a later delivery): few, so
    that only their rows need ranking (latest_version, the reconciliation). -#}
{% macro records_delivered_more_than_once(relation, key_columns) -%}
    select {{ key_columns | join(', ') }}
    from {{ relation }}
    group by {{ key_columns | join(', ') }}
    having count(*) > 1
{%- endmacro %}

{#- `left.c = right.c and ...` over the given columns (a join on a composite key). -#}
{% macro columns_equal(left, right, columns) -%}
    {%- for c in columns %}{{ left }}.{{ c }} = {{ right }}.{{ c }}{% if not loop.last %} and {% endif %}{% endfor -%}
{%- endmacro %}

{#- 'O' / 'N' flags of both systems to booleans; anything else was quarantined at ingestion. -#}
{% macro flag_to_boolean(column) -%}
    case {{ column }} when 'O' then true when 'N' then false end
{%- endmacro %}

{#- Delivery lineage columns every staging model carries, under one set of names (the file, its version
    and checksum are in audit.ingest_ledger, keyed by system, table and delivery month). -#}
{% macro delivery_columns() -%}
    _delivery_month as delivery_month,
    _source_line as source_line
{%- endmacro %}

{#- First day of the month of a date, portable across engines. -#}
{% macro month_of(column) -%}
    {{ dbt.date_trunc('month', column) }}
{%- endmacro %}
