{#- Uniqueness of a key (one column, or `columns`) of a person-level table, checked where it can have been
    broken. A monthly run rewrote only the rows of the people it touched (int_persons_touched), so a
    duplicate must involve one of those rows. A key that holds person_key can only repeat within one
    person: the touched people's rows are grouped. Any other key (one column) of those rows is looked up in
    the whole table, which also catches a key that a touched person shares with someone else. A run without
    a window, a full refresh, or a test run whose window is not the one the list of touched people was made
    for (or whose list is empty) checks every key. -#}
{% test unique_for_rebuilt_people(model, column_name=none, columns=none) %}
    {%- set key = columns or [column_name] %}
    {%- set touched = ref('int_persons_touched') %}
    {%- set touched_people %}select touched.person_key from {{ touched }} as touched{% endset %}
    {%- set scoped = run_window() and is_this_runs_list(touched, non_empty=true) %}
    select {{ key | join(', ') }}, count(*) as occurrences
    from {{ model }}
    {%- if scoped and 'person_key' in key %}
        where person_key in ({{ touched_people }})
    {%- elif scoped and key | length == 1 %}
        where {{ key[0] }} in (
            select rebuilt.{{ key[0] }} from {{ model }} as rebuilt where rebuilt.person_key in ({{ touched_people }})
        )
    {%- elif scoped %}
        {{ exceptions.raise_compiler_error('unique_for_rebuilt_people: a key of several columns must hold person_key') }}
    {%- endif %}
    group by {{ key | join(', ') }}
    having count(*) > 1
{% endtest %}
