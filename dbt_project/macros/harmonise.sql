{#- Shared by the harmonised models. Engine-specific SQL stays in these few macros. -#}

{#- Look a delivered code up in a mapping seed; a code the seed lacks becomes 'unknown', never a lost row. -#}
{% macro mapped(alias, column, system_column='source_system') -%}
    coalesce({{ alias }}.{{ column }}, 'unknown')
{%- endmacro %}

{% macro join_mapping(seed, alias, system_expr, code_expr, extra_condition=none) -%}
    left join {{ ref(seed) }} as {{ alias }}
        on {{ alias }}.source_system = {{ system_expr }}
        and {{ alias }}.source_code = {{ code_expr }}
        {%- if extra_condition %} and {{ extra_condition }}{% endif %}
{%- endmacro %}

{#- Record key unique across both systems: '<system>:<id>'. -#}
{% macro system_key(system_expr, id_expr) -%}
    {{ dbt.concat([system_expr, "':'", id_expr]) }}
{%- endmacro %}

{#- One setting of the run's window: a dbt var when given by hand (`--vars`), else the environment
    variable MILO_DBT_<NAME> that Dagster sets for its dbt process, read only while the run executes. A var
    that changes makes dbt parse the whole project again, and the window changes every month; an
    environment variable read at execution leaves the parse alone, so each run reuses the last one's. -#}
{% macro window_setting(name) -%}
    {%- set value = var(name, '') -%}
    {#- only in a dbt process Dagster started (dagster-dbt sets DAGSTER_DBT_CLI): a variable left exported in
        a shell must not give a window to a dbt command typed there -#}
    {%- if not value and execute and env_var('DAGSTER_DBT_CLI', '') == 'true' -%}
        {%- set value = env_var('MILO_DBT_' ~ name | upper, '') -%}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{#- The run's half-open window [min_date, max_date) of months (macro window_setting); none when the run
    has no window (a plain `dbt build`: all history) or rebuilds everything (--full-refresh). -#}
{% macro run_window() -%}
    {%- set bounds = (window_setting('min_date'), window_setting('max_date')) -%}
    {%- if flags.FULL_REFRESH -%}
        {{ return(none) }}
    {%- elif bounds[0] and bounds[1] -%}
        {{ return(bounds) }}
    {%- elif bounds[0] or bounds[1] -%}
        {{ exceptions.raise_compiler_error('pass both min_date and max_date, or neither') }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#- `date_column` within the half-open window of months `bounds`; always true without bounds. -#}
{% macro in_months(date_column, bounds) -%}
    {%- if bounds -%}
        {{ date_column }} >= cast('{{ bounds[0] }}' as date) and {{ date_column }} < cast('{{ bounds[1] }}' as date)
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}

{#- `date_column` within the run's window; always true when the run has none. -#}
{% macro in_run_window(date_column) -%}
    {{ in_months(date_column, run_window()) }}
{%- endmacro %}

{#- Incremental models rebuild the run's window; a first build (or --full-refresh) takes everything. -#}
{% macro in_incremental_window(date_column) -%}
    {%- if is_incremental() -%}
        {{ in_run_window(date_column) }}
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of the incremental models: empty the window before it is rebuilt (append strategy), so a
    month whose rows all disappeared in a corrected re-delivery is emptied too. -#}
{% macro delete_incremental_window(date_column) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where {{ in_run_window(date_column) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- Config of every incremental model: what a run rebuilds is deleted by `pre_hook`, then appended (any
    engine can do both); tagged `monthly` so that Dagster runs it in the partitioned group, which passes the
    window. -#}
{% macro delete_then_append_config(pre_hook) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'append',
        'on_schema_change': 'fail',
        'pre_hook': pre_hook,
        'tags': ['monthly'],
    }) }}
{%- endmacro %}

{#- Config of a model rebuilt month by month: the run's window of months is what is deleted. -#}
{% macro monthly_window_config(date_column) -%}
    {{ return(delete_then_append_config("{{ delete_incremental_window('" ~ date_column ~ "') }}")) }}
{%- endmacro %}

{#- Whole months between two month starts (portable). -#}
{% macro months_between(start_month, end_month) -%}
    {{ dbt.datediff(start_month, end_month, 'month') }}
{%- endmacro %}

{#- Person key of a record: through person_keys when its dossier was delivered; otherwise (a dossier last
    changed before the first delivery) the record's own pseudonym, so the record is never dropped. -#}
{% macro join_person_key(alias, system_expr, person_expr) -%}
    left join {{ ref('person_keys') }} as {{ alias }}
        on {{ alias }}.source_system = {{ system_expr }}
        and {{ alias }}.source_person_id = {{ person_expr }}
{%- endmacro %}

{% macro person_key(alias, person_expr) -%}
    coalesce({{ alias }}.person_key, {{ person_expr }})
{%- endmacro %}

{#- The staging model of one entity from both systems, one after the other, each row saying its system.
    Both staging models of an entity have the same columns by construction (the staging layer's job).
    `records` says which: 'latest' (the staging models), 'touched_people' (macro scoped_records: the
    records of the people a monthly run touches) or 'window_deliveries' (macro windowed_records). -#}
{% macro both_systems(entity, records='latest') -%}
    {%- set readers = {'latest': staged_records, 'touched_people': scoped_records, 'window_deliveries': windowed_records} -%}
    {%- if records != 'latest' -%}
        {#- the base views are read in incremental runs only: referenced here so that dbt knows it at parse time -#}
        {%- for system in ['parcours3', 'imilo'] %}{% do ref('base_' ~ system ~ '__' ~ entity) %}{% endfor -%}
    {%- endif -%}
    select
        'parcours3' as source_system,
        p3.*
    from {{ readers[records]('parcours3', entity) }} as p3
    union all
    select
        'imilo' as source_system,
        im.*
    from {{ readers[records]('imilo', entity) }} as im
{%- endmacro %}

{% macro staged_records(system, entity) -%}
    {{ return(ref('stg_' ~ system ~ '__' ~ entity)) }}
{%- endmacro %}

{#- The latest version of every record of a source table, for a harmonised model built over the whole
    history (a first build, a full refresh): what the staging model gives, but with the records delivered
    more than once read from int_repeated_record_months instead of grouping every row by key again (the
    events' select: 53 s -> 35 s at national scale, docs/benchmarks.md). Only when this invocation builds
    int_repeated_record_months too (before the model: it is upstream), so that the list is as current as
    the raw tables; a model selected without it (say `dbt build --full-refresh --select events` after new
    deliveries) reads the staging model, which a stale list could make lose a record whose latest line a
    corrected re-delivery withdrew. Dossiers, whose every monthly version is a record, always come from the
    staging model. Both readings are declared to dbt at parse time. -#}
{% macro whole_history_records(system, entity) -%}
    {%- set key = record_key(entity) -%}
    {%- set staged = staged_records(system, entity) -%}
    {%- set listed = ref('int_repeated_record_months') -%}
    {%- set base = ref('base_' ~ system ~ '__' ~ entity) -%}
    {%- set list_built_now = 'model.' ~ project_name ~ '.int_repeated_record_months' in selected_resources -%}
    {%- if key | length > 1 or (execute and not list_built_now) -%}
        {{ return(staged) }}
    {%- endif -%}
    {%- set repeated -%}
        select
            record_key as {{ key[0] }},
            delivery_month
        from {{ listed }}
        where source_system = '{{ system }}' and entity = '{{ entity }}' and is_latest_month
    {%- endset -%}
    {{ return('(' ~ latest_version(base, key, repeated) ~ ')') }}
{%- endmacro %}

{#- The latest version of each record of a base view among its rows that meet `condition`: a parenthesised
    query to select from. The condition must keep every version of the records it keeps. -#}
{% macro latest_records_where(system, entity, condition) -%}
    {%- set rows -%}
        (select * from {{ ref('base_' ~ system ~ '__' ~ entity) }} where {{ condition }})
    {%- endset -%}
    {{ return('(' ~ latest_version(rows, record_key(entity)) ~ ')') }}
{%- endmacro %}

{#- In an incremental run, the latest version of each record among the rows delivered from the window's
    first month on; else every record (macro whole_history_records). Enough for a model that keeps the records dated in the window:
    a delivery holds records dated in its month or up to three months before (docs/raw-formats.md), so the
    latest version of a record dated in the window was delivered from the window's first month on, and the
    latest version of any record delivered then is among those rows. Only those months are grouped, not all
    history. -#}
{% macro windowed_records(system, entity) -%}
    {%- set window = run_window() -%}
    {%- if not (is_incremental() and window) -%}
        {{ return(whole_history_records(system, entity)) }}
    {%- endif -%}
    {{ return(latest_records_where(system, entity, "delivery_month >= cast('" ~ window[0] ~ "' as date)")) }}
{%- endmacro %}
