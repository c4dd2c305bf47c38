select
    id_jeune_pseudo as person_id,
    id_dossier_p3_pseudo as legacy_p3_person_id,
    code_structure as mission_locale_code,
    mois_naissance as birth_month,
    sexe as sex_code,
    niveau_formation as education_level_code,
    {{ flag_to_boolean('diplome_obtenu') }} as has_diploma,
    departement_residence as residence_departement_code,
    cast(null as boolean) as lives_in_zus,
    {{ flag_to_boolean('qpv') }} as lives_in_qpv,
    {{ flag_to_boolean('zrr') }} as lives_in_zrr,
    date_premier_accueil as first_welcome_date,
    date_maj as record_updated_date,
    {{ delivery_columns() }}
from {{ source('raw', 'imilo__young_people') }}
