-- One row per young person across both systems: everyone with a dossier, an event, an enrolment or a
-- situation delivered. What does not change (sex, birth month, first welcome) comes from their dossier; a
-- person whose dossier was last changed before the first delivery has events but no dossier version, and
-- nulls there. Characteristics that change are in person_history.
with history as (
    select * from {{ ref('person_history') }}
),

everyone as (
    select person_key from history
    union
    select person_key from {{ ref('events') }}
    union
    select person_key from {{ ref('scheme_enrolments') }}
    union
    select person_key from {{ ref('situations') }}
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
    everyone.person_key,
    latest.sex,
    latest.birth_month,
    first_and_last.first_welcome_date,
    first_and_last.first_delivery_month,
    first_and_last.last_delivery_month,
    latest.source_system as last_source_system,
    coalesce(first_and_last.systems_seen = 2, false) as migrated_from_parcours3,
    first_and_last.person_key is not null as has_dossier_version
from everyone
left join first_and_last
    on everyone.person_key = first_and_last.person_key
left join latest
    on
        everyone.person_key = latest.person_key
        and latest.recency = 1
