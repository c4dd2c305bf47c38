{#- Statistical secrecy for the published tables (docs/secrecy.md).

    Input: a relation with `partition_columns` (cells that never add up across each other, e.g. the month),
    `cell_id`, `parent_cell_id` (the cell this one adds up into; null at the top) and the count columns.
    Output: one row per (partition, cell, count column) with the value and its flag:
      published, masked_small_count (1 to k-1 people: primary suppression), or masked_secondary.
    Secondary suppression makes sure no masked cell can be recomputed by subtraction: a parent with exactly
    one masked child gets a second one masked (the smallest positive published sibling), or is masked
    itself when no such sibling exists; a masked parent whose children are all published gets its smallest
    positive child masked. The passes repeat (each can create work for the next level) a fixed number of
    times; the pytest secrecy suite checks the result on every published table. -#}
{% macro secrecy_cells(relation, partition_columns, count_columns, passes=6) %}
{%- set k = var('secrecy_k') | int -%}
{%- set parts = partition_columns | join(', ') -%}
{%- set parts_prefixed = [] -%}
{%- for c in partition_columns %}{% do parts_prefixed.append('cells.' ~ c) %}{% endfor -%}
with long_cells as (
    {%- for column in count_columns %}
    select
        {{ parts }},
        cell_id,
        parent_cell_id,
        '{{ column }}' as column_name,
        {{ column }} as cell_value,
        {{ column }} between 1 and {{ k - 1 }} as is_masked,
        case when {{ column }} between 1 and {{ k - 1 }} then 'masked_small_count' else 'published' end as flag
    from {{ relation }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),
pass_0 as {{ materialized_cte() }} (
    select * from long_cells
),
{%- for i in range(1, passes + 1) %}
{%- set previous = 'pass_' ~ (i - 1) %}
siblings_{{ i }} as {{ materialized_cte() }} (
    select
        {{ parts }},
        parent_cell_id,
        column_name,
        sum(case when is_masked then 1 else 0 end) as masked_children,
        sum(case when not is_masked and cell_value > 0 then 1 else 0 end) as positive_published_children
    from {{ previous }}
    where parent_cell_id is not null
    group by {{ parts }}, parent_cell_id, column_name
),
ranked_{{ i }} as (
    select
        cells.*,
        row_number() over (
            partition by {{ parts_prefixed | join(', ') }}, cells.parent_cell_id, cells.column_name
            order by case when not cells.is_masked and cells.cell_value > 0 then 0 else 1 end,
                cells.cell_value, cells.cell_id
        ) as candidate_rank,
        siblings.masked_children as masked_siblings_and_self,
        parent.is_masked as parent_is_masked,
        children.masked_children as masked_children,
        children.positive_published_children as positive_published_children
    from {{ previous }} as cells
    left join siblings_{{ i }} as siblings
        on
            {%- for c in partition_columns %} cells.{{ c }} = siblings.{{ c }} and{% endfor %}
            cells.parent_cell_id = siblings.parent_cell_id
            and cells.column_name = siblings.column_name
    left join {{ previous }} as parent
        on
            {%- for c in partition_columns %} cells.{{ c }} = parent.{{ c }} and{% endfor %}
            cells.parent_cell_id = parent.cell_id
            and cells.column_name = parent.column_name
    left join siblings_{{ i }} as children
        on
            {%- for c in partition_columns %} cells.{{ c }} = children.{{ c }} and{% endfor %}
            cells.cell_id = children.parent_cell_id
            and cells.column_name = children.column_name
),
pass_{{ i }} as {{ materialized_cte() }} (
    select
        {{ parts }},
        cell_id,
        parent_cell_id,
        column_name,
        cell_value,
        is_masked or to_mask as is_masked,
        case when not is_masked and to_mask then 'masked_secondary' else flag end as flag
    from (
        select
            ranked_{{ i }}.*,
            not is_masked and (
                -- a lone masked sibling: this is the smallest positive published one, mask it too
                (masked_siblings_and_self = 1 and candidate_rank = 1 and cell_value > 0)
                -- a masked parent whose children are all published: mask the smallest positive child
                or (coalesce(parent_is_masked, false) and masked_siblings_and_self = 0
                    and candidate_rank = 1 and cell_value > 0)
                -- a lone masked child and no positive published sibling to hide it with: mask this parent
                or (masked_children = 1 and positive_published_children = 0 and cell_value > 0)
            ) as to_mask
        from ranked_{{ i }}
    ) as decided
),
{%- endfor %}
final_cells as (
    select * from pass_{{ passes }}
)
select * from final_cells
{% endmacro %}

{#- Back from one row per (cell, count column) to one row per cell: each count published or null, and its
    flag. One grouping pass rather than a join per column. -#}
{% macro pivot_secrecy_cells(cells, partition_columns, count_columns) -%}
    select
        {{ partition_columns | join(', ') }},
        cell_id
        {%- for column in count_columns %},
        max(case when column_name = '{{ column }}' and not is_masked then cell_value end) as {{ column }},
        max(case when column_name = '{{ column }}' then flag end) as {{ column }}_flag
        {%- endfor %}
    from {{ cells }}
    group by {{ partition_columns | join(', ') }}, cell_id
{%- endmacro %}

{#- A share or mean is published only when its denominator counts at least k people. -#}
{% macro published_ratio(relation_alias, column, denominator) -%}
    case
        when {{ relation_alias }}.{{ denominator }} >= {{ var('secrecy_k') }} then {{ relation_alias }}.{{ column }}
    end as {{ column }},
    case
        when {{ relation_alias }}.{{ denominator }} >= {{ var('secrecy_k') }} then 'published'
        when {{ relation_alias }}.{{ denominator }} = 0 then 'not_applicable'
        else 'masked_small_denominator'
    end as {{ column }}_flag
{%- endmacro %}

{#- cell_id and parent_cell_id of a row of a table by geography level: mission locale -> département ->
    2016 region -> national. Needs the aliases `ml` (harmonised.mission_locales) and `dep`
    (harmonised.departements) joined on the row's geo_code. -#}
{% macro geo_cell_ids(level_column, code_column) -%}
    {{ dbt.concat([level_column, "':'", code_column]) }} as cell_id,
    case {{ level_column }}
        when 'national' then null
        when 'region' then 'national:FR'
        when 'departement' then {{ dbt.concat(["'region:'", "coalesce(dep.region_2016_code, 'unknown')"]) }}
        when 'mission_locale' then {{ dbt.concat(["'departement:'", "coalesce(ml.departement_code, 'unknown')"]) }}
    end as parent_cell_id
{%- endmacro %}

{% macro join_geo_parents(alias) -%}
    left join {{ ref('mission_locales') }} as ml
        on {{ alias }}.geo_level = 'mission_locale' and {{ alias }}.geo_code = ml.mission_locale_code
    left join {{ ref('departements') }} as dep
        on {{ alias }}.geo_level = 'departement' and {{ alias }}.geo_code = dep.departement_code
{%- endmacro %}

{#- Each secrecy pass reads the previous one three times: without materialisation the plan grows as 3^passes.
    DuckDB materialises a CTE on request; engines without the keyword get a plain CTE. -#}
{% macro materialized_cte() -%}
    {{ return(adapter.dispatch('materialized_cte', 'milo')()) }}
{%- endmacro %}

{% macro default__materialized_cte() -%}{%- endmacro %}

{% macro duckdb__materialized_cte() -%}materialized{%- endmacro %}

{% macro as_text(expression) -%}
    {{ dbt.cast(expression, api.Column.translate_type('string')) }}
{%- endmacro %}
