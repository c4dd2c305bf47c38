-- One row per mission locale of the 2023 reference list (and any other code seen in the data), with its
-- geography and the switch-over month observed in the deliveries: its first I-Milo month. The deliveries are
-- seen through int_person_versions (the kept versions of every dossier of both systems, as in staging,
-- already stored) rather than the staging views, which would compare every dossier's versions again.
with seen as (
    select
        mission_locale_code,
        source_system,
        delivery_month
    from {{ ref('int_person_versions') }}
),

observed as (
    select
        mission_locale_code,
        max(case when source_system = 'parcours3' then delivery_month end) as last_parcours3_month,
        min(case when source_system = 'imilo' then delivery_month end) as switch_over_month
    from seen
    group by mission_locale_code
),

codes as (
    select code_ml as mission_locale_code from {{ ref('ref_missions_locales') }}
    union
    select mission_locale_code from observed
)

select
    codes.mission_locale_code,
    coalesce(ref.nom_ml, 'unknown (code not in the 2023 reference list)') as mission_locale_name,
    coalesce(ref.code_departement, 'unknown') as departement_code,
    coalesce(geo.code_region_2015, 'unknown') as region_2015_code,
    coalesce(geo.nom_region_2015, 'unknown') as region_2015_name,
    coalesce(geo.code_region_2016, 'unknown') as region_2016_code,
    coalesce(geo.nom_region_2016, 'unknown') as region_2016_name,
    coalesce(ref.is_placeholder, false) as is_placeholder,
    ref.code_ml is not null as in_reference_list,
    observed.last_parcours3_month,
    observed.switch_over_month
from codes
left join {{ ref('ref_missions_locales') }} as ref
    on codes.mission_locale_code = ref.code_ml
left join {{ ref('ref_departements') }} as geo
    on ref.code_departement = geo.code_departement
left join observed
    on codes.mission_locale_code = observed.mission_locale_code
