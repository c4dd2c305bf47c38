select
    id_evenement as event_id,
    id_jeune_pseudo as person_id,
    code_structure as mission_locale_code,
    date_evenement as event_date,
    type_evenement as event_type_code,
    modalite as channel_code,
    statut as attendance_code,
    {{ delivery_columns() }}
from {{ source('raw', 'imilo__events') }}
