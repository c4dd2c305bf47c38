{#- Uniqueness of a key, checked where it can have been broken. A run with a window (a monthly run) only
    wrote rows dated within it, so a duplicate must involve one of them: the keys of the window's rows are
    looked up in the whole table (a semi-join on a few months of keys instead of a grouping of every key:
    37 s a month at national scale, docs/benchmarks.md). A run without a window, or a full refresh, checks
    every key: the keys whose hash repeats are found first (a grouping of integers), then only those keys
    are grouped (equal keys have equal hashes; a collision of two different keys is dropped there). (Dagster
    passes no window when an incremental model has no table yet, since dbt then builds it whole.) -#}
{% test unique_in_run_window(model, column_name, date_column) %}
    select {{ column_name }}, count(*) as occurrences
    from {{ model }}
    {%- if run_window() %}
        where {{ column_name }} in (
            select {{ column_name }}
            from {{ model }}
            where {{ in_run_window(date_column) }}
        )
    {%- else %}
        where {{ key_hash(column_name) }} in (
            select {{ key_hash(column_name) }}
            from {{ model }}
            group by {{ key_hash(column_name) }}
            having count(*) > 1
        )
    {%- endif %}
    group by {{ column_name }}
    having count(*) > 1
{% endtest %}
