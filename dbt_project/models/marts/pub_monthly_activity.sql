{#- Publishable monthly activity: monthly_activity with statistical secrecy (docs/secrecy.md): counts of
    people from 1 to k-1 masked, then secondary suppression along the geography hierarchy, with flags.
    End-of-month stocks are localised by residence in départements and regions but by mission locale at
    mission-locale level: the mission locales add up to the national total, and for people living in the
    département of their mission locale to that département, so their secondary suppression follows both
    trees (`second_parent_cell_id`). -#}
{{ config(**monthly_window_config('month')) }}
{#- Incremental by month like monthly_activity: secrecy works within a month (no cell adds up across
    months), so the window's months are protected on their own exactly as in a full build. -#}
{%- set counts = ['young_people_in_contact', 'received_in_interview', 'received_in_individual_interview',
    'first_welcomes', 'individual_interviews'] %}
{%- set stocks = [] %}
{%- for scheme in ['gj', 'pacea', 'cej', 'civis', 'ani', 'eav', 'diag', 'ppae'] %}
    {%- do counts.extend([scheme ~ '_entries', scheme ~ '_entries_excl_renewals', scheme ~ '_stock']) %}
    {%- do stocks.append(scheme ~ '_stock') %}
{%- endfor %}
with prepared as (
    select
        activity.*,
        {{ geo_cell_ids('activity.geo_level', 'activity.geo_code') }},
        case when activity.geo_level = 'mission_locale' then 'national:FR' end as second_parent_cell_id
    from {{ ref('monthly_activity') }} as activity
    {{ join_geo_parents('activity') }}
    where {{ in_incremental_window('activity.month') }}
),

cells as {{ materialized_cte() }} (
    {{ secrecy_cells('prepared', ['month'], counts, second_tree_columns=stocks) }}
),

published as (
    {{ pivot_secrecy_cells('cells', ['month'], counts) }}
)

select
    {%- for column in counts %}
        published.{{ column }},
        published.{{ column }}_flag,
    {%- endfor %}
    prepared.month,
    prepared.geo_level,
    prepared.geo_code
from prepared
inner join published
    on
        prepared.month = published.month
        and prepared.cell_id = published.cell_id
