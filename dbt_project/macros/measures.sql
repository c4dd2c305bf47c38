{#- Small calculations the marts repeat. Each is plain, portable SQL (no engine-specific date function:
    dbt-spark's month datediff counts month ends differently). -#}

{#- A share as a fraction with 4 decimals; null when the denominator is 0. -#}
{% macro share(numerator, denominator) -%}
    case when {{ denominator }} > 0 then round(cast({{ numerator }} as double) / {{ denominator }}, 4) end
{%- endmacro %}

{#- Completed calendar months from start_date to end_date (1997-03-01 -> 2015-03-01 is 216; 2015-01-31 ->
    2015-02-28 is 0). -#}
{% macro months_elapsed(start_date, end_date) -%}
    (
        (extract(year from {{ end_date }}) * 12 + extract(month from {{ end_date }}))
        - (extract(year from {{ start_date }}) * 12 + extract(month from {{ start_date }}))
        - case when extract(day from {{ end_date }}) < extract(day from {{ start_date }}) then 1 else 0 end
    )
{%- endmacro %}

{#- Age in whole years at a date, from the birth month (the day of birth is never stored). -#}
{% macro age_years(birth_month, at_date) -%}
    cast(floor({{ months_elapsed(birth_month, at_date) }} / 12.0) as integer)
{%- endmacro %}

{#- Length in months of a period, days / 30.4375 (the mean month), with two decimals. -#}
{% macro duration_months(start_date, end_date) -%}
    round({{ dbt.datediff(start_date, end_date, 'day') }} / 30.4375, 2)
{%- endmacro %}
