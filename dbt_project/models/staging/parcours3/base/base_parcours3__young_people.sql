select
    num_dossier_pseudo as person_id,
    cast(null as varchar) as legacy_p3_person_id,
    code_ml as mission_locale_code,
    mois_naissance as birth_month,
    sexe as sex_code,
    niveau as education_level_code,
    {{ flag_to_boolean('diplome') }} as has_diploma,
    dep_residence as residence_departement_code,
    {{ flag_to_boolean('zus') }} as lives_in_zus,
    cast(null as boolean) as lives_in_qpv,
    {{ flag_to_boolean('zrr') }} as lives_in_zrr,
    date_premier_accueil as first_welcome_date,
    date_maj as record_updated_date,
    {{ delivery_columns() }}
from {{ source('raw', 'parcours3__young_people') }}
