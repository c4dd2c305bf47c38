-- Every delivered line of the I-Milo events file (a corrected or late line is a later line of the same
-- event; the harmonised layer keeps the latest).
with source as (
    select * from {{ source('raw', 'imilo__events') }}
),

renamed as (
    select
        id_evenement as event_id,
        id_jeune_pseudo as person_id,
        code_structure as mission_locale_code,
        date_evenement as event_date,
        type_evenement as event_type_code,
        modalite as channel_code,
        statut as attendance_code,
        _delivery_month as delivery_month,
        _source_line as source_line
    from source
)

select * from renamed
