{#- Statistical secrecy for the published tables (docs/secrecy.md).

    Input: a relation with `partition_columns` (cells that never add up across each other, e.g. the month),
    `cell_id`, `parent_cell_id` (the cell this one adds up into; null at the top) and the count columns.
    Output: one row per (partition, cell, count column) with the value and its flag:
      published, masked_small_count (1 to k-1 people: primary suppression), or masked_secondary.
    Count columns are numbered (1, 2, ... in the order given) and the flag is derived once at the end: the
    passes carry integers and booleans only, which kept the national-scale monthly table from spilling 8 GB
    to disk (docs/benchmarks.md). pivot_secrecy_cells turns the numbers back into columns.
    Secondary suppression makes sure no masked cell can be recomputed by subtraction: a parent with exactly
    one masked child gets a second one masked (the smallest positive published sibling), or is masked
    itself when no such sibling exists; a masked parent whose children are all published gets its smallest
    positive child masked. The passes repeat (each can create work for the next level) a fixed number of
    times; the pytest secrecy suite (tests/test_secrecy.py) checks the result on every published table.

    `second_tree_columns`: count columns whose cells also add up along a second tree, given by the
    relation's `second_parent_cell_id` (null where a cell has no second parent). Example: stocks of people,
    localised by residence in départements and regions but by mission locale at mission-locale level, so
    that the mission locales add up to the national total as well as (for people living where their
    mission locale is) to their département. A cell then belongs to two groups of siblings; every group is
    protected by the rules above.

    Every condition is two-valued (coalesce): a top cell has no siblings and a leaf no children, and a
    null in a condition would make is_masked null, i.e. a value withheld under the flag 'published'. -#}
{% macro secrecy_cells(relation, partition_columns, count_columns, passes=6, second_tree_columns=[]) %}
{%- set k = var('secrecy_k') | int -%}
{%- set parts = partition_columns | join(', ') -%}
{%- set parts_of = {} -%}
{%- for alias in ['edges', 'children', 'cells'] -%}
    {%- set prefixed = [] -%}
    {%- for c in partition_columns %}{% do prefixed.append(alias ~ '.' ~ c) %}{% endfor -%}
    {%- do parts_of.update({alias: prefixed | join(', ')}) -%}
{%- endfor -%}
with pass_0 as {{ materialized_cte() }} (
    {%- for column in count_columns %}
    select
        {{ parts }},
        cell_id,
        {{ loop.index }} as column_number,
        {{ column }} as cell_value,
        coalesce({{ column }} between 1 and {{ k - 1 }}, false) as is_masked
    from {{ relation }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),
-- child -> parent edges, one group of siblings per (parent, tree)
edges as {{ materialized_cte() }} (
    {%- for column in count_columns %}
    select
        {{ parts }},
        cell_id,
        {{ loop.index }} as column_number,
        parent_cell_id,
        'main' as sibling_tree
    from {{ relation }}
    where parent_cell_id is not null
    {%- if column in second_tree_columns %}
    union all
    select
        {{ parts }},
        cell_id,
        {{ loop.index }} as column_number,
        second_parent_cell_id as parent_cell_id,
        'second' as sibling_tree
    from {{ relation }}
    where second_parent_cell_id is not null
    {%- endif %}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),
{%- for i in range(1, passes + 1) %}
{%- set previous = 'pass_' ~ (i - 1) %}
children_{{ i }} as {{ materialized_cte() }} (
    select
        edges.*,
        cells.cell_value,
        cells.is_masked
    from edges
    inner join {{ previous }} as cells
        on {{ same_partition('edges', 'cells', partition_columns) }}edges.cell_id = cells.cell_id
            and edges.column_number = cells.column_number
),
groups_{{ i }} as (
    select
        {{ parts }},
        parent_cell_id,
        sibling_tree,
        column_number,
        sum(case when is_masked then 1 else 0 end) as masked_children,
        sum(case when not is_masked and cell_value > 0 then 1 else 0 end) as positive_published_children
    from children_{{ i }}
    group by {{ parts }}, parent_cell_id, sibling_tree, column_number
),
-- per child and group: is it the one to mask as well (rules 1 and 2)?
votes_{{ i }} as (
    select
        {{ parts_of['children'] }},
        children.cell_id,
        children.column_number,
        max(
            case
                when
                    not children.is_masked and children.cell_value > 0 and children.candidate_rank = 1
                    and (
                        -- 1. a lone masked sibling: this is the smallest positive published one
                        coalesce(groups.masked_children, 0) = 1
                        -- 2. a masked parent whose children are all published: the smallest positive one
                        or (coalesce(parent.is_masked, false) and coalesce(groups.masked_children, 0) = 0)
                    )
                    then 1
                else 0
            end
        ) as mask_as_child
    from (
        select
            children_{{ i }}.*,
            row_number() over (
                partition by {{ parts }}, parent_cell_id, sibling_tree, column_number
                order by case when not is_masked and cell_value > 0 then 0 else 1 end, cell_value, cell_id
            ) as candidate_rank
        from children_{{ i }}
    ) as children
    left join groups_{{ i }} as groups
        on {{ same_partition('children', 'groups', partition_columns) }}children.parent_cell_id = groups.parent_cell_id
            and children.sibling_tree = groups.sibling_tree
            and children.column_number = groups.column_number
    left join {{ previous }} as parent
        on {{ same_partition('children', 'parent', partition_columns) }}children.parent_cell_id = parent.cell_id
            and children.column_number = parent.column_number
    group by {{ parts_of['children'] }}, children.cell_id, children.column_number
),
-- 3. a parent with a group holding one masked child and no positive published sibling to hide it with
unhideable_{{ i }} as (
    select
        {{ parts }},
        parent_cell_id as cell_id,
        column_number,
        max(case when masked_children = 1 and positive_published_children = 0 then 1 else 0 end)
            as mask_as_parent
    from groups_{{ i }}
    group by {{ parts }}, parent_cell_id, column_number
),
pass_{{ i }} as {{ materialized_cte() }} (
    select
        {{ parts }},
        cell_id,
        column_number,
        cell_value,
        is_masked or to_mask as is_masked
    from (
        select
            cells.*,
            not cells.is_masked and coalesce(cells.cell_value, 0) > 0
            and (coalesce(votes.mask_as_child, 0) = 1 or coalesce(unhideable.mask_as_parent, 0) = 1) as to_mask
        from {{ previous }} as cells
        left join votes_{{ i }} as votes
            on {{ same_partition('cells', 'votes', partition_columns) }}cells.cell_id = votes.cell_id
                and cells.column_number = votes.column_number
        left join unhideable_{{ i }} as unhideable
            on {{ same_partition('cells', 'unhideable', partition_columns) }}cells.cell_id = unhideable.cell_id
                and cells.column_number = unhideable.column_number
    ) as decided
),
{%- endfor %}
final_cells as (
    select
        {{ parts }},
        cell_id,
        column_number,
        cell_value,
        is_masked,
        -- masked from the start (1 to k-1 people) or by a pass: the flag follows from the value
        case
            when not is_masked then 'published'
            when cell_value between 1 and {{ k - 1 }} then 'masked_small_count'
            else 'masked_secondary'
        end as flag
    from pass_{{ passes }}
)
select * from final_cells
{% endmacro %}

{#- `left.p = right.p and ` for each partition column (joins inside secrecy_cells). -#}
{% macro same_partition(left, right, partition_columns) -%}
    {%- for c in partition_columns %}{{ left }}.{{ c }} = {{ right }}.{{ c }} and {% endfor -%}
{%- endmacro %}

{#- Back from one row per (cell, count column) to one row per cell: each count published or null, and its
    flag. One grouping pass rather than a join per column. -#}
{% macro pivot_secrecy_cells(cells, partition_columns, count_columns) -%}
    select
        {{ partition_columns | join(', ') }},
        cell_id
        {%- for column in count_columns %},
        max(case when column_number = {{ loop.index }} and not is_masked then cell_value end) as {{ column }},
        max(case when column_number = {{ loop.index }} then flag end) as {{ column }}_flag
        {%- endfor %}
    from {{ cells }}
    group by {{ partition_columns | join(', ') }}, cell_id
{%- endmacro %}

{#- A share or mean is published only when its denominator counts at least k people and, when
    `denominator_flag` (the secrecy flag of the denominator's published count) is given, only when that
    count is itself published: a share with four decimals of a secondarily masked count of, say, 12 people
    (0.4167 = 5/12) gives the count away, and with it the cell the secondary mask protected. -#}
{% macro published_ratio(relation_alias, column, denominator, denominator_flag=none) -%}
    {%- set large_enough = relation_alias ~ '.' ~ denominator ~ ' >= ' ~ var('secrecy_k') -%}
    {%- set publishable = large_enough ~ (' and ' ~ denominator_flag ~ " = 'published'" if denominator_flag else '') -%}
    case
        when {{ publishable }} then {{ relation_alias }}.{{ column }}
    end as {{ column }},
    case
        when {{ publishable }} then 'published'
        when {{ relation_alias }}.{{ denominator }} = 0 then 'not_applicable'
        when {{ large_enough }} then 'masked_secondary'
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
