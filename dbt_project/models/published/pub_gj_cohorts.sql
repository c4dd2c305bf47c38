-- Publishable Garantie jeunes cohorts: gj_cohorts with statistical secrecy (docs/secrecy.md). Counts of 1
-- to k-1 people are masked, then secondary suppression along mission locale -> département -> region ->
-- national; shares and durations are masked when their denominator is under k or is itself masked (a share
-- would give a masked count away). Every masked value is null with a flag saying why.
with cohorts as (
    select * from {{ ref('gj_cohorts') }}
),

geo_areas as (
    select * from {{ ref('geo_areas') }}
),

-- the count columns protected by secrecy, one row each
measures as (
    select 'entrants' as measure
    union all
    select 'entrants_excl_renewals' as measure
    union all
    select 'qpv_known' as measure
    union all
    select 'zus_known' as measure
    union all
    select 'spells_ended' as measure
    union all
    select 'early_exits' as measure
    union all
    select 'observed_6m' as measure
    union all
    select 'observed_12m' as measure
),

-- one row per cell and count: the long form the secrecy passes work on
cells as (
    select
        cohorts.entry_month,
        measures.measure,
        {{ dbt.concat(['cohorts.geo_level', "':'", 'cohorts.geo_code']) }} as cell_id,
        case
            when cohorts.geo_level = 'national' then null
            -- a code missing from the reference lists adds up into its level's 'unknown' parent
            else coalesce(
                    geo_areas.parent_cell_id,
                    case cohorts.geo_level
                        when 'region' then 'national:FR'
                        when 'departement' then 'region:unknown'
                        when 'mission_locale' then 'departement:unknown'
                    end
                )
        end as parent_cell_id,
        cast(null as {{ dbt.type_string() }}) as second_parent_cell_id,
        case measures.measure
            when 'entrants' then cohorts.entrants
            when 'entrants_excl_renewals' then cohorts.entrants_excl_renewals
            when 'qpv_known' then cohorts.qpv_known
            when 'zus_known' then cohorts.zus_known
            when 'spells_ended' then cohorts.spells_ended
            when 'early_exits' then cohorts.early_exits
            when 'observed_6m' then cohorts.observed_6m
            when 'observed_12m' then cohorts.observed_12m
        end as cell_value
    from cohorts
    cross join measures
    left join geo_areas
        on cohorts.geo_level = geo_areas.geo_level and cohorts.geo_code = geo_areas.geo_code
),

protected as {{ materialized_cte() }} (
    {{ secrecy_cells('cells', ['entry_month', 'measure']) }}
),

-- back to one row per cell: each count published or null, with its flag
published as (
    select
        entry_month,
        cell_id,
        max(case when measure = 'entrants' and not is_masked then cell_value end) as entrants,
        max(case when measure = 'entrants' then flag end) as entrants_flag,
        max(case when measure = 'entrants_excl_renewals' and not is_masked then cell_value end)
            as entrants_excl_renewals,
        max(case when measure = 'entrants_excl_renewals' then flag end) as entrants_excl_renewals_flag,
        max(case when measure = 'qpv_known' and not is_masked then cell_value end) as qpv_known,
        max(case when measure = 'qpv_known' then flag end) as qpv_known_flag,
        max(case when measure = 'zus_known' and not is_masked then cell_value end) as zus_known,
        max(case when measure = 'zus_known' then flag end) as zus_known_flag,
        max(case when measure = 'spells_ended' and not is_masked then cell_value end) as spells_ended,
        max(case when measure = 'spells_ended' then flag end) as spells_ended_flag,
        max(case when measure = 'early_exits' and not is_masked then cell_value end) as early_exits,
        max(case when measure = 'early_exits' then flag end) as early_exits_flag,
        max(case when measure = 'observed_6m' and not is_masked then cell_value end) as observed_6m,
        max(case when measure = 'observed_6m' then flag end) as observed_6m_flag,
        max(case when measure = 'observed_12m' and not is_masked then cell_value end) as observed_12m,
        max(case when measure = 'observed_12m' then flag end) as observed_12m_flag
    from protected
    group by entry_month, cell_id
)

