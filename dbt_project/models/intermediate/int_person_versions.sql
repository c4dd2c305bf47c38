-- Every delivered version of every dossier of both systems (one per dossier and delivery month), with its
-- person key, ranked within the person's delivery month: a person delivered twice in one month (by both
-- systems, or by two I-Milo dossiers migrated from the same Parcours 3 dossier) keeps one version, I-Milo
-- first. person_history keeps system_rank = 1; the reconciliation counts the rest as merged. A table: the
-- reconciliation, mission_locales and observation_window read it too.
with parcours3 as (
    {{ latest_version(ref('stg_parcours3__young_people'), ['person_id', 'delivery_month']) }}
),

imilo as (
    {{ latest_version(ref('stg_imilo__young_people'), ['person_id', 'delivery_month']) }}
),

versions as (
    select
        'parcours3' as source_system,
        parcours3.*
    from parcours3
    union all
    select
        'imilo' as source_system,
        imilo.*
    from imilo
),

person_keys as (
    select * from {{ ref('person_keys') }}
)

select
    person_keys.person_key,
    versions.*,
    -- in a month delivered by both systems (never expected), the I-Milo version wins
    row_number() over (
        partition by person_keys.person_key, versions.delivery_month
        order by case versions.source_system when 'imilo' then 0 else 1 end, versions.person_id
    ) as system_rank
from versions
inner join person_keys
    on
        versions.source_system = person_keys.source_system
        and versions.person_id = person_keys.source_person_id
