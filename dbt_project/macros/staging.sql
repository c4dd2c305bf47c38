{#- Shared by the staging models of both systems: nothing system-specific here. -#}

{#- Keep the latest delivered version of each record: the row of the most recent delivery month (a
    corrected re-delivery has already replaced its month in `raw`), and within it the last line, which
    also removes exact duplicate lines. Written with row_number() so that any engine runs it. -#}
{% macro latest_version(relation, key_columns) %}
    select ranked.*
    from (
        select
            src.*,
            row_number() over (
                partition by {{ key_columns | join(', ') }}
                order by src._delivery_month desc, src._source_line desc
            ) as _version_rank
        from {{ relation }} as src
    ) as ranked
    where ranked._version_rank = 1
{% endmacro %}

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
