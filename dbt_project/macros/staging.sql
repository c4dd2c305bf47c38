{#- Shared by the staging models of both systems: nothing system-specific here. -#}

{#- Keep the latest delivered version of each record of a base view (a source table in the project's
    vocabulary): the row of the most recent delivery month (a corrected re-delivery has already replaced its
    month in `raw`), and within it the last line, which also removes exact duplicate lines.

    Records delivered more than once are few (about 0.1 % of events): they are found first by a grouping on
    the key, which also gives each its latest delivery month, and only their lines of that month are
    compared. Every other row passes through a left join with that small set. Ranking every row instead
    (one window over the whole table) sorted all columns of 180 million events at national scale: 110 s and
    23 GB spilled to disk, against 25 s and 2 GB this way (docs/benchmarks.md). Plain SQL (nested WITH,
    joins, max) that any engine runs.

    `relation` may also be a parenthesised query over a base view: the incremental harmonised models pass
    the rows of the people a monthly run touches, so that only those are grouped (macro `scoped_records`).
    `repeated`, when given, is a query of the records delivered more than once (the key columns and their
    latest delivery month), already known: the grouping of every row is then skipped (macro
    `whole_history_records`). -#}
{% macro latest_version(relation, key_columns, repeated=none) %}
    {%- set month_in_key = 'delivery_month' in key_columns -%}
    {%- set month_key = key_columns if month_in_key else key_columns + ['delivery_month'] -%}
    with repeated_records as (
        {{ repeated or records_delivered_more_than_once(relation, key_columns, latest_month='delivery_month') }}
    ),

    latest_lines as (
        select
            {%- for c in month_key %}
            src.{{ c }},
            {%- endfor %}
            max(src.source_line) as source_line
        from {{ relation }} as src
        inner join repeated_records as repeated
            on {{ columns_equal('src', 'repeated', month_key) }}
        group by {% for c in month_key %}src.{{ c }}{% if not loop.last %}, {% endif %}{% endfor %}
    )

    select src.*
    from {{ relation }} as src
    left join repeated_records as repeated
        on {{ columns_equal('src', 'repeated', key_columns) }}
    left join latest_lines as latest
        on {{ columns_equal('src', 'latest', month_key + ['source_line']) }}
    where repeated.{{ key_columns[0] }} is null or latest.{{ key_columns[0] }} is not null
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
    that only their rows need comparing (latest_version, int_repeated_record_months). With `latest_month`
    (a month column, unless it is part of the key), also each record's latest month. -#}
{% macro records_delivered_more_than_once(relation, key_columns, latest_month=none) -%}
    select
        {{ key_columns | join(', ') }}
        {%- if latest_month and latest_month not in key_columns %},
        max({{ latest_month }}) as {{ latest_month }}
        {%- endif %}
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
