-- Every delivered line of the Parcours 3 events file (a corrected or late line is a later line of the same
-- event; the harmonised layer keeps the latest).
with source as (
    select * from {{ source('raw', 'parcours3__events') }}
),

renamed as (
    select
        num_evenement as event_id,
        num_dossier_pseudo as person_id,
        code_ml as mission_locale_code,
        date_evt as event_date,
        type_evt as event_type_code,
        mode_contact as channel_code,
        -- Parcours 3 records only the events that took place
        cast(null as {{ dbt.type_string() }}) as attendance_code,
        _delivery_month as delivery_month,
        _source_line as source_line
    from source
)

select * from renamed
