{#- Walking-skeleton mart: first welcomes per month and delivering system, straight from staging.
    The harmonised marts supersede it. -#}
with young_people as (
    select
        person_id,
        first_welcome_date,
        'parcours3' as source_system
    from {{ ref('stg_parcours3__young_people') }}
    union all
    select
        person_id,
        first_welcome_date,
        'imilo' as source_system
    from {{ ref('stg_imilo__young_people') }}
),

first_record as (
    select
        source_system,
        person_id,
        min(first_welcome_date) as first_welcome_date
    from young_people
    group by source_system, person_id
),

monthly as (
    select
        source_system,
        cast({{ month_of('first_welcome_date') }} as date) as month
    from first_record
)

select
    month,
    source_system,
    count(*) as new_young_people
from monthly
group by month, source_system
