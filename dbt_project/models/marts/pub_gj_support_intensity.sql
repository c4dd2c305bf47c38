{#- Publishable support intensity: gj_support_intensity with statistical secrecy (docs/secrecy.md). The
    people counted add up from monthly cohorts into their yearly cohort, so secondary suppression runs along
    month -> year (per scheme and seniority month); per-person means and shares are masked when fewer than
    k people are counted or when that count is itself masked. -#}
{%- set counts = ['people', 'people_with_individual_interview', 'people_with_collective_activity'] %}
with prepared as (
    select
        intensity.*,
        {{ dbt.concat(['intensity.cohort_level', "':'", as_text('intensity.cohort_month')]) }} as cell_id,
        case
            when intensity.cohort_level = 'month'
                then {{ dbt.concat(["'year:'", as_text(dbt.date_trunc('year', 'intensity.cohort_month'))]) }}
        end as parent_cell_id
    from {{ ref('gj_support_intensity') }} as intensity
),

cells as {{ materialized_cte() }} (
    {{ secrecy_cells('prepared', ['scheme', 'seniority_month'], counts) }}
),

published as (
    {{ pivot_secrecy_cells('cells', ['scheme', 'seniority_month'], counts) }}
)

select
    prepared.scheme,
    prepared.cohort_level,
    prepared.cohort_month,
    prepared.seniority_month,
    {%- for column in counts %}
        published.{{ column }},
        published.{{ column }}_flag,
    {%- endfor %}
    {%- for ratio in ['individual_interviews_per_person', 'workshops_per_person', 'collective_information_per_person',
        'remote_contacts_per_person', 'share_with_individual_interview', 'share_with_collective_activity'] %}
        {{ published_ratio('prepared', ratio, 'people', 'published.people_flag') }}
        {%- if not loop.last %},{% endif %}
    {%- endfor %}
from prepared
inner join published
    on
        prepared.scheme = published.scheme
        and prepared.seniority_month = published.seniority_month
        and prepared.cell_id = published.cell_id
