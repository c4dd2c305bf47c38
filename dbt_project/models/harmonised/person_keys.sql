{{ config(**delete_then_append_config("{{ delete_rekeyed_dossiers() }}")) }}
{#- One row per dossier of either system, with the key of the person behind it. A Parcours 3 dossier is
    its own person; an I-Milo dossier migrated from Parcours 3 carries the pseudonym of its P3 dossier
    (same key, same HMAC namespace) and takes it as person key, so the two dossiers are one person.
    A dossier's key depends on its own versions only, so a monthly run keys again just the dossiers its
    deliveries hold, or held before it (int_dossiers_rekeyed); every other dossier keeps its row. -#}
with parcours3 as (
    select distinct
        'parcours3' as source_system,
        versions.person_id as source_person_id,
        versions.person_id as person_key
    from {{ dossier_versions_to_key('parcours3') }} as versions
),

imilo as (
    select
        'imilo' as source_system,
        versions.person_id as source_person_id,
        -- a legacy number delivered in any version of the dossier links it
        coalesce(max(versions.legacy_p3_person_id), versions.person_id) as person_key
    from {{ dossier_versions_to_key('imilo') }} as versions
    group by versions.person_id
)

select * from parcours3
union all
select * from imilo
