{#- The raw tables as the reconciliation sees them: per entity, the column that identifies a record in
    each system's raw table, whether every monthly version is a record of its own (dossiers: the staging
    macro record_key keeps one version per month), and which delivery months can hold the lines of a
    record delivered in a run's months: its own month only (a dossier's version), the run's window (an
    event: a delivery holds events dated in its month or up to three months before, docs/raw-formats.md,
    as macro windowed_records assumes), or any month (enrolments and situations change for years). -#}
{% macro raw_record_keys() -%}
    {{ return({
        'young_people': {'key': {'parcours3': 'num_dossier_pseudo', 'imilo': 'id_jeune_pseudo'}, 'per_month': true,
            'lines_in': 'delivery_month'},
        'events': {'key': {'parcours3': 'num_evenement', 'imilo': 'id_evenement'}, 'per_month': false,
            'lines_in': 'run_window'},
        'scheme_enrolments': {'key': {'parcours3': 'num_inscription', 'imilo': 'id_dispositif'}, 'per_month': false,
            'lines_in': 'any_month'},
        'situations': {'key': {'parcours3': 'num_situation', 'imilo': 'id_situation'}, 'per_month': false,
            'lines_in': 'any_month'},
    }) }}
{%- endmacro %}

{#- The expression of a raw record's key in one system's table of an entity (columns prefixed by
    `alias.` when given): its key column, with the delivery month for a dossier (each monthly version is a
    record: '<pseudonym>|<YYYY-MM-DD>'). -#}
{% macro raw_record_key(entity, system, alias=none) -%}
    {%- set spec = raw_record_keys()[entity] -%}
    {%- set prefix = alias ~ '.' if alias else '' -%}
    {%- if spec['per_month'] -%}
        {{ dbt.concat([prefix ~ spec['key'][system], "'|'",
            dbt.cast(prefix ~ '_delivery_month', api.Column.translate_type('string'))]) }}
    {%- else -%}
        {{ prefix ~ spec['key'][system] }}
    {%- endif -%}
{%- endmacro %}

{#- Every raw line as (system, entity, record key, delivery month), the eight raw tables one after the
    other (record keys: macro raw_record_key). `deliveries` keeps the lines of those delivery months (half-open bounds);
    `touched` (a relation with source_system, entity, record_key: records delivered in the run's months) the
    lines of those records, each table scanned only over the delivery months that can hold them
    (raw_record_keys). Both filter each table where it is scanned. -#}
{% macro raw_record_lines(deliveries=none, touched=none) -%}
    {%- for entity, spec in raw_record_keys().items() %}
        {%- for system in ['parcours3', 'imilo'] %}
            {%- set key = raw_record_key(entity, system) %}
    select
        '{{ system }}' as source_system,
        '{{ entity }}' as entity,
        {{ key }} as record_key,
        _delivery_month as delivery_month
    from {{ source('raw', system ~ '__' ~ entity) }}
    where
        {{ in_months('_delivery_month', deliveries) }}
        {%- if touched and spec['lines_in'] == 'delivery_month' %}
        and {{ in_months('_delivery_month', delivery_window()) }}
        {%- elif touched and spec['lines_in'] == 'run_window' %}
        and {{ in_months('_delivery_month', run_window()) }}
        {%- endif %}
        {%- if touched %}
        and {{ key }} in (
            select touched.record_key from {{ touched }} as touched
            where touched.source_system = '{{ system }}' and touched.entity = '{{ entity }}'
        )
        {%- endif %}
            {% if not loop.last %}union all{% endif %}
        {%- endfor %}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- Lines per record and delivery month of the raw records with more than one line, and whether the month
    is the record's latest (its version there is the one kept; lines of earlier months are superseded).
    Over every record, table by table, each grouped on its own key (one grouping of the eight tables
    together would hash longer keys for the same rows), and a record's lines counted once its key is known
    to repeat (a window over every line would rank 270 million rows). For the `touched` records of a monthly
    run, a few million lines: one scan of each table (raw_record_lines), the lines counted per month and
    summed per record. -#}
{% macro repeated_record_months(touched=none) -%}
    {%- if touched %}
    select source_system, entity, record_key, delivery_month, lines, delivery_month = latest_month as is_latest_month
    from (
        select
            source_system,
            entity,
            record_key,
            delivery_month,
            count(*) as lines,
            sum(count(*)) over (partition by source_system, entity, record_key) as record_lines,
            max(delivery_month) over (partition by source_system, entity, record_key) as latest_month
        from ({{ raw_record_lines(touched=touched) }}) as touched_lines
        group by source_system, entity, record_key, delivery_month
    ) as counted
    where record_lines > 1
    {%- else %}
    {%- for entity, spec in raw_record_keys().items() %}
        {%- for system in ['parcours3', 'imilo'] %}
            {%- set relation = source('raw', system ~ '__' ~ entity) %}
            {%- set key_columns = [spec['key'][system]] + (['_delivery_month'] if spec['per_month'] else []) %}
    select
        '{{ system }}' as source_system,
        '{{ entity }}' as entity,
        {{ raw_record_key(entity, system, 'src') }} as record_key,
        src._delivery_month as delivery_month,
        count(*) as lines,
        src._delivery_month = max(src._delivery_month) over (
            partition by {% for c in key_columns %}src.{{ c }}{% if not loop.last %}, {% endif %}{% endfor %}
        ) as is_latest_month
    from {{ relation }} as src
    inner join (
        {{ records_delivered_more_than_once(relation, key_columns) }}
    ) as repeated
        on {{ columns_equal('src', 'repeated', key_columns) }}
    group by {% for c in key_columns %}src.{{ c }}, {% endfor %}src._delivery_month
            {% if not loop.last %}union all{% endif %}
        {%- endfor %}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
    {%- endif %}
{%- endmacro %}

{#- Pre-hook of int_repeated_record_months: remove the rows of the records a monthly run re-examines
    (everyone's, in a run without a window). -#}
{% macro delete_touched_records() -%}
    {%- if is_incremental() and run_window() -%}
        {{ check_touched_list(ref('int_records_touched')) }}
    {%- endif -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        {%- if run_window() %}
        where (source_system, entity, record_key) in (
            select touched.source_system, touched.entity, touched.record_key
            from {{ ref('int_records_touched') }} as touched
        )
        {%- endif %}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
