{#- Monthly activity of the missions locales: one row per month x geography level x code. Contacts,
    interviews and first welcomes are localised by the mission locale that recorded them; scheme entries by
    the mission locale of entry; end-of-month stocks by the young person's residence (département and
    region), as the official series do (at mission-locale level, by the mission locale of the spell). -#}
{{ config(**monthly_window_config('month')) }}
{#- Incremental by month: every figure of a month comes from that month's events, entries, welcomes and
    end-of-month spells, so a monthly run rebuilds only its window (the months late records reach). -#}
{%- set schemes = ['GJ', 'PACEA', 'CEJ', 'CIVIS', 'ANI', 'EAV', 'DIAG', 'PPAE'] %}
{#- What a person received, from their events (the person-month rows and the several-places rows below). -#}
{%- set contact_measures -%}
    sum(case when events.event_type = 'individual_interview' then 1 else 0 end) as individual_interviews,
        max(
            case
                when events.event_type in ('individual_interview', 'workshop', 'collective_information') then 1 else 0
            end
        ) as received_in_interview,
        max(case when events.event_type = 'individual_interview' then 1 else 0 end) as received_individually
{%- endset %}
with observation as (
    select
        first_delivery_month,
        observed_until
    from {{ ref('observation_window') }}
),

mission_locales as (
    select * from {{ ref('mission_locales') }}
),

months as (
    select distinct events.event_month as month
    from {{ ref('events') }} as events
    cross join observation
    where
        events.event_month >= observation.first_delivery_month and events.event_month < observation.observed_until
        and {{ in_incremental_window('events.event_month') }}
),

-- one row per person and month with what they received, and the mission locales that gave it: the lowest
-- and highest code (a null code compares as ''; unknown either way). Nearly everyone is seen by one mission
-- locale in a month; their row places them at every geography level as it is.
person_months as (
    select
        events.event_month as month,
        events.person_key,
        min(coalesce(events.mission_locale_code, '')) as first_mission_locale_code,
        max(coalesce(events.mission_locale_code, '')) as last_mission_locale_code,
        {{ contact_measures }}
    from {{ ref('events') }} as events
    where events.took_place and {{ in_incremental_window('events.event_month') }}
    group by events.event_month, events.person_key
),

-- the few people seen by several mission locales in a month: what each of them gave, to be counted once per
-- area below (a person seen in two mission locales of one département is one person there)
multi_place_contacts as (
    select
        events.event_month as month,
        coalesce(events.mission_locale_code, '') as mission_locale_code,
        events.person_key,
        {{ contact_measures }}
    from {{ ref('events') }} as events
    inner join person_months
        on
            events.event_month = person_months.month
            and events.person_key = person_months.person_key
            and person_months.first_mission_locale_code <> person_months.last_mission_locale_code
    where events.took_place and {{ in_incremental_window('events.event_month') }}
    group by events.event_month, coalesce(events.mission_locale_code, ''), events.person_key
),

-- each person's first delivered dossier version: the mission locale of their first welcome, and the
-- residence where a spell open before that version is placed (the dossier was last changed before the
-- first delivery)
first_version as (
    select
        persons.person_key,
        persons.first_welcome_date,
        history.mission_locale_code,
        history.residence_departement_code,
        history.residence_region_2016_code
    from {{ ref('persons') }} as persons
    inner join {{ ref('person_history') }} as history
        on
            persons.person_key = history.person_key
            and persons.first_delivery_month = history.valid_from_month
),

first_welcomes as (
    select
        cast({{ month_of('first_welcome_date') }} as date) as month,
        mission_locale_code,
        person_key
    from first_version
    where {{ in_incremental_window('first_welcome_date') }}
),

entries as (
    select
        cast({{ month_of('enrolments.entry_date') }} as date) as month,
        enrolments.mission_locale_code,
        enrolments.scheme,
        enrolments.is_renewal
    from {{ ref('scheme_enrolments') }} as enrolments
    where {{ in_incremental_window('enrolments.entry_date') }}
),

-- spells open at the end of each month, with the residence in force that month
stock as (
    select
        months.month,
        spells.scheme,
        spells.mission_locale_code,
        coalesce(history.residence_departement_code, first_version.residence_departement_code)
            as residence_departement_code,
        coalesce(history.residence_region_2016_code, first_version.residence_region_2016_code)
            as residence_region_2016_code
    from {{ ref('scheme_spells') }} as spells
    inner join months
        on
            spells.entry_date < {{ dbt.dateadd('month', 1, 'months.month') }}
            and (spells.end_date is null or spells.end_date >= {{ dbt.dateadd('month', 1, 'months.month') }})
    left join {{ ref('person_history') }} as history
        on
            spells.person_key = history.person_key
            and months.month >= history.valid_from_month
            and (history.valid_to_month is null or months.month < history.valid_to_month)
    left join first_version
        on spells.person_key = first_version.person_key
),

{%- for level, code in geo_levels() %}
{%- set ml_code = {'national': "'FR'", 'region': 'ml.region_2016_code', 'departement': 'ml.departement_code',
    'mission_locale': 'ml.mission_locale_code'}[level] %}
{%- set residence_code = {'national': "'FR'", 'region': 'stock.residence_region_2016_code',
    'departement': 'stock.residence_departement_code', 'mission_locale': 'stock.mission_locale_code'}[level] %}

    -- one row per person, month and area: people seen by one mission locale as they are; the others'
    -- rows collapsed to one per area by a grouping (counting them with count(distinct) per level held every
    -- person-month in memory at once; regrouping everyone per level took 70 % of this model: see
    -- docs/benchmarks.md)
    contacts_{{ level }}_people as (
        select
            person_months.month,
            cast(coalesce({{ ml_code }}, 'unknown') as varchar) as geo_code,
            person_months.received_in_interview,
            person_months.received_individually,
            person_months.individual_interviews
        from person_months
        {%- if level != 'national' %}
            left join mission_locales as ml on person_months.first_mission_locale_code = ml.mission_locale_code
        {%- endif %}
        where person_months.first_mission_locale_code = person_months.last_mission_locale_code
        union all
        select
            contacts.month,
            cast(coalesce({{ ml_code }}, 'unknown') as varchar) as geo_code,
            max(contacts.received_in_interview) as received_in_interview,
            max(contacts.received_individually) as received_individually,
            sum(contacts.individual_interviews) as individual_interviews
        from multi_place_contacts as contacts
            {%- if level != 'national' %}
            left join mission_locales as ml on contacts.mission_locale_code = ml.mission_locale_code
            {%- endif %}
        group by contacts.month, coalesce({{ ml_code }}, 'unknown'), contacts.person_key
    ),

    contacts_{{ level }} as (
        select
            month,
            geo_code,
            count(*) as young_people_in_contact,
            cast(sum(received_in_interview) as bigint) as received_in_interview,
            cast(sum(received_individually) as bigint) as received_in_individual_interview,
            sum(individual_interviews) as individual_interviews
        from contacts_{{ level }}_people
        group by month, geo_code
    ),

    welcomes_{{ level }} as (
        select
            first_welcomes.month,
            cast(coalesce({{ ml_code }}, 'unknown') as varchar) as geo_code,
            count(*) as first_welcomes
        from first_welcomes
        {%- if level != 'national' %}
            left join mission_locales as ml on first_welcomes.mission_locale_code = ml.mission_locale_code
        {%- endif %}
        group by first_welcomes.month, coalesce({{ ml_code }}, 'unknown')
    ),

    entries_{{ level }} as (
        select
            {%- for scheme in schemes %}
                sum(case when entries.scheme = '{{ scheme }}' then 1 else 0 end) as {{ scheme | lower }}_entries,
                sum(case when entries.scheme = '{{ scheme }}' and not entries.is_renewal then 1 else 0 end)
                    as {{ scheme | lower }}_entries_excl_renewals,
            {%- endfor %}
            entries.month,
            cast(coalesce({{ ml_code }}, 'unknown') as varchar) as geo_code
        from entries
        {%- if level != 'national' %}
            left join mission_locales as ml on entries.mission_locale_code = ml.mission_locale_code
        {%- endif %}
        group by entries.month, coalesce({{ ml_code }}, 'unknown')
    ),

    stock_{{ level }} as (
        select
            {%- for scheme in schemes %}
                sum(case when stock.scheme = '{{ scheme }}' then 1 else 0 end) as {{ scheme | lower }}_stock,
            {%- endfor %}
            stock.month,
            cast(coalesce({{ residence_code }}, 'unknown') as varchar) as geo_code
        from stock
        group by stock.month, coalesce({{ residence_code }}, 'unknown')
    ),

    keys_{{ level }} as (
        select
            month,
            geo_code
        from contacts_{{ level }}
        union
        select
            month,
            geo_code
        from welcomes_{{ level }}
        union
        select
            month,
            geo_code
        from entries_{{ level }}
        union
        select
            month,
            geo_code
        from stock_{{ level }}
    ),

    activity_{{ level }} as (
        select
            keys.month,
            '{{ level }}' as geo_level,
            coalesce(keys.geo_code, 'unknown') as geo_code,
            coalesce(contacts.young_people_in_contact, 0) as young_people_in_contact,
            coalesce(contacts.received_in_interview, 0) as received_in_interview,
            coalesce(contacts.received_in_individual_interview, 0) as received_in_individual_interview,
            coalesce(welcomes.first_welcomes, 0) as first_welcomes,
            {%- for scheme in schemes %}
                coalesce(entries.{{ scheme | lower }}_entries, 0) as {{ scheme | lower }}_entries,
                coalesce(entries.{{ scheme | lower }}_entries_excl_renewals, 0)
                    as {{ scheme | lower }}_entries_excl_renewals,
                coalesce(stock.{{ scheme | lower }}_stock, 0) as {{ scheme | lower }}_stock,
            {%- endfor %}
            coalesce(contacts.individual_interviews, 0) as individual_interviews
        from keys_{{ level }} as keys
        left join contacts_{{ level }} as contacts
            on keys.month = contacts.month and keys.geo_code = contacts.geo_code
        left join welcomes_{{ level }} as welcomes
            on keys.month = welcomes.month and keys.geo_code = welcomes.geo_code
        left join entries_{{ level }} as entries
            on keys.month = entries.month and keys.geo_code = entries.geo_code
        left join stock_{{ level }} as stock
            on keys.month = stock.month and keys.geo_code = stock.geo_code
    ),
{%- endfor %}

stacked as (
    {%- for level, code in geo_levels() %}
        select * from activity_{{ level }}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)

select stacked.*
from stacked
inner join months
    on stacked.month = months.month
