{{ config(**person_scope_config()) }}
{#- A table, not a view: person_history, observation_window and the reconciliation read it,
    and a view would rank every record again for each of them. -#}
{#- Every delivered version of every dossier of both systems, keyed by person and ranked within the
    person's delivery month: a person delivered twice in one month (by both systems, or by two I-Milo
    dossiers migrated from the same Parcours 3 dossier) keeps one version, I-Milo first. person_history
    keeps system_rank = 1; the reconciliation counts the rest as merged. -#}
with versions as (
    {{ both_systems('young_people', records='touched_people') }}
),

keyed as (
    select
        keys.person_key,
        versions.*,
        -- in a month delivered by both systems (never expected), the I-Milo version wins
        row_number() over (
            partition by keys.person_key, versions.delivery_month
            order by case versions.source_system when 'imilo' then 0 else 1 end, versions.person_id
        ) as system_rank
    from versions
    inner join {{ ref('person_keys') }} as keys
        on versions.source_system = keys.source_system
            and versions.person_id = keys.source_person_id
    where {{ in_person_scope('keys.person_key') }}
)

select * from keyed
