{#- Publishable Garantie jeunes cohorts: gj_cohorts with statistical secrecy (docs/secrecy.md). Counts of
    1 to k-1 people are masked, then secondary suppression along mission locale -> département -> region ->
    national; shares and durations are masked when their denominator is under k or is itself masked (a
    share would give a masked count away). Every masked value is null with a flag saying why. -#}
{%- set counts = ['entrants', 'entrants_excl_renewals', 'qpv_known', 'zus_known', 'spells_ended',
    'early_exits', 'observed_6m', 'observed_12m'] %}
with prepared as (
    select
        cohorts.*,
        {{ geo_cell_ids('cohorts.geo_level', 'cohorts.geo_code') }}
    from {{ ref('gj_cohorts') }} as cohorts
    {{ join_geo_parents('cohorts') }}
),

cells as {{ materialized_cte() }} (
    {{ secrecy_cells('prepared', ['entry_month'], counts) }}
),

published as (
    {{ pivot_secrecy_cells('cells', ['entry_month'], counts) }}
)

select
    prepared.entry_month,
    prepared.geo_level,
    prepared.geo_code,
    {%- for column in counts %}
        published.{{ column }},
        published.{{ column }}_flag,
    {%- endfor %}
    {%- for share, denominator in [
        ('share_women', 'entrants_excl_renewals'), ('share_minors', 'entrants_excl_renewals'),
        ('share_aged_18_21', 'entrants_excl_renewals'), ('share_below_cap_bep', 'entrants_excl_renewals'),
        ('share_qpv', 'qpv_known'), ('share_zus', 'zus_known'), ('share_zrr', 'entrants_excl_renewals'),
        ('share_already_known', 'entrants_excl_renewals'), ('mean_duration_months', 'spells_ended'),
        ('median_duration_months', 'spells_ended'), ('share_early_exits', 'spells_ended'),
        ('share_early_exits_exclusion', 'early_exits'), ('share_early_exits_abandonment', 'early_exits'),
        ('share_early_exits_moving', 'early_exits'), ('share_early_exits_other', 'early_exits'),
        ('share_employment_6m', 'observed_6m'), ('share_durable_employment_6m', 'observed_6m'),
        ('share_training_6m', 'observed_6m'), ('share_employment_12m', 'observed_12m'),
        ('share_durable_employment_12m', 'observed_12m'), ('share_training_12m', 'observed_12m')] %}
        {{ published_ratio('prepared', share, denominator, 'published.' ~ denominator ~ '_flag') }}
        {%- if not loop.last %},{% endif %}
    {%- endfor %}
from prepared
inner join published
    on
        prepared.entry_month = published.entry_month
        and prepared.cell_id = published.cell_id
