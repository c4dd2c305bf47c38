{#- One row per young person across both systems: what does not change (sex, birth month, first welcome)
    and where they were seen. Characteristics that change are in person_history. -#}
with history as (
    select * from {{ ref('person_history') }}
),

first_and_last as (
    select
        person_key,
        min(valid_from_month) as first_delivery_month,
        max(valid_from_month) as last_delivery_month,
        min(first_welcome_date) as first_welcome_date,
        count(distinct source_system) as systems_seen
    from history
    group by person_key
),

latest as (
    select
        person_key,
        sex,
        birth_month,
        source_system,
        row_number() over (partition by person_key order by valid_from_month desc) as recency
    from history
)

select
    first_and_last.person_key,
    latest.sex,
    latest.birth_month,
    first_and_last.first_welcome_date,
    first_and_last.first_delivery_month,
    first_and_last.last_delivery_month,
    latest.source_system as last_source_system,
    first_and_last.systems_seen = 2 as migrated_from_parcours3
from first_and_last
inner join latest
    on first_and_last.person_key = latest.person_key
        and latest.recency = 1
