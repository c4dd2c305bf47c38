-- Every delivered line of the Parcours 3 dossiers file, in the project's vocabulary. A dossier is delivered
-- whole each month it is created or changed; the harmonised layer keeps one version per dossier and month.
with source as (
    select * from {{ source('raw', 'parcours3__young_people') }}
),

renamed as (
    select
        num_dossier_pseudo as person_id,
        -- only I-Milo carries the number of a migrated Parcours 3 dossier
        cast(null as {{ dbt.type_string() }}) as legacy_p3_person_id,
        code_ml as mission_locale_code,
        mois_naissance as birth_month,
        sexe as sex_code,
        niveau as education_level_code,
        case diplome when 'O' then true when 'N' then false end as has_diploma,
        dep_residence as residence_departement_code,
        case zus when 'O' then true when 'N' then false end as lives_in_zus,
        -- QPV replaced ZUS in 2015, after Parcours 3: never equated with a ZUS flag
        cast(null as boolean) as lives_in_qpv,
        case zrr when 'O' then true when 'N' then false end as lives_in_zrr,
        date_premier_accueil as first_welcome_date,
        date_maj as record_updated_date,
        _delivery_month as delivery_month,
        _source_line as source_line
    from source
)

select * from renamed
