{#- The raw records a monthly run re-examines for int_repeated_record_months: every record with a line in
    the run's delivery months, and every record int_repeated_record_months held lines of in those months
    before the run (a corrected re-delivery may have withdrawn them; the record is then re-examined from
    what remains). Empty in a run without a window. Read before int_repeated_record_months is rebuilt, as
    int_persons_touched reads the person-level tables (named, not ref'd, which would make a cycle); a run of
    the same delivery months again keeps the records listed before, as int_persons_touched does. -#}
{{ config(tags=['monthly']) }}
{%- set deliveries = delivery_window() %}
{%- set previous = table_before_this_run('int_repeated_record_months') %}
with lines as (
    {{ raw_record_lines(deliveries=deliveries) }}
    {%- if previous and deliveries %}
        union all
        select
            source_system,
            entity,
            record_key,
            delivery_month
        from {{ previous }}
        where {{ in_months('delivery_month', deliveries) }}
    {%- endif %}
    {{ rows_listed_before(['source_system', 'entity', 'record_key', 'cast(null as date) as delivery_month']) }}
)

select distinct
    source_system,
    entity,
    record_key,
    '{{ run_deliveries_label() }}' as run_deliveries
from lines
-- a run without a window rebuilds everything: no record is singled out
where {{ '1 = 1' if deliveries else '1 = 0' }}
