-- Publishable support intensity: gj_support_intensity with statistical secrecy (docs/secrecy.md). The people
-- counted add up from monthly cohorts into their yearly cohort, so secondary suppression runs along month ->
-- year (per scheme and seniority month); per-person means and shares are masked when fewer than k people
-- are counted or when that count is itself masked.
with intensity as (
    select
        *,
        {{ dbt.concat(['cohort_level', "':'", 'cast(cohort_month as ' ~ dbt.type_string() ~ ')']) }} as cell_id,
        -- a date, like the year rows' cohort_month: the month cells' parent is the year row's cell_id
        cast({{ dbt.date_trunc('year', 'cohort_month') }} as date) as cohort_year
    from {{ ref('gj_support_intensity') }}
),

-- the count columns protected by secrecy, one row each
measures as (
    select 'people' as measure
    union all
    select 'people_with_individual_interview' as measure
    union all
    select 'people_with_collective_activity' as measure
),

-- one row per cell and count: the long form the secrecy passes work on
cells as (
    select
        intensity.scheme,
        intensity.seniority_month,
        measures.measure,
        intensity.cell_id,
        case
            when intensity.cohort_level = 'month'
                then {{ dbt.concat(["'year:'", 'cast(intensity.cohort_year as ' ~ dbt.type_string() ~ ')']) }}
        end as parent_cell_id,
        cast(null as {{ dbt.type_string() }}) as second_parent_cell_id,
        case measures.measure
            when 'people' then intensity.people
            when 'people_with_individual_interview' then intensity.people_with_individual_interview
            when 'people_with_collective_activity' then intensity.people_with_collective_activity
        end as cell_value
    from intensity
    cross join measures
),

protected as {{ materialized_cte() }} (
    {{ secrecy_cells('cells', ['scheme', 'seniority_month', 'measure']) }}
),

-- back to one row per cell: each count published or null, with its flag
published as (
    select
        scheme,
        seniority_month,
        cell_id,
        max(case when measure = 'people' and not is_masked then cell_value end) as people,
        max(case when measure = 'people' then flag end) as people_flag,
        max(case when measure = 'people_with_individual_interview' and not is_masked then cell_value end)
            as people_with_individual_interview,
        max(case when measure = 'people_with_individual_interview' then flag end)
            as people_with_individual_interview_flag,
        max(case when measure = 'people_with_collective_activity' and not is_masked then cell_value end)
            as people_with_collective_activity,
        max(case when measure = 'people_with_collective_activity' then flag end)
            as people_with_collective_activity_flag
    from protected
    group by scheme, seniority_month, cell_id
)

select
    intensity.scheme,
    intensity.cohort_level,
    intensity.cohort_month,
    intensity.seniority_month,
    published.people,
    published.people_flag,
    published.people_with_individual_interview,
    published.people_with_individual_interview_flag,
    published.people_with_collective_activity,
    published.people_with_collective_activity_flag,
    {{ published_ratio(
        'intensity.individual_interviews_per_person', 'intensity.people', 'published.people_flag'
    ) }} as individual_interviews_per_person,
    {{ ratio_flag('intensity.people', 'published.people_flag') }} as individual_interviews_per_person_flag,
    {{ published_ratio(
        'intensity.workshops_per_person', 'intensity.people', 'published.people_flag'
    ) }} as workshops_per_person,
    {{ ratio_flag('intensity.people', 'published.people_flag') }} as workshops_per_person_flag,
    {{ published_ratio(
        'intensity.collective_information_per_person', 'intensity.people', 'published.people_flag'
    ) }} as collective_information_per_person,
    {{ ratio_flag('intensity.people', 'published.people_flag') }} as collective_information_per_person_flag,
    {{ published_ratio(
        'intensity.remote_contacts_per_person', 'intensity.people', 'published.people_flag'
    ) }} as remote_contacts_per_person,
    {{ ratio_flag('intensity.people', 'published.people_flag') }} as remote_contacts_per_person_flag,
    {{ published_ratio(
        'intensity.share_with_individual_interview', 'intensity.people', 'published.people_flag'
    ) }} as share_with_individual_interview,
    {{ ratio_flag('intensity.people', 'published.people_flag') }} as share_with_individual_interview_flag,
    {{ published_ratio(
        'intensity.share_with_collective_activity', 'intensity.people', 'published.people_flag'
    ) }} as share_with_collective_activity,
    {{ ratio_flag('intensity.people', 'published.people_flag') }} as share_with_collective_activity_flag
from intensity
inner join published
    on
        intensity.scheme = published.scheme
        and intensity.seniority_month = published.seniority_month
        and intensity.cell_id = published.cell_id