select
    cohorts.entry_month,
    cohorts.geo_level,
    cohorts.geo_code,
    published.entrants,
    published.entrants_flag,
    published.entrants_excl_renewals,
    published.entrants_excl_renewals_flag,
    published.qpv_known,
    published.qpv_known_flag,
    published.zus_known,
    published.zus_known_flag,
    published.spells_ended,
    published.spells_ended_flag,
    published.early_exits,
    published.early_exits_flag,
    published.observed_6m,
    published.observed_6m_flag,
    published.observed_12m,
    published.observed_12m_flag,
    {{ published_ratio(
        'cohorts.share_women', 'cohorts.entrants_excl_renewals', 'published.entrants_excl_renewals_flag'
    ) }} as share_women,
    {{ ratio_flag('cohorts.entrants_excl_renewals', 'published.entrants_excl_renewals_flag') }} as share_women_flag,
    {{ published_ratio(
        'cohorts.share_minors', 'cohorts.entrants_excl_renewals', 'published.entrants_excl_renewals_flag'
    ) }} as share_minors,
    {{ ratio_flag('cohorts.entrants_excl_renewals', 'published.entrants_excl_renewals_flag') }} as share_minors_flag,
    {{ published_ratio(
        'cohorts.share_aged_18_21', 'cohorts.entrants_excl_renewals', 'published.entrants_excl_renewals_flag'
    ) }} as share_aged_18_21,
    {{ ratio_flag(
        'cohorts.entrants_excl_renewals', 'published.entrants_excl_renewals_flag'
    ) }} as share_aged_18_21_flag,
    {{ published_ratio(
        'cohorts.share_below_cap_bep', 'cohorts.entrants_excl_renewals', 'published.entrants_excl_renewals_flag'
    ) }} as share_below_cap_bep,
    {{ ratio_flag(
        'cohorts.entrants_excl_renewals', 'published.entrants_excl_renewals_flag'
    ) }} as share_below_cap_bep_flag,
    {{ published_ratio('cohorts.share_qpv', 'cohorts.qpv_known', 'published.qpv_known_flag') }} as share_qpv,
    {{ ratio_flag('cohorts.qpv_known', 'published.qpv_known_flag') }} as share_qpv_flag,
    {{ published_ratio('cohorts.share_zus', 'cohorts.zus_known', 'published.zus_known_flag') }} as share_zus,
    {{ ratio_flag('cohorts.zus_known', 'published.zus_known_flag') }} as share_zus_flag,
    {{ published_ratio(
        'cohorts.share_zrr', 'cohorts.entrants_excl_renewals', 'published.entrants_excl_renewals_flag'
    ) }} as share_zrr,
    {{ ratio_flag('cohorts.entrants_excl_renewals', 'published.entrants_excl_renewals_flag') }} as share_zrr_flag,
    {{ published_ratio(
        'cohorts.share_already_known', 'cohorts.entrants_excl_renewals', 'published.entrants_excl_renewals_flag'
    ) }} as share_already_known,
    {{ ratio_flag(
        'cohorts.entrants_excl_renewals', 'published.entrants_excl_renewals_flag'
    ) }} as share_already_known_flag,
    {{ published_ratio(
        'cohorts.mean_duration_months', 'cohorts.spells_ended', 'published.spells_ended_flag'
    ) }} as mean_duration_months,
    {{ ratio_flag('cohorts.spells_ended', 'published.spells_ended_flag') }} as mean_duration_months_flag,
    {{ published_ratio(
        'cohorts.median_duration_months', 'cohorts.spells_ended', 'published.spells_ended_flag'
    ) }} as median_duration_months,
    {{ ratio_flag('cohorts.spells_ended', 'published.spells_ended_flag') }} as median_duration_months_flag,
    {{ published_ratio(
        'cohorts.share_early_exits', 'cohorts.spells_ended', 'published.spells_ended_flag'
    ) }} as share_early_exits,
    {{ ratio_flag('cohorts.spells_ended', 'published.spells_ended_flag') }} as share_early_exits_flag,
    {{ published_ratio(
        'cohorts.share_early_exits_exclusion', 'cohorts.early_exits', 'published.early_exits_flag'
    ) }} as share_early_exits_exclusion,
    {{ ratio_flag('cohorts.early_exits', 'published.early_exits_flag') }} as share_early_exits_exclusion_flag,
    {{ published_ratio(
        'cohorts.share_early_exits_abandonment', 'cohorts.early_exits', 'published.early_exits_flag'
    ) }} as share_early_exits_abandonment,
    {{ ratio_flag('cohorts.early_exits', 'published.early_exits_flag') }} as share_early_exits_abandonment_flag,
    {{ published_ratio(
        'cohorts.share_early_exits_moving', 'cohorts.early_exits', 'published.early_exits_flag'
    ) }} as share_early_exits_moving,
    {{ ratio_flag('cohorts.early_exits', 'published.early_exits_flag') }} as share_early_exits_moving_flag,
    {{ published_ratio(
        'cohorts.share_early_exits_other', 'cohorts.early_exits', 'published.early_exits_flag'
    ) }} as share_early_exits_other,
    {{ ratio_flag('cohorts.early_exits', 'published.early_exits_flag') }} as share_early_exits_other_flag,
    {{ published_ratio(
        'cohorts.share_employment_6m', 'cohorts.observed_6m', 'published.observed_6m_flag'
    ) }} as share_employment_6m,
    {{ ratio_flag('cohorts.observed_6m', 'published.observed_6m_flag') }} as share_employment_6m_flag,
    {{ published_ratio(
        'cohorts.share_durable_employment_6m', 'cohorts.observed_6m', 'published.observed_6m_flag'
    ) }} as share_durable_employment_6m,
    {{ ratio_flag('cohorts.observed_6m', 'published.observed_6m_flag') }} as share_durable_employment_6m_flag,
    {{ published_ratio(
        'cohorts.share_training_6m', 'cohorts.observed_6m', 'published.observed_6m_flag'
    ) }} as share_training_6m,
    {{ ratio_flag('cohorts.observed_6m', 'published.observed_6m_flag') }} as share_training_6m_flag,
    {{ published_ratio(
        'cohorts.share_employment_12m', 'cohorts.observed_12m', 'published.observed_12m_flag'
    ) }} as share_employment_12m,
    {{ ratio_flag('cohorts.observed_12m', 'published.observed_12m_flag') }} as share_employment_12m_flag,
    {{ published_ratio(
        'cohorts.share_durable_employment_12m', 'cohorts.observed_12m', 'published.observed_12m_flag'
    ) }} as share_durable_employment_12m,
    {{ ratio_flag('cohorts.observed_12m', 'published.observed_12m_flag') }} as share_durable_employment_12m_flag,
    {{ published_ratio(
        'cohorts.share_training_12m', 'cohorts.observed_12m', 'published.observed_12m_flag'
    ) }} as share_training_12m,
    {{ ratio_flag('cohorts.observed_12m', 'published.observed_12m_flag') }} as share_training_12m_flag
from cohorts
inner join published
    on
        cohorts.entry_month = published.entry_month
        and {{ dbt.concat(['cohorts.geo_level', "':'", 'cohorts.geo_code']) }} = published.cell_id
