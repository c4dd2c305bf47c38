-- Every delivered line of the I-Milo situations file: a situation is delivered again each month it changes
-- (its state, its end date); the harmonised layer keeps the latest.
with source as (
    select * from {{ source('raw', 'imilo__situations') }}
),

renamed as (
    select
        id_situation as situation_id,
        id_jeune_pseudo as person_id,
        code_structure as mission_locale_code,
        categorie as category_code,
        sous_type as subtype_code,
        etat as state_code,
        date_debut as start_date,
        date_fin as end_date,
        _delivery_month as delivery_month,
        _source_line as source_line
    from source
)

select * from renamed
