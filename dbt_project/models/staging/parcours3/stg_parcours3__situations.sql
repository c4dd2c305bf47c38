-- Every delivered line of the Parcours 3 situations file: a situation is delivered again each month it
-- changes (its end date); the harmonised layer keeps the latest.
with source as (
    select * from {{ source('raw', 'parcours3__situations') }}
),

renamed as (
    select
        num_situation as situation_id,
        num_dossier_pseudo as person_id,
        code_ml as mission_locale_code,
        code_situation as category_code,
        type_contrat as subtype_code,
        -- Parcours 3 has no state column: the harmonised layer derives it from the dates
        cast(null as {{ dbt.type_string() }}) as state_code,
        date_debut as start_date,
        date_fin as end_date,
        _delivery_month as delivery_month,
        _source_line as source_line
    from source
)

select * from renamed
