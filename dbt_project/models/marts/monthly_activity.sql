-- Monthly activity of the missions locales: one row per month x geography level x code. Contacts,
-- interviews and first welcomes are localised by the mission locale that recorded them; scheme entries by
-- the mission locale of entry; end-of-month stocks by the young person's residence (département and
-- region), as the official series do (at mission-locale level, by the mission locale of the spell).
with observation as (
    select
        first_delivery_month,
        observed_until
    from {{ ref('observation_window') }}
),

events as (
    select * from {{ ref('events') }}
    where took_place
),

mission_locales as (
    select * from {{ ref('mission_locales') }}
),

-- every figure is counted at each of the four levels of the published geography, finest last
geo_levels as (
    select 'national' as geo_level
    union all
    select 'region' as geo_level
    union all
    select 'departement' as geo_level
    union all
    select 'mission_locale' as geo_level
),

-- the months published: those with events, from the first delivery to the observation end
months as (
    select distinct events.event_month as month
    from {{ ref('events') }} as events
    cross join observation
    where events.event_month >= observation.first_delivery_month and events.event_month < observation.observed_until
),

-- one row per person and month with what they received, and the mission locales that gave it: the lowest
-- and highest code (a null code compares as ''; unknown either way). Nearly everyone is seen by one mission
-- locale in a month: their row places them at every geography level as it is.
person_months as (
    select
        event_month as month,
        person_key,
        min(coalesce(mission_locale_code, '')) as first_mission_locale_code,
        max(coalesce(mission_locale_code, '')) as last_mission_locale_code,
        sum(case when event_type = 'individual_interview' then 1 else 0 end) as individual_interviews,
        max(case when event_type in ('individual_interview', 'workshop', 'collective_information') then 1 else 0 end)
            as received_in_interview,
        max(case when event_type = 'individual_interview' then 1 else 0 end) as received_individually
    from events
    group by event_month, person_key
),

-- the few people seen by several mission locales in a month: what each mission locale gave them, to be
-- counted once per area below (a person seen in two mission locales of one département is one person there)
multi_place_contacts as (
    select
        events.event_month as month,
        coalesce(events.mission_locale_code, '') as mission_locale_code,
        events.person_key,
        sum(case when events.event_type = 'individual_interview' then 1 else 0 end) as individual_interviews,
        max(
            case
                when events.event_type in ('individual_interview', 'workshop', 'collective_information') then 1
                else 0
            end
        ) as received_in_interview,
        max(case when events.event_type = 'individual_interview' then 1 else 0 end) as received_individually
    from events
    inner join person_months
        on
            events.event_month = person_months.month
            and events.person_key = person_months.person_key
            and person_months.first_mission_locale_code <> person_months.last_mission_locale_code
    group by events.event_month, coalesce(events.mission_locale_code, ''), events.person_key
),

-- one row per person, month and area at every geography level: people seen by one mission locale as they
-- are, the others regrouped per area
contact_people as (
    select
        person_months.month,
        levels.geo_level,
        coalesce(
            case levels.geo_level
                when 'national' then 'FR'
                when 'region' then ml.region_2016_code
                when 'departement' then ml.departement_code
                when 'mission_locale' then ml.mission_locale_code
            end,
            'unknown'
        ) as geo_code,
        person_months.received_in_interview,
        person_months.received_individually,
        person_months.individual_interviews
    from person_months
    left join mission_locales as ml
        on person_months.first_mission_locale_code = ml.mission_locale_code
    cross join geo_levels as levels
    where person_months.first_mission_locale_code = person_months.last_mission_locale_code
    union all
    select
        contacts.month,
        levels.geo_level,
        coalesce(
            case levels.geo_level
                when 'national' then 'FR'
                when 'region' then ml.region_2016_code
                when 'departement' then ml.departement_code
                when 'mission_locale' then ml.mission_locale_code
            end,
            'unknown'
        ) as geo_code,
        max(contacts.received_in_interview) as received_in_interview,
        max(contacts.received_individually) as received_individually,
        sum(contacts.individual_interviews) as individual_interviews
    from multi_place_contacts as contacts
    left join mission_locales as ml
        on contacts.mission_locale_code = ml.mission_locale_code
    cross join geo_levels as levels
    group by
        contacts.month,
        levels.geo_level,
        coalesce(
            case levels.geo_level
                when 'national' then 'FR'
                when 'region' then ml.region_2016_code
                when 'departement' then ml.departement_code
                when 'mission_locale' then ml.mission_locale_code
            end,
            'unknown'
        ),
        contacts.person_key
),

