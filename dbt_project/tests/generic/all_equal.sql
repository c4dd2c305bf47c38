{#- Fails on every row where `column_name` differs from `value` (e.g. unexplained rows must be 0). -#}
{% test all_equal(model, column_name, value) %}
    select *
    from {{ model }}
    where {{ column_name }} <> {{ value }} or {{ column_name }} is null
{% endtest %}
