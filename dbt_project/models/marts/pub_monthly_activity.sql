{#- Publishable monthly activity: monthly_activity with statistical secrecy (docs/secrecy.md): counts of
    people from 1 to k-1 masked, then secondary suppression along the geography hierarchy, with flags. -#}
{%- set counts = ['young_people_in_contact', 'received_in_interview', 'received_in_individual_interview',
    'first_welcomes', 'individual_interviews'] %}
{%- for scheme in ['gj', 'pacea', 'cej', 'civis', 'ani', 'eav', 'diag', 'ppae'] %}
    {%- do counts.extend([scheme ~ '_entries', scheme ~ '_entries_excl_renewals', scheme ~ '_stock']) %}
{%- endfor %}
with prepared as (
    select
        activity.*,
        {{ geo_cell_ids('activity.geo_level', 'activity.geo_code') }}
    from {{ ref('monthly_activity') }} as activity
    {{ join_geo_parents('activity') }}
),

cells as {{ materialized_cte() }} (
    {{ secrecy_cells('prepared', ['month'], counts) }}
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
