{#- `unique` for a long string key on a very large table: the keys whose hash repeats are found first by a
    grouping of integers, then only those keys are grouped (38 s -> 18 s for the event keys at national
    scale, docs/benchmarks.md). Fails on every key that appears more than once. -#}
{% test unique_by_hash(model, column_name) %}
    with repeated_hashes as (
        select {{ key_hash(column_name) }} as key_hash
        from {{ model }}
        group by {{ key_hash(column_name) }}
        having count(*) > 1
    )

    select {{ column_name }}, count(*) as occurrences
    from {{ model }}
    where {{ key_hash(column_name) }} in (select key_hash from repeated_hashes)
    group by {{ column_name }}
    having count(*) > 1
{% endtest %}
