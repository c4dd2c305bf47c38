{{ config(**person_scope_config()) }}
{#- One row per person and month from which their characteristics hold (a dossier is delivered again
    each month it changes), across both systems: the P3 versions, then the I-Milo ones after migration. -#}
with keyed as (
    select * from {{ ref('int_person_versions') }}
    where system_rank = 1 and {{ in_person_scope('person_key') }}
),

decoded as (
    select
        keyed.person_key,
        keyed.delivery_month as valid_from_month,
        lead(keyed.delivery_month) over (
            partition by keyed.person_key order by keyed.delivery_month
        ) as valid_to_month,
        keyed.source_system,
        keyed.person_id as source_person_id,
        keyed.mission_locale_code,
        keyed.birth_month,
        {{ mapped('sex_map', 'sex') }} as sex,
        keyed.education_level_code,
        keyed.has_diploma,
        {{ mapped('education_map', 'dares_class') }} as education_class,
        {{ mapped('education_map', 'level_1969') }} as education_level_1969,
        {{ mapped('education_map', 'level_2019') }} as education_level_2019,
        keyed.residence_departement_code,
        coalesce(geo.code_region_2016, 'unknown') as residence_region_2016_code,
        keyed.lives_in_zus,
        keyed.lives_in_qpv,
        keyed.lives_in_zrr,
        keyed.first_welcome_date,
        keyed.record_updated_date
    from keyed
    {{ join_mapping('map_sex', 'sex_map', 'keyed.source_system', 'keyed.sex_code') }}
    {{ join_mapping('map_education_levels', 'education_map', 'keyed.source_system', 'keyed.education_level_code',
        'education_map.has_diploma = keyed.has_diploma') }}
    left join {{ ref('ref_departements') }} as geo
        on keyed.residence_departement_code = geo.code_departement
)

select * from decoded
