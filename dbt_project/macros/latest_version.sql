{#- The latest delivered version of each record of `relation` (a staging view: every delivered line, with
    `delivery_month` and `source_line`), as one select statement. The latest version is the line of the most
    recent delivery month (a corrected re-delivery has already replaced its month in `raw`), and within that
    month the last line, which also drops exact duplicate lines. `key_columns` identify a record; a dossier's
    key includes its delivery month, as every monthly version of a dossier is kept.

    Records delivered more than once are few (about 0.1 % of events), so only they are grouped into a
    "latest line" marker (month number * 10^9 + line: months and lines order the same way); every other line
    passes the left join untouched. Ranking every line with a window instead sorted every column of 180
    million events at national scale (docs/benchmarks.md). Used by every harmonised model that reads a
    staging view. -#}
{% macro latest_version(relation, key_columns) -%}
    {%- set line_order = '(extract(year from {a}delivery_month) * 12 + extract(month from {a}delivery_month))'
        ~ ' * 1000000000 + {a}source_line' -%}
    select delivered.*
    from {{ relation }} as delivered
    left join (
        select
            {{ key_columns | join(', ') }},
            max({{ line_order | replace('{a}', '') }}) as latest_line
        from {{ relation }}
        group by {{ key_columns | join(', ') }}
        having count(*) > 1
    ) as repeated
        on
        {%- for column in key_columns %}
            {% if not loop.first %}and {% endif %}delivered.{{ column }} = repeated.{{ column }}
        {%- endfor %}
    where
        repeated.latest_line is null
        or {{ line_order | replace('{a}', 'delivered.') }} = repeated.latest_line
{%- endmacro %}
