{#- Shared by the marts. Engine-specific SQL stays in these few macros (each has a DuckDB / default
    form and, where it differs, a Spark form through dbt's dispatch). -#}

{#- Mean of a value with two decimals (durations in months), summed as whole hundredths: a floating-point
    average depends on the order rows are added in (an incremental table stores them in another order
    than a full rebuild), enough to flip the last rounded decimal. Null when no value. -#}
{% macro exact_mean_of_hundredths(expression) -%}
    sum(cast(round(({{ expression }}) * 100, 0) as {{ dbt.type_bigint() }}))
    / (100.0 * nullif(count({{ expression }}), 0))
{%- endmacro %}

{#- Completed calendar months from start_date to end_date (1997-03-01 -> 2015-03-01 is 216). -#}
{% macro months_elapsed(start_date, end_date) -%}
    ({{ dbt.datediff(start_date, end_date, 'month') }}
    - case when extract(day from {{ end_date }}) < extract(day from {{ start_date }}) then 1 else 0 end)
{%- endmacro %}

{#- Length in months (days / 30.4375, the mean month), for durations. -#}
{% macro duration_months(start_date, end_date) -%}
    round({{ dbt.datediff(start_date, end_date, 'day') }} / 30.4375, 2)
{%- endmacro %}

{% macro median(expression) -%}
    {{ return(adapter.dispatch('median', 'milo')(expression)) }}
{%- endmacro %}

{% macro default__median(expression) -%}
    percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}

{% macro spark__median(expression) -%}
    percentile({{ expression }}, 0.5)
{%- endmacro %}

{#- Share as a fraction with 4 decimals; null when the denominator is 0. -#}
{% macro share(numerator, denominator) -%}
    case when {{ denominator }} > 0 then round(cast({{ numerator }} as double) / {{ denominator }}, 4) end
{%- endmacro %}

{#- Age in whole years at a date, from the birth month (the day of birth is never stored). -#}
{% macro age_years(birth_month, at_date) -%}
    cast(floor({{ months_elapsed(birth_month, at_date) }} / 12.0) as integer)
{%- endmacro %}

{#- Age band of the DARES tables. -#}
{% macro age_band(age_years) -%}
    case
        when {{ age_years }} < 18 then 'under_18'
        when {{ age_years }} <= 21 then '18_21'
        when {{ age_years }} <= 25 then '22_25'
        else '26_plus'
    end
{%- endmacro %}

{#- The geography levels of the published tables, finest last: (level, code expression). -#}
{% macro geo_levels() -%}
    {{ return([
        ('national', "'FR'"),
        ('region', 'region_2016_code'),
        ('departement', 'departement_code'),
        ('mission_locale', 'mission_locale_code'),
    ]) }}
{%- endmacro %}

{#- Seniority months 1..n as rows, without a date-spine package. -#}
{% macro seniority_months(n) -%}
    {%- for m in range(1, n + 1) %}
    select {{ m }} as seniority_month{% if not loop.last %} union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- The four support measures of the marts (DARES DA n°63 vocabulary): harmonised event type -> the column
    that counts it. -#}
{% macro event_count_columns() -%}
    {{ return({
        'individual_interview': 'individual_interviews',
        'workshop': 'workshops',
        'collective_information': 'collective_information_sessions',
        'remote_contact': 'remote_contacts',
    }) }}
{%- endmacro %}

{#- Events counted by harmonised type, one column per support measure. -#}
{% macro events_by_type(alias) -%}
    {%- for event_type, column in event_count_columns().items() %}
    sum(case when {{ alias }}.event_type = '{{ event_type }}' then 1 else 0 end) as {{ column }}
    {%- if not loop.last %},{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- One select expression per event count column, from `template` with `{c}` standing for the column:
    'coalesce(support.{c}, 0) as {c}' (counts read through an outer join), 'sum({c}) as {c}', ... -#}
{% macro each_event_count(template) -%}
    {%- for column in event_count_columns().values() %}
    {{ template | replace('{c}', column) }}{% if not loop.last %},{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- The spells whose support intensity is published, from a relation of scheme_spells rows: Garantie
    jeunes, CEJ, and PACEA without a Garantie jeunes phase (a PACEA with one is published as that phase).
    Read by int_spell_event_months (for the touched people) and gj_support_intensity. -#}
{% macro intensity_spells(spells) -%}
    select candidates.*
    from {{ spells }} as candidates
    left join (
        select distinct phases.parent_spell_id
        from {{ spells }} as phases
        where phases.scheme = 'GJ' and phases.parent_spell_id is not null
    ) as gj_inside_pacea
        on candidates.spell_id = gj_inside_pacea.parent_spell_id
    where
        candidates.scheme in ('GJ', 'CEJ')
        or (candidates.scheme = 'PACEA' and gj_inside_pacea.parent_spell_id is null)
{%- endmacro %}

{#- How long after a Garantie jeunes entry its situation is followed (months): fct_gj_spells. -#}
{% macro gj_follow_up_horizons() -%}
    {{ return([3, 6, 12, 18]) }}
{%- endmacro %}

{#- A spell's month of seniority `month` (1 = the month from the entry date) counts while the spell is
    open and the month has begun before the observation end: gj_support_intensity. -#}
{% macro spell_month_counted(spell, month, observed_until) -%}
    {%- set month_start = dbt.dateadd('month', month ~ ' - 1', spell ~ '.entry_date') -%}
    {{ month_start }} < {{ observed_until }}
    and ({{ spell }}.end_date is null or {{ spell }}.end_date > {{ month_start }})
{%- endmacro %}
