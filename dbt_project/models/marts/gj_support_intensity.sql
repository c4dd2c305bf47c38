{#- Support received month by month of seniority in the scheme (1 = the first month after entry), per entry
    cohort, for Garantie jeunes, PACEA without a Garantie jeunes phase, and CEJ. People count while their
    continuous spell is open and the month has been delivered; events are those that took place. -#}
with observation as (
    select observed_until from {{ ref('observation_window') }}
),

spells as (
    {{ intensity_spells(ref('scheme_spells')) }}
),

seniority as (
    {{ seniority_months(24) }}
),

-- each spell's seniority months while it is open and delivered
spell_months as (
    select
        spells.spell_id,
        spells.scheme,
        spells.entry_month,
        seniority.seniority_month
    from spells
    cross join seniority
    cross join observation
    where
        {{ dbt.dateadd('month', 'seniority.seniority_month - 1', 'spells.entry_date') }} < observation.observed_until
        and (
            spells.end_date is null
            or spells.end_date > {{ dbt.dateadd('month', 'seniority.seniority_month - 1', 'spells.entry_date') }}
        )
),

per_person as (
    select
        spell_months.scheme,
        spell_months.entry_month,
        spell_months.seniority_month,
        spell_months.spell_id,
        coalesce(counted.individual_interviews, 0) as individual_interviews,
        coalesce(counted.workshops, 0) as workshops,
        coalesce(counted.collective_information_sessions, 0) as collective_information_sessions,
        coalesce(counted.remote_contacts, 0) as remote_contacts
    from spell_months
    left join {{ ref('int_spell_event_months') }} as counted
        on
            spell_months.spell_id = counted.spell_id
            and spell_months.seniority_month = counted.seniority_month
),

cohorts as (
    select
        scheme,
        'month' as cohort_level,
        entry_month as cohort_month,
        seniority_month,
        spell_id,
        individual_interviews,
        workshops,
        collective_information_sessions,
        remote_contacts
    from per_person
    union all
    select
        scheme,
        'year' as cohort_level,
        cast({{ dbt.date_trunc('year', 'entry_month') }} as date) as cohort_month,
        seniority_month,
        spell_id,
        individual_interviews,
        workshops,
        collective_information_sessions,
        remote_contacts
    from per_person
)

select
    scheme,
    cohort_level,
    cohort_month,
    seniority_month,
    count(*) as people,
    round(avg(cast(individual_interviews as double)), 4) as individual_interviews_per_person,
    round(avg(cast(workshops as double)), 4) as workshops_per_person,
    round(avg(cast(collective_information_sessions as double)), 4) as collective_information_per_person,
    round(avg(cast(remote_contacts as double)), 4) as remote_contacts_per_person,
    sum(case when individual_interviews > 0 then 1 else 0 end) as people_with_individual_interview,
    sum(case when workshops + collective_information_sessions > 0 then 1 else 0 end)
        as people_with_collective_activity,
    {{ share('sum(case when individual_interviews > 0 then 1 else 0 end)', 'count(*)') }}
        as share_with_individual_interview,
    {{ share('sum(case when workshops + collective_information_sessions > 0 then 1 else 0 end)', 'count(*)') }}
        as share_with_collective_activity
from cohorts
group by scheme, cohort_level, cohort_month, seniority_month
