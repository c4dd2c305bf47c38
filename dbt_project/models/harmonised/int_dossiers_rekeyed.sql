{#- The dossiers a monthly run keys again in person_keys: every dossier with a version in the run's
    delivery months, and every dossier int_person_versions held a version of in those months before the run
    (a corrected re-delivery may have withdrawn it; the dossier is then keyed from the versions left, or
    loses its row). A dossier's key depends on its own versions only, so no other dossier's key can change.
    int_person_versions is read before it is rebuilt, named, not ref'd (it is built from person_keys, a ref
    would make a cycle); a run of the same delivery months again keeps the dossiers listed before, as
    int_persons_touched does, so that a retry after a failure re-keys a dossier whose version a correction
    delivered in between has withdrawn. Empty in a run without a window (person_keys is rebuilt whole). -#}
{{ config(tags=['monthly']) }}
{%- set deliveries = delivery_window() %}
{%- set stored = table_before_this_run('int_person_versions') %}
with dossiers as (
    select
        source_system,
        person_id as source_person_id
    from ({{ delivered_person_ids('young_people', deliveries) }}) as delivered
    {%- if stored and deliveries %}
        union all
        select
            source_system,
            person_id as source_person_id
        from {{ stored }}
        where {{ in_months('delivery_month', deliveries) }}
    {%- endif %}
    {{ rows_listed_before(['source_system', 'source_person_id']) }}
)

select distinct
    source_system,
    source_person_id,
    '{{ run_deliveries_label() }}' as run_deliveries
from dossiers
