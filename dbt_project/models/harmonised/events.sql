{{ config(**monthly_window_config('event_date')) }}
{#- One row per follow-up event of either system, in one vocabulary; incremental by event month, so a
    late record (delivered up to three months later) lands in its own month when that window is rebuilt. -#}
-- depends_on: {{ ref('int_persons_touched') }}
with events as (
    {{ both_systems('events', records='window_deliveries') }}
)

select
    {{ system_key('events.source_system', 'events.event_id') }} as event_key,
    {{ person_key('keys', 'events.person_id') }} as person_key,
    events.source_system,
    events.mission_locale_code,
    events.event_date,
    cast({{ month_of('events.event_date') }} as date) as event_month,
    {{ mapped('type_map', 'event_type') }} as event_type,
    {{ mapped('channel_map', 'channel') }} as channel,
    -- Parcours 3 records only events that took place
    coalesce(attendance_map.took_place, events.attendance_code is null) as took_place,
    events.delivery_month,
    events.delivery_month > cast({{ month_of('events.event_date') }} as date) as is_late_record
from events
{{ join_person_key('keys', 'events.source_system', 'events.person_id') }}
{{ join_mapping('map_event_types', 'type_map', 'events.source_system', 'events.event_type_code') }}
{{ join_mapping('map_channels', 'channel_map', 'events.source_system', 'events.channel_code') }}
{{ join_mapping('map_attendance', 'attendance_map', 'events.source_system', 'events.attendance_code') }}
where {{ in_incremental_window('events.event_date') }}
