select
    num_evenement as event_id,
    num_dossier_pseudo as person_id,
    code_ml as mission_locale_code,
    date_evt as event_date,
    type_evt as event_type_code,
    mode_contact as channel_code,
    -- Parcours 3 records only the events that took place.
    cast(null as varchar) as attendance_code,
    {{ delivery_columns() }}
from {{ source('raw', 'parcours3__events') }}
