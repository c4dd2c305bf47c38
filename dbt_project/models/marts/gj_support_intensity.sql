{#- Support received month by month of seniority in the scheme (1 = the first month after entry), per entry
    cohort, for Garantie jeunes, PACEA without a Garantie jeunes phase, and CEJ. People count while their
    continuous spell is open and the month has been delivered; events are those that took place.

    Every figure is a count or a sum over the people of a cohort, so the month cohorts are aggregated once
    and the year cohorts are sums of them. The people of a cohort and seniority month are counted from the
    spells (each spell's open and delivered months); the events from int_spell_event_months, sparse (spell
    months with events only), joined to their spell alone, not to all 24 months of every spell. -#}
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
        spells.scheme,
        spells.entry_month,
        seniority.seniority_month
    from spells
    cross join seniority
    cross join observation
    where {{ spell_month_counted('spells', 'seniority.seniority_month', 'observation.observed_until') }}
),

people as (
    select
        scheme,
        entry_month,
        seniority_month,
        count(*) as people
    from spell_months
    group by scheme, entry_month, seniority_month
),

-- the events of each spell month, from the sparse table (spell months with events only) joined to their
-- spell, under the same condition as spell_months: an event never counts in a month that counts no people
spell_events as (
    select
        spells.scheme,
        spells.entry_month,
        counted.seniority_month,
        {{ each_event_count('counted.{c}') }}
    from {{ ref('int_spell_event_months') }} as counted
    inner join spells
        on counted.spell_id = spells.spell_id
    cross join observation
    where {{ spell_month_counted('spells', 'counted.seniority_month', 'observation.observed_until') }}
),

events as (
    select
        scheme,
        entry_month,
        seniority_month,
        {{ each_event_count('sum({c}) as {c}') }},
        sum(case when individual_interviews > 0 then 1 else 0 end) as people_with_individual_interview,
        sum(case when workshops + collective_information_sessions > 0 then 1 else 0 end)
            as people_with_collective_activity
    from spell_events
    group by scheme, entry_month, seniority_month
),

month_cohorts as (
    select
        people.scheme,
        people.entry_month,
        people.seniority_month,
        people.people,
        {{ each_event_count('coalesce(events.{c}, 0) as {c}') }},
        coalesce(events.people_with_individual_interview, 0) as people_with_individual_interview,
        coalesce(events.people_with_collective_activity, 0) as people_with_collective_activity
    from people
    left join events
        on
            people.scheme = events.scheme
            and people.entry_month = events.entry_month
            and people.seniority_month = events.seniority_month
),

cohorts as (
    select
        scheme,
        'month' as cohort_level,
        entry_month as cohort_month,
        seniority_month,
        people,
        {{ each_event_count('{c}') }},
        people_with_individual_interview,
        people_with_collective_activity
    from month_cohorts
    union all
    select
        scheme,
        'year' as cohort_level,
        cast({{ dbt.date_trunc('year', 'entry_month') }} as date) as cohort_month,
        seniority_month,
        cast(sum(people) as {{ dbt.type_bigint() }}) as people,
        {{ each_event_count('sum({c}) as {c}') }},
        sum(people_with_individual_interview) as people_with_individual_interview,
        sum(people_with_collective_activity) as people_with_collective_activity
    from month_cohorts
    group by scheme, cast({{ dbt.date_trunc('year', 'entry_month') }} as date), seniority_month
)

select
    scheme,
    cohort_level,
    cohort_month,
    seniority_month,
    people,
    round(cast(individual_interviews as double) / people, 4) as individual_interviews_per_person,
    round(cast(workshops as double) / people, 4) as workshops_per_person,
    round(cast(collective_information_sessions as double) / people, 4) as collective_information_per_person,
    round(cast(remote_contacts as double) / people, 4) as remote_contacts_per_person,
    people_with_individual_interview,
    people_with_collective_activity,
    {{ share('people_with_individual_interview', 'people') }} as share_with_individual_interview,
    {{ share('people_with_collective_activity', 'people') }} as share_with_collective_activity
from cohorts
