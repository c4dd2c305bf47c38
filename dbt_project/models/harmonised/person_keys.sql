-- One row per dossier of either system, with the key of the person behind it. A Parcours 3 dossier is its
-- own person; an I-Milo dossier migrated from Parcours 3 carries the pseudonym of its Parcours 3 dossier
-- (same key, same namespace) and takes it as person key, so the two dossiers are one person.
with parcours3_versions as (
    {{ latest_version(ref('stg_parcours3__young_people'), ['person_id', 'delivery_month']) }}
),

imilo_versions as (
    {{ latest_version(ref('stg_imilo__young_people'), ['person_id', 'delivery_month']) }}
),

parcours3 as (
    select distinct
        'parcours3' as source_system,
        person_id as source_person_id,
        person_id as person_key
    from parcours3_versions
),

imilo as (
    select
        'imilo' as source_system,
        person_id as source_person_id,
        -- a legacy number delivered in any version of the dossier links it
        coalesce(max(legacy_p3_person_id), person_id) as person_key
    from imilo_versions
    group by person_id
)

select * from parcours3
union all
select * from imilo
