-- Support received month by month of seniority in the scheme (1 = the first month after entry), per entry
-- cohort, for Garantie jeunes, PACEA without a Garantie jeunes phase, and CEJ. People count while their
-- continuous spell is open and the month has been delivered; events are those that took place.
--
-- Every figure is a count or a sum over the people of a cohort, so the month cohorts are aggregated once
-- and the year cohorts are sums of them. The people of a cohort and seniority month are counted from the
-- spells (each spell's open and delivered months); the events are placed in their spell's seniority month
-- by date arithmetic (joining every event to all 24 months of every spell costs twice as much).
with observation as (
    select observed_until from {{ ref('observation_window') }}
),

scheme_spells as (
    select * from {{ ref('scheme_spells') }}
),

-- a PACEA with a Garantie jeunes phase is published as that phase, not as a PACEA of its own
pacea_with_gj_phase as (
    select distinct parent_spell_id as spell_id
    from scheme_spells
    where scheme = 'GJ' and parent_spell_id is not null
),

spells as (
    select scheme_spells.*
    from scheme_spells
    left join pacea_with_gj_phase
        on scheme_spells.spell_id = pacea_with_gj_phase.spell_id
    where
        scheme_spells.scheme in ('GJ', 'CEJ')
        or (scheme_spells.scheme = 'PACEA' and pacea_with_gj_phase.spell_id is null)
),

digits as (
    select 0 as digit
    union all
    select 1 as digit
    union all
    select 2 as digit
    union all
    select 3 as digit
    union all
    select 4 as digit
    union all
    select 5 as digit
    union all
    select 6 as digit
    union all
    select 7 as digit
    union all
    select 8 as digit
    union all
    select 9 as digit
),

-- the months of seniority published: 1 to 24
seniority as (
    select tens.digit * 10 + units.digit + 1 as seniority_month
    from digits as units
    cross join digits as tens
    where tens.digit * 10 + units.digit + 1 <= 24
),

-- each spell's seniority months while it is open and delivered: month k starts k - 1 months after entry
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

-- each event that took place while a spell was open, in its month of seniority: month k runs from entry +
-- (k - 1) months to entry + k months, so k is the calendar-month difference, plus one once the event has
-- reached that many months after entry
spell_events as (
    select
        spells.spell_id,
        events.event_type,
        (extract(year from events.event_date) * 12 + extract(month from events.event_date))
        - (extract(year from spells.entry_date) * 12 + extract(month from spells.entry_date))
        + case
            when
                {{ dbt.dateadd(
                    'month',
                    '(extract(year from events.event_date) * 12 + extract(month from events.event_date))'
                    ~ ' - (extract(year from spells.entry_date) * 12 + extract(month from spells.entry_date))',
                    'spells.entry_date'
                ) }} <= events.event_date
                then 1
            else 0
        end as seniority_month
    from spells
    inner join {{ ref('events') }} as events
        on
            spells.person_key = events.person_key
            and events.took_place
            and spells.entry_date <= events.event_date
            and (spells.end_date is null or spells.end_date > events.event_date)
            -- month 25 onwards starts 24 months after entry
            and events.event_date < {{ dbt.dateadd('month', 24, 'spells.entry_date') }}
),

-- the events of each spell month (spell months with events only)
spell_month_events as (
    select
        spell_id,
        seniority_month,
        sum(case when event_type = 'individual_interview' then 1 else 0 end) as individual_interviews,
        sum(case when event_type = 'workshop' then 1 else 0 end) as workshops,
        sum(case when event_type = 'collective_information' then 1 else 0 end) as collective_information_sessions,
        sum(case when event_type = 'remote_contact' then 1 else 0 end) as remote_contacts
    from spell_events
    group by spell_id, seniority_month
),

month_cohorts as (
    select
        spell_months.scheme,
        spell_months.entry_month,
        spell_months.seniority_month,
        count(*) as people,
        coalesce(sum(spell_month_events.individual_interviews), 0) as individual_interviews,
        coalesce(sum(spell_month_events.workshops), 0) as workshops,
        coalesce(sum(spell_month_events.collective_information_sessions), 0) as collective_information_sessions,
        coalesce(sum(spell_month_events.remote_contacts), 0) as remote_contacts,
        sum(case when spell_month_events.individual_interviews > 0 then 1 else 0 end)
            as people_with_individual_interview,
        sum(
            case
                when spell_month_events.workshops + spell_month_events.collective_information_sessions > 0 then 1
                else 0
            end
        ) as people_with_collective_activity
    from spell_months
    -- an event never counts in a month that counts no people
    left join spell_month_events
        on
            spell_months.spell_id = spell_month_events.spell_id
            and spell_months.seniority_month = spell_month_events.seniority_month
    group by spell_months.scheme, spell_months.entry_month, spell_months.seniority_month
),

cohorts as (
    select
        scheme,
        'month' as cohort_level,
        entry_month as cohort_month,
        seniority_month,
        people,
        individual_interviews,
        workshops,
        collective_information_sessions,
        remote_contacts,
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
        sum(individual_interviews) as individual_interviews,
        sum(workshops) as workshops,
        sum(collective_information_sessions) as collective_information_sessions,
        sum(remote_contacts) as remote_contacts,
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
