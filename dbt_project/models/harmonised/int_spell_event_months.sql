{{ config(**person_scope_config(events_too=true)) }}
{#- The events that took place during each spell whose support intensity is published (Garantie jeunes,
    CEJ, PACEA without a Garantie jeunes phase), counted by type per month of seniority, 1 to 24 (month 1 =
    the first month after entry). Sparse: a spell month without events has no row. A table of its own
    because placing every event of every such person in their spells is the costly part of
    gj_support_intensity: per person, it is rebuilt for the people a monthly run touches (events included),
    not for everyone. -#}
with touched_spells as (
    select * from {{ ref('scheme_spells') }}
    where {{ in_person_scope('person_key', events_too=true) }}
),

spells as (
    {{ intensity_spells('touched_spells') }}
),

-- each event that took place while a spell was open, placed in its month of seniority: month k runs from
-- entry + (k - 1) months to entry + k months as dateadd counts them, so k is the calendar-month difference,
-- plus one once the event has reached that many months after entry. Joining events to spells once (not to
-- every seniority month of every spell) keeps the join to the spells of the event's person.
spell_events as (
    select
        placed.spell_id,
        placed.person_key,
        placed.seniority_month,
        placed.event_type
    from (
        select
            spells.spell_id,
            spells.person_key,
            events.event_type,
            {{ dbt.datediff('spells.entry_date', 'events.event_date', 'month') }}
            + case
                when
                    {{ dbt.dateadd('month', dbt.datediff('spells.entry_date', 'events.event_date', 'month'),
                        'spells.entry_date') }} <= events.event_date
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
                -- month 25 onwards starts at entry + 24 months: joining later events would only feed the
                -- filter below (the spells are the touched people's already, so are their events)
                and events.event_date < {{ dbt.dateadd('month', 24, 'spells.entry_date') }}
    ) as placed
    where placed.seniority_month <= 24
)

select
    spell_events.spell_id,
    -- one person per spell, carried for the monthly runs' deletion by person
    spell_events.person_key,
    spell_events.seniority_month,
    {{ events_by_type('spell_events') }}
from spell_events
group by spell_events.spell_id, spell_events.person_key, spell_events.seniority_month
