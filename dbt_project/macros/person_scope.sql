{#- A monthly run rebuilds the person-level tables (dossier history, situations, enrolments, spells, persons)
    for the people its deliveries touch, not for everyone: a month changes about a tenth of the people at
    national scale (docs/benchmarks.md). Everything a person-level table holds for a person is a function of
    that person's delivered records, so recomputing those people from all their records, after deleting
    their rows, gives what a full rebuild gives (tests/test_incremental.py checks it). Who is touched is the
    model `int_persons_touched`. Engine-neutral SQL: IN-subqueries, DELETE, INSERT. -#}

{#- The delivery months a run loads, half-open [min_delivery_date, max_date): the partitions Dagster runs.
    Without `min_delivery_date` the whole run window counts as delivered (more people, same result). -#}
{% macro delivery_window() -%}
    {%- set window = run_window() -%}
    {%- if not window -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set first = window_setting('min_delivery_date') or window[0] -%}
    {%- if not (window[0] <= first < window[1]) -%}
        {{ exceptions.raise_compiler_error('min_delivery_date ' ~ first ~ ' is outside the window ' ~ window | join(' to ')) }}
    {%- endif -%}
    {{ return((first, window[1])) }}
{%- endmacro %}

{#- The run's delivery months as a label ('<first>/<end>'; 'all' without a window), stored with the lists
    of touched people and records so that a model rebuilt for them can check they are this run's. -#}
{% macro run_deliveries_label() -%}
    {%- set deliveries = delivery_window() -%}
    {{ return(deliveries[0] ~ '/' ~ deliveries[1] if deliveries else 'all') }}
{%- endmacro %}

{#- Stop a model about to be rebuilt from a list of touched people or records made for other delivery
    months (the list is rebuilt by the run that needs it; a run that selects a person-level model alone
    would otherwise use the last run's). -#}
{% macro check_touched_list(relation) -%}
    {%- if not is_this_runs_list(relation) -%}
        {{ exceptions.raise_compiler_error(relation ~ " lists another run's deliveries, not " ~ run_deliveries_label()
            ~ ": build it in this run too (select the model with its parents, or the whole monthly group)") }}
    {%- endif -%}
{%- endmacro %}

{#- True when a list of touched people or records holds nothing made for other delivery months than this
    run's, and, with `non_empty`, something made for them (always true at parse time, when nothing is
    read). -#}
{% macro is_this_runs_list(relation, non_empty=false) -%}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set label = "'" ~ run_deliveries_label() ~ "'" -%}
    {%- set counts = run_query("select coalesce(sum(case when run_deliveries = " ~ label ~ " then 0 else 1 end), 0),"
        ~ " count(*) from " ~ relation) -%}
    {{ return(counts.columns[0].values()[0] == 0 and (counts.columns[1].values()[0] > 0 or not non_empty)) }}
{%- endmacro %}

{#- True when this model is rebuilt for what the run's lists name only (an incremental run with a window):
    the touched people, or for person_keys the dossiers the run delivers. -#}
{% macro person_scoped() -%}
    {{ return(is_incremental() and run_window() is not none) }}
{%- endmacro %}

{#- `person_expr` is a person the run touches: through their dossier, enrolments or situations, or, with
    `events_too`, through their events alone (what the persons table also depends on). `people` names the
    list model read (int_persons_touched by default; a list without has_record_change, like
    int_gj_people_rebuilt, is read with `events_too`). Always true when the model is rebuilt for everyone. -#}
{% macro in_person_scope(person_expr, events_too=false, people='int_persons_touched') -%}
    {%- if person_scoped() -%}
        {{ person_expr }} in (
            select touched.person_key from {{ ref(people) }} as touched
            {%- if not events_too %} where touched.has_record_change{% endif %}
        )
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}

{#- The latest version of each record of one source table, for the touched people only when the model is
    person-scoped, else every record (macro whole_history_records). The base view is filtered on the delivering system's person
    identifiers before versions are compared, so a monthly run groups a tenth of the rows, not all of them
    (a filter on the staging view would be applied after its grouping of every record). -#}
{% macro scoped_records(system, entity) -%}
    {%- if not person_scoped() -%}
        {{ return(whole_history_records(system, entity)) }}
    {%- endif -%}
    {%- set of_touched_people -%}
        person_id in (
            select keys.source_person_id
            from {{ ref('person_keys') }} as keys
            where keys.source_system = '{{ system }}' and {{ in_person_scope('keys.person_key') }}
            union all
            -- a person id missing from person_keys is its own person key (macro person_key); any other
            -- record this lets through is dropped by the model's own scope filter
            select touched.person_key
            from {{ ref('int_persons_touched') }} as touched
            where touched.has_record_change
        )
    {%- endset -%}
    {{ return(latest_records_where(system, entity, of_touched_people)) }}
{%- endmacro %}

{#- Pre-hook of a model a monthly run rebuilds for what a list model lists (people, dossiers): remove the
    rows that meet `listed_rows`, after checking that the list is this run's; every row in a run without a
    window; nothing in a first build. -#}
{% macro delete_listed_rows(list_model, listed_rows) -%}
    {%- if person_scoped() -%}
        {{ check_touched_list(ref(list_model)) }}
    {%- endif -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where {{ listed_rows if person_scoped() else '1 = 1' }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of the person-scoped models: remove the rows (column `person_column`) of the people listed in
    `people` before they are rebuilt (everyone's, in a run without a window). -#}
{% macro delete_touched_people(events_too, people='int_persons_touched', person_column='person_key') -%}
    {{ return(delete_listed_rows(people, in_person_scope(person_column, events_too, people))) }}
{%- endmacro %}

{#- Config of a person-level table a monthly run rebuilds for the touched people: their rows are what is
    deleted. `people` is the list model (int_persons_touched, or a list of its own that adds people, like
    int_gj_people_rebuilt: every person it lists is rebuilt, hence `events_too`). The list model is
    referenced here so that dbt knows the dependency (the SQL that reads it is only rendered in incremental
    runs). -#}
{% macro person_scope_config(events_too=false, people='int_persons_touched', person_column='person_key') -%}
    {%- set scope = ref(people) -%}
    {{ return(delete_then_append_config("{{ delete_touched_people(" ~ events_too ~ ", '" ~ people ~ "', '"
        ~ person_column ~ "') }}")) }}
{%- endmacro %}

{#- A table as it was before this run rebuilds it (or none: absent, or at parse time), read by the list
    models (int_persons_touched, int_records_touched, int_gj_people_rebuilt, int_dossiers_rekeyed) in the
    schema they share with it. Named, not ref'd: those tables are built after the list, from it, and a ref
    would make a cycle. -#}
{% macro table_before_this_run(name) -%}
    {{ return(adapter.get_relation(this.database, this.schema, name) if execute else none) }}
{%- endmacro %}

{#- In a list model, `union all` the rows it listed for this run's delivery months before (`columns`, as
    select expressions), so that a rerun after a failure, when some tables were already rebuilt from the
    list, keeps them. Nothing without a window, or when the list does not exist yet or predates its
    run_deliveries column. -#}
{% macro rows_listed_before(columns) -%}
    {%- set listed = table_before_this_run(this.identifier) -%}
    {%- if delivery_window() and listed and 'run_deliveries' in (adapter.get_columns_in_relation(listed)
        | map(attribute='name') | list) %}
    union all
    select {{ columns | join(', ') }}
    from {{ listed }}
    where run_deliveries = '{{ run_deliveries_label() }}'
    {%- endif %}
{%- endmacro %}

{#- The person identifier (person_id, in its system's namespace) of every row of one entity delivered in
    `deliveries` (delivery months, macro delivery_window), both systems one after the other; nothing
    without them. Read by the list models of a monthly run. -#}
{% macro delivered_person_ids(entity, deliveries) -%}
    {%- for system in ['parcours3', 'imilo'] %}
    select
        '{{ system }}' as source_system,
        person_id
    from {{ ref('base_' ~ system ~ '__' ~ entity) }}
    where {{ in_months('delivery_month', deliveries) if deliveries else '1 = 0' }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- The dossiers of one system (their person_id) that a monthly run keys again in person_keys, listed by
    int_dossiers_rekeyed. -#}
{% macro rekeyed_dossiers(system) -%}
    select rekeyed.source_person_id
    from {{ ref('int_dossiers_rekeyed') }} as rekeyed
    where rekeyed.source_system = '{{ system }}'
{%- endmacro %}

{#- The versions person_keys reads for one system: every dossier's, or in a monthly run the versions of
    the dossiers it keys again (the base view filtered before versions are compared, macro
    latest_records_where). The base view and the list are referenced at parse time so that dbt knows the
    dependencies. -#}
{% macro dossier_versions_to_key(system) -%}
    {%- do ref('base_' ~ system ~ '__young_people') -%}
    {%- do ref('int_dossiers_rekeyed') -%}
    {%- if not person_scoped() -%}
        {{ return(staged_records(system, 'young_people')) }}
    {%- endif -%}
    {{ return(latest_records_where(system, 'young_people', 'person_id in (' ~ rekeyed_dossiers(system) ~ ')')) }}
{%- endmacro %}

{#- Pre-hook of person_keys: remove the rows of the dossiers about to be keyed again. -#}
{% macro delete_rekeyed_dossiers() -%}
    {%- set listed_rows -%}
        {%- for system in ['parcours3', 'imilo'] %}
        (source_system = '{{ system }}' and source_person_id in ({{ rekeyed_dossiers(system) }}))
        {%- if not loop.last %} or{% endif %}
        {%- endfor %}
    {%- endset -%}
    {{ return(delete_listed_rows('int_dossiers_rekeyed', listed_rows)) }}
{%- endmacro %}
