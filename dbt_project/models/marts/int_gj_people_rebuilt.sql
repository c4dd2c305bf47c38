{#- The people whose Garantie jeunes entries a monthly run rebuilds in fct_gj_spells: everyone the run
    touches (int_persons_touched, events included: the support counted during an entry comes from the
    events), and everyone with an entry that was not final when fct_gj_spells was last built: still open
    (its support is counted up to the observation end) or not yet followed to its last horizon (horizons
    past the observation end are null). Those rows change as the observation end moves; every other entry
    is closed and fully observed, and changes only with the person's records. Empty in a run without a
    window (fct_gj_spells is then rebuilt whole).

    Read before fct_gj_spells is rebuilt, as int_persons_touched reads the harmonised tables (named, not
    ref'd, which would make a cycle); a run of the same delivery months again keeps the people listed
    before. -#}
{{ config(tags=['monthly']) }}
{%- set deliveries = delivery_window() %}
{%- set run_deliveries = run_deliveries_label() %}
{%- set previous = table_before_this_run('fct_gj_spells') %}
with people as (
    select touched.person_key
    from {{ ref('int_persons_touched') }} as touched
    {%- if deliveries and previous %}
    union all
    select unfinished.person_id as person_key
    from {{ previous }} as unfinished
    where unfinished.end_date is null or unfinished.situation_{{ gj_follow_up_horizons() | max }}m is null
    {%- endif %}
    {{ rows_listed_before(['person_key']) }}
)

select distinct
    person_key,
    '{{ run_deliveries }}' as run_deliveries
from people
-- a run without a window rebuilds everything: no one is singled out
where {{ '1 = 1' if deliveries else '1 = 0' }}
