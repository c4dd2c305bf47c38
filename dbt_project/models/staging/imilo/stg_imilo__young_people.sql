-- Every delivered line of the I-Milo dossiers file, in the project's vocabulary. A dossier is delivered
-- whole each month it is created or changed; the harmonised layer keeps one version per dossier and month.
with source as (
    select * from {{ source('raw', 'imilo__young_people') }}
),

renamed as (
    select
        id_jeune_pseudo as person_id,
        -- pseudonymised in the Parcours 3 namespace, so it equals that dossier's person_id there
        id_dossier_p3_pseudo as legacy_p3_person_id,
        code_structure as mission_locale_code,
        mois_naissance as birth_month,
        sexe as sex_code,
        niveau_formation as education_level_code,
        case diplome_obtenu when 'O' then true when 'N' then false end as has_diploma,
        departement_residence as residence_departement_code,
        -- ZUS ended in 2015, before I-Milo recorded areas: never equated with a QPV flag
        cast(null as boolean) as lives_in_zus,
        case qpv when 'O' then true when 'N' then false end as lives_in_qpv,
        case zrr when 'O' then true when 'N' then false end as lives_in_zrr,
        date_premier_accueil as first_welcome_date,
        date_maj as record_updated_date,
        _delivery_month as delivery_month,
        _source_line as source_line
    from source
)

select * from renamed