contacts as (
    select
        month,
        geo_level,
        geo_code,
        count(*) as young_people_in_contact,
        cast(sum(received_in_interview) as bigint) as received_in_interview,
        cast(sum(received_individually) as bigint) as received_in_individual_interview,
        sum(individual_interviews) as individual_interviews
    from contact_people
    group by month, geo_level, geo_code
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

welcomes as (
    select
        cast({{ dbt.date_trunc('month', 'first_version.first_welcome_date') }} as date) as month,
        levels.geo_level,
        coalesce(
            case levels.geo_level
                when 'national' then 'FR'
                when 'region' then ml.region_2016_code
                when 'departement' then ml.departement_code
                when 'mission_locale' then ml.mission_locale_code
            end,
            'unknown'
        ) as geo_code,
        count(*) as first_welcomes
    from first_version
    left join mission_locales as ml
        on first_version.mission_locale_code = ml.mission_locale_code
    cross join geo_levels as levels
    where first_version.first_welcome_date is not null
    group by
        cast({{ dbt.date_trunc('month', 'first_version.first_welcome_date') }} as date),
        levels.geo_level,
        coalesce(
            case levels.geo_level
                when 'national' then 'FR'
                when 'region' then ml.region_2016_code
                when 'departement' then ml.departement_code
                when 'mission_locale' then ml.mission_locale_code
            end,
            'unknown'
        )
),

entries as (
    select
        cast({{ dbt.date_trunc('month', 'entries.entry_date') }} as date) as month,
        levels.geo_level,
        coalesce(
            case levels.geo_level
                when 'national' then 'FR'
                when 'region' then ml.region_2016_code
                when 'departement' then ml.departement_code
                when 'mission_locale' then ml.mission_locale_code
            end,
            'unknown'
        ) as geo_code,
        sum(case when entries.scheme = 'GJ' then 1 else 0 end) as gj_entries,
        sum(case when entries.scheme = 'GJ' and not entries.is_renewal then 1 else 0 end)
            as gj_entries_excl_renewals,
        sum(case when entries.scheme = 'PACEA' then 1 else 0 end) as pacea_entries,
        sum(case when entries.scheme = 'PACEA' and not entries.is_renewal then 1 else 0 end)
            as pacea_entries_excl_renewals,
        sum(case when entries.scheme = 'CEJ' then 1 else 0 end) as cej_entries,
        sum(case when entries.scheme = 'CEJ' and not entries.is_renewal then 1 else 0 end)
            as cej_entries_excl_renewals,
        sum(case when entries.scheme = 'CIVIS' then 1 else 0 end) as civis_entries,
        sum(case when entries.scheme = 'CIVIS' and not entries.is_renewal then 1 else 0 end)
            as civis_entries_excl_renewals,
        sum(case when entries.scheme = 'ANI' then 1 else 0 end) as ani_entries,
        sum(case when entries.scheme = 'ANI' and not entries.is_renewal then 1 else 0 end)
            as ani_entries_excl_renewals,
        sum(case when entries.scheme = 'EAV' then 1 else 0 end) as eav_entries,
        sum(case when entries.scheme = 'EAV' and not entries.is_renewal then 1 else 0 end)
            as eav_entries_excl_renewals,
        sum(case when entries.scheme = 'DIAG' then 1 else 0 end) as diag_entries,
        sum(case when entries.scheme = 'DIAG' and not entries.is_renewal then 1 else 0 end)
            as diag_entries_excl_renewals,
        sum(case when entries.scheme = 'PPAE' then 1 else 0 end) as ppae_entries,
        sum(case when entries.scheme = 'PPAE' and not entries.is_renewal then 1 else 0 end)
            as ppae_entries_excl_renewals
    from {{ ref('scheme_enrolments') }} as entries
    left join mission_locales as ml
        on entries.mission_locale_code = ml.mission_locale_code
    cross join geo_levels as levels
    group by
        cast({{ dbt.date_trunc('month', 'entries.entry_date') }} as date),
        levels.geo_level,
        coalesce(
            case levels.geo_level
                when 'national' then 'FR'
                when 'region' then ml.region_2016_code
                when 'departement' then ml.departement_code
                when 'mission_locale' then ml.mission_locale_code
            end,
            'unknown'
        )
),

-- spells open at the end of each month, with the residence in force that month
open_spells as (
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

stock as (
    select
        stock.month,
        levels.geo_level,
        coalesce(
            case levels.geo_level
                when 'national' then 'FR'
                when 'region' then stock.residence_region_2016_code
                when 'departement' then stock.residence_departement_code
                when 'mission_locale' then stock.mission_locale_code
            end,
            'unknown'
        ) as geo_code,
        sum(case when stock.scheme = 'GJ' then 1 else 0 end) as gj_stock,
        sum(case when stock.scheme = 'PACEA' then 1 else 0 end) as pacea_stock,
        sum(case when stock.scheme = 'CEJ' then 1 else 0 end) as cej_stock,
        sum(case when stock.scheme = 'CIVIS' then 1 else 0 end) as civis_stock,
        sum(case when stock.scheme = 'ANI' then 1 else 0 end) as ani_stock,
        sum(case when stock.scheme = 'EAV' then 1 else 0 end) as eav_stock,
        sum(case when stock.scheme = 'DIAG' then 1 else 0 end) as diag_stock,
        sum(case when stock.scheme = 'PPAE' then 1 else 0 end) as ppae_stock
    from open_spells as stock
    cross join geo_levels as levels
    group by
        stock.month,
        levels.geo_level,
        coalesce(
            case levels.geo_level
                when 'national' then 'FR'
                when 'region' then stock.residence_region_2016_code
                when 'departement' then stock.residence_departement_code
                when 'mission_locale' then stock.mission_locale_code
            end,
            'unknown'
        )
),

cells as (
    select
        month,
        geo_level,
        geo_code
    from contacts
    union
    select
        month,
        geo_level,
        geo_code
    from welcomes
    union
    select
        month,
        geo_level,
        geo_code
    from entries
    union
    select
        month,
        geo_level,
        geo_code
    from stock
)

select
    cells.month,
    cells.geo_level,
    cast(cells.geo_code as {{ dbt.type_string() }}) as geo_code,
    coalesce(contacts.young_people_in_contact, 0) as young_people_in_contact,
    coalesce(contacts.received_in_interview, 0) as received_in_interview,
    coalesce(contacts.received_in_individual_interview, 0) as received_in_individual_interview,
    coalesce(welcomes.first_welcomes, 0) as first_welcomes,
    coalesce(entries.gj_entries, 0) as gj_entries,
    coalesce(entries.gj_entries_excl_renewals, 0) as gj_entries_excl_renewals,
    coalesce(stock.gj_stock, 0) as gj_stock,
    coalesce(entries.pacea_entries, 0) as pacea_entries,
    coalesce(entries.pacea_entries_excl_renewals, 0) as pacea_entries_excl_renewals,
    coalesce(stock.pacea_stock, 0) as pacea_stock,
    coalesce(entries.cej_entries, 0) as cej_entries,
    coalesce(entries.cej_entries_excl_renewals, 0) as cej_entries_excl_renewals,
    coalesce(stock.cej_stock, 0) as cej_stock,
    coalesce(entries.civis_entries, 0) as civis_entries,
    coalesce(entries.civis_entries_excl_renewals, 0) as civis_entries_excl_renewals,
    coalesce(stock.civis_stock, 0) as civis_stock,
    coalesce(entries.ani_entries, 0) as ani_entries,
    coalesce(entries.ani_entries_excl_renewals, 0) as ani_entries_excl_renewals,
    coalesce(stock.ani_stock, 0) as ani_stock,
    coalesce(entries.eav_entries, 0) as eav_entries,
    coalesce(entries.eav_entries_excl_renewals, 0) as eav_entries_excl_renewals,
    coalesce(stock.eav_stock, 0) as eav_stock,
    coalesce(entries.diag_entries, 0) as diag_entries,
    coalesce(entries.diag_entries_excl_renewals, 0) as diag_entries_excl_renewals,
    coalesce(stock.diag_stock, 0) as diag_stock,
    coalesce(entries.ppae_entries, 0) as ppae_entries,
    coalesce(entries.ppae_entries_excl_renewals, 0) as ppae_entries_excl_renewals,
    coalesce(stock.ppae_stock, 0) as ppae_stock,
    coalesce(contacts.individual_interviews, 0) as individual_interviews
from cells
-- only the months published (the first welcomes, entries and stocks of other months are not)
inner join months
    on cells.month = months.month
left join contacts
    on cells.month = contacts.month and cells.geo_level = contacts.geo_level and cells.geo_code = contacts.geo_code
left join welcomes
    on cells.month = welcomes.month and cells.geo_level = welcomes.geo_level and cells.geo_code = welcomes.geo_code
left join entries
    on cells.month = entries.month and cells.geo_level = entries.geo_level and cells.geo_code = entries.geo_code
left join stock
    on cells.month = stock.month and cells.geo_level = stock.geo_level and cells.geo_code = stock.geo_code
