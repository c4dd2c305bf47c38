{#- The people a monthly run rebuilds the person-level tables for (macros/person_scope.sql): everyone with
    a record in the run's delivery months (under their person key, and under the record's own pseudonym,
    which was its key until a Parcours 3 number delivered now linked the dossier), and everyone whose rows
    in the harmonised tables came from those deliveries before this run (a corrected re-delivery may have
    withdrawn that record; the person is then rebuilt from what remains). `has_record_change` is false for
    people touched through events alone: only persons and int_spell_event_months depend on those. Empty in
    a run without a window (every table is rebuilt whole).

    The second part reads the harmonised tables as they were before this run rebuilds them, like an
    incremental model reads `this`: those models run after this one (they depend on it), and the tables are
    named, not ref'd, as a ref would make a cycle. A run of the same delivery months again (a retry after a
    failure, when some of those tables were already rebuilt) keeps the people listed before. -#}
{{ config(tags=['monthly']) }}
{%- set deliveries = delivery_window() %}
{%- set record_entities = ['young_people', 'scheme_enrolments', 'situations'] %}
{#- the tables whose rows each come from one delivery month (column delivery_month), and what they hold -#}
{%- set previous_tables = {
    'int_person_versions': true, 'int_enrolment_records': true, 'situations': true, 'events': false,
} %}
{%- set run_deliveries = run_deliveries_label() %}
with delivered as (
    {%- for entity in record_entities + ['events'] %}
        select
            source_system,
            person_id,
            {{ 'true' if entity in record_entities else 'false' }} as has_record_change
        from ({{ delivered_person_ids(entity, deliveries) }}) as delivered_{{ entity }}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

touched as (
    select
        {{ person_key('keys', 'delivered.person_id') }} as person_key,
        delivered.has_record_change
    from delivered
    {{ join_person_key('keys', 'delivered.source_system', 'delivered.person_id') }}
    union all
    select
        person_id as person_key,
        has_record_change
    from delivered
    {{ rows_listed_before(['person_key', 'has_record_change']) }}
    {%- if deliveries %}
        {%- for table, has_record_change in previous_tables.items() %}
            {%- set previous = table_before_this_run(table) %}
            {%- if previous %}
    union all
    select
        person_key,
        {{ 'true' if has_record_change else 'false' }} as has_record_change
    from {{ previous }}
    where {{ in_months('delivery_month', deliveries) }}
            {%- endif %}
        {%- endfor %}
    {%- endif %}
)

select
    person_key,
    max(case when has_record_change then 1 else 0 end) = 1 as has_record_change,
    '{{ run_deliveries }}' as run_deliveries
from touched
group by person_key
