-- One row per person and month from which their characteristics hold (a dossier is delivered again each
-- month it changes), across both systems: the Parcours 3 versions, then the I-Milo ones after migration.
with versions as (
    select * from {{ ref('int_person_versions') }}
    where system_rank = 1
),

sexes as (
    select * from {{ ref('map_sex') }}
),

education_levels as (
    select * from {{ ref('map_education_levels') }}
),

departements as (
    select * from {{ ref('ref_departements') }}
)

select
    versions.person_key,
    versions.delivery_month as valid_from_month,
    lead(versions.delivery_month) over (
        partition by versions.person_key order by versions.delivery_month
    ) as valid_to_month,
    versions.source_system,
    versions.person_id as source_person_id,
    versions.mission_locale_code,
    versions.birth_month,
    -- a code missing from a mapping seed becomes 'unknown', never a lost row
    coalesce(sexes.sex, 'unknown') as sex,
    versions.education_level_code,
    versions.has_diploma,
    coalesce(education_levels.dares_class, 'unknown') as education_class,
    coalesce(education_levels.level_1969, 'unknown') as education_level_1969,
    coalesce(education_levels.level_2019, 'unknown') as education_level_2019,
    versions.residence_departement_code,
    coalesce(departements.code_region_2016, 'unknown') as residence_region_2016_code,
    versions.lives_in_zus,
    versions.lives_in_qpv,
    versions.lives_in_zrr,
    versions.first_welcome_date,
    versions.record_updated_date
from versions
left join sexes
    on
        versions.source_system = sexes.source_system
        and versions.sex_code = sexes.source_code
left join education_levels
    on
        versions.source_system = education_levels.source_system
        and versions.education_level_code = education_levels.source_code
        and versions.has_diploma = education_levels.has_diploma
left join departements
    on versions.residence_departement_code = departements.code_departement
