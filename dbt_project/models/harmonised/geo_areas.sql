-- The geography of the published tables: one row per area at each level (national, 2016 region,
-- département, mission locale), with the area it adds up into. Statistical secrecy protects each group of
-- areas that add up into the same parent (docs/secrecy.md); 'unknown' stands for codes missing from the
-- reference lists at each level.
with mission_locales as (
    select * from {{ ref('mission_locales') }}
),

departements as (
    select * from {{ ref('departements') }}
),

areas as (
    select
        'national' as geo_level,
        'FR' as geo_code,
        cast(null as {{ dbt.type_string() }}) as parent_geo_level,
        cast(null as {{ dbt.type_string() }}) as parent_geo_code
    union all
    select distinct
        'region' as geo_level,
        region_2016_code as geo_code,
        'national' as parent_geo_level,
        'FR' as parent_geo_code
    from departements
    union all
    select
        'region' as geo_level,
        'unknown' as geo_code,
        'national' as parent_geo_level,
        'FR' as parent_geo_code
    union all
    select
        'departement' as geo_level,
        departement_code as geo_code,
        'region' as parent_geo_level,
        region_2016_code as parent_geo_code
    from departements
    union all
    select
        'departement' as geo_level,
        'unknown' as geo_code,
        'region' as parent_geo_level,
        'unknown' as parent_geo_code
    union all
    select
        'mission_locale' as geo_level,
        mission_locale_code as geo_code,
        'departement' as parent_geo_level,
        departement_code as parent_geo_code
    from mission_locales
    union all
    select
        'mission_locale' as geo_level,
        'unknown' as geo_code,
        'departement' as parent_geo_level,
        'unknown' as parent_geo_code
)

select
    geo_level,
    geo_code,
    {{ dbt.concat(['geo_level', "':'", 'geo_code']) }} as cell_id,
    parent_geo_level,
    parent_geo_code,
    case when parent_geo_level is not null then {{ dbt.concat(['parent_geo_level', "':'", 'parent_geo_code']) }} end
        as parent_cell_id
from areas
