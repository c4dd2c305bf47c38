{#- Statistical secrecy of the published tables (docs/secrecy.md), used by the three pub_ models.

    secrecy_cells: `relation` holds one row per cell and count ("long" form): the `partition_columns` (cells
    that never add up across each other: the month, and the name of the count), `cell_id`, `parent_cell_id`
    (the cell it adds up into; null at the top), `second_parent_cell_id` (a second tree it adds up into, or
    null) and `cell_value`. The result has one row per cell with `is_masked` and its `flag`: published,
    masked_small_count (1 to k-1 people: primary suppression) or masked_secondary.

    Secondary suppression makes sure no masked cell can be recomputed by subtraction: (1) a group of siblings
    with exactly one masked cell gets a second one masked, the smallest positive published sibling;
    (2) a masked parent whose children are all published gets its smallest positive child masked; (3) a
    parent with a group holding one masked child and no positive published sibling to hide it with is
    masked itself. Each pass can create work for the next level, so the passes repeat a fixed number of
    times; tests/test_secrecy.py checks the result on every published table. Every condition is two-valued
    (coalesce): a null would make is_masked null, a value withheld under the flag 'published'. -#}
{% macro secrecy_cells(relation, partition_columns, passes=6) %}
{%- set k = var('secrecy_k') | int -%}
{%- set parts = partition_columns | join(', ') -%}
{%- set same_part = [] -%}
{%- for c in partition_columns %}{% do same_part.append('{l}.' ~ c ~ ' = {r}.' ~ c ~ ' and ') %}{% endfor -%}
{%- set same_part = same_part | join('') -%}
with pass_0 as {{ materialized_cte() }} (
    select {{ parts }}, cell_id, cell_value, coalesce(cell_value between 1 and {{ k - 1 }}, false) as is_masked
    from {{ relation }}
),

-- child -> parent edges, one group of siblings per (parent, tree)
edges as {{ materialized_cte() }} (
    select {{ parts }}, cell_id, parent_cell_id, 'main' as sibling_tree
    from {{ relation }}
    where parent_cell_id is not null
    union all
    select {{ parts }}, cell_id, second_parent_cell_id as parent_cell_id, 'second' as sibling_tree
    from {{ relation }}
    where second_parent_cell_id is not null
),
{%- for i in range(1, passes + 1) %}
{%- set previous = 'pass_' ~ (i - 1) %}

children_{{ i }} as {{ materialized_cte() }} (
    select
        edges.*,
        cells.cell_value,
        cells.is_masked,
        row_number() over (
            partition by {% for c in partition_columns %}edges.{{ c }}, {% endfor %}edges.parent_cell_id, edges.sibling_tree
            order by case when not cells.is_masked and cells.cell_value > 0 then 0 else 1 end, cells.cell_value, edges.cell_id
        ) as candidate_rank
    from edges
    inner join {{ previous }} as cells
        on {{ same_part | replace('{l}', 'edges') | replace('{r}', 'cells') }}edges.cell_id = cells.cell_id
),

groups_{{ i }} as (
    select
        {{ parts }},
        parent_cell_id,
        sibling_tree,
        sum(case when is_masked then 1 else 0 end) as masked_children,
        sum(case when not is_masked and cell_value > 0 then 1 else 0 end) as positive_published_children
    from children_{{ i }}
    group by {{ parts }}, parent_cell_id, sibling_tree
),

-- rules 1 and 2: the child a group masks as well
votes_{{ i }} as (
    select
        {% for c in partition_columns %}children.{{ c }}, {% endfor %}children.cell_id,
        max(
            case
                when
                    not children.is_masked and children.cell_value > 0 and children.candidate_rank = 1
                    and (
                        coalesce(groups.masked_children, 0) = 1
                        or (coalesce(parent.is_masked, false) and coalesce(groups.masked_children, 0) = 0)
                    )
                    then 1
                else 0
            end
        ) as mask_as_child
    from children_{{ i }} as children
    left join groups_{{ i }} as groups
        on {{ same_part | replace('{l}', 'children') | replace('{r}', 'groups') }}children.parent_cell_id = groups.parent_cell_id
            and children.sibling_tree = groups.sibling_tree
    left join {{ previous }} as parent
        on {{ same_part | replace('{l}', 'children') | replace('{r}', 'parent') }}children.parent_cell_id = parent.cell_id
    group by {% for c in partition_columns %}children.{{ c }}, {% endfor %}children.cell_id
),

-- rule 3: the parent masked because a masked child cannot be hidden among its siblings
unhideable_{{ i }} as (
    select
        {{ parts }},
        parent_cell_id as cell_id,
        max(case when masked_children = 1 and positive_published_children = 0 then 1 else 0 end) as mask_as_parent
    from groups_{{ i }}
    group by {{ parts }}, parent_cell_id
),

pass_{{ i }} as {{ materialized_cte() }} (
    select
        {% for c in partition_columns %}cells.{{ c }}, {% endfor %}cells.cell_id,
        cells.cell_value,
        cells.is_masked
        or (
            coalesce(cells.cell_value, 0) > 0
            and (coalesce(votes.mask_as_child, 0) = 1 or coalesce(unhideable.mask_as_parent, 0) = 1)
        ) as is_masked
    from {{ previous }} as cells
    left join votes_{{ i }} as votes
        on {{ same_part | replace('{l}', 'cells') | replace('{r}', 'votes') }}cells.cell_id = votes.cell_id
    left join unhideable_{{ i }} as unhideable
        on {{ same_part | replace('{l}', 'cells') | replace('{r}', 'unhideable') }}cells.cell_id = unhideable.cell_id
),
{%- endfor %}

final_cells as (
    select
        {{ parts }},
        cell_id,
        cell_value,
        is_masked,
        case
            when not is_masked then 'published'
            when cell_value between 1 and {{ k - 1 }} then 'masked_small_count'
            else 'masked_secondary'
        end as flag
    from pass_{{ passes }}
)

select * from final_cells
{% endmacro %}

{#- A share or mean is published only when its denominator counts at least k people and that count is
    itself published: a share with four decimals of a secondarily masked count of 12 people (0.4167 = 5/12)
    would give the count away, and with it the cell the secondary mask protected. -#}
{% macro published_ratio(value, denominator, denominator_flag) -%}
    case
        when {{ denominator }} >= {{ var('secrecy_k') }} and {{ denominator_flag }} = 'published'
            then {{ value }}
    end
{%- endmacro %}

{% macro ratio_flag(denominator, denominator_flag) -%}
    case
        when {{ denominator }} >= {{ var('secrecy_k') }} and {{ denominator_flag }} = 'published' then 'published'
        when {{ denominator }} = 0 then 'not_applicable'
        when {{ denominator }} >= {{ var('secrecy_k') }} then 'masked_secondary'
        else 'masked_small_denominator'
    end
{%- endmacro %}

{#- Each secrecy pass reads the previous one three times: without materialisation the plan grows as
    3^passes. DuckDB materialises a CTE on request; other engines get a plain CTE. -#}
{% macro materialized_cte() -%}
    {{ return(adapter.dispatch('materialized_cte', 'milo')()) }}
{%- endmacro %}

{% macro default__materialized_cte() -%}{%- endmacro %}

{% macro duckdb__materialized_cte() -%}materialized{%- endmacro %}
