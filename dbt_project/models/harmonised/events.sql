-- One row per follow-up event of either system (its latest delivered version), in one vocabulary. A late
-- or corrected record lands in its own month: every run rebuilds all months.
with parcours3 as (
    {{ latest_version(ref('stg_parcours3__events'), ['event_id']) }}
),

imilo as (
    {{ latest_version(ref('stg_imilo__events'), ['event_id']) }}
),

events as (
    select
        'parcours3' as source_system,
        parcours3.*
    from parcours3
    union all
    select
        'imilo' as source_system,
        imilo.*
    from imilo
),

person_keys as (
    select * from {{ ref('person_keys') }}
),

event_types as (
    select * from {{ ref('map_event_types') }}
),

channels as (
    select * from {{ ref('map_channels') }}
),

attendance as (
    select * from {{ ref('map_attendance') }}
)

select
    {{ dbt.concat(['events.source_system', "':'", 'events.event_id']) }} as event_key,
    -- a dossier last changed before the first delivery has no version: the record's own pseudonym keys it
    coalesce(person_keys.person_key, events.person_id) as person_key,
    events.source_system,
    events.mission_locale_code,
    events.event_date,
    cast({{ dbt.date_trunc('month', 'events.event_date') }} as date) as event_month,
    -- a code missing from a mapping seed becomes 'unknown', never a lost row
    coalesce(event_types.event_type, 'unknown') as event_type,
    coalesce(channels.channel, 'unknown') as channel,
    -- Parcours 3 records only events that took place
    coalesce(attendance.took_place, events.attendance_code is null) as took_place,
    events.delivery_month,
    events.delivery_month > cast({{ dbt.date_trunc('month', 'events.event_date') }} as date) as is_late_record
from events
left join person_keys
    on
        events.source_system = person_keys.source_system
        and events.person_id = person_keys.source_person_id
left join event_types
    on
        events.source_system = event_types.source_system
        and events.event_type_code = event_types.source_code
left join channels
    on
        events.source_system = channels.source_system
        and events.channel_code = channels.source_code
left join attendance
    on
        events.source_system = attendance.source_system
        and events.attendance_code = attendance.source_code
