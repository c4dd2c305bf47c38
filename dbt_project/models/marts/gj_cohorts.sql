-- Garantie jeunes entry cohorts: one row per entry month x geography level x geography code. Entries are
-- localised by the mission locale of entry (POEM convention). Profile, duration, exit and outcome figures
-- describe first entries (renewals excluded): one per continuous spell.
with entries as (
    select * from {{ ref('fct_gj_spells') }}
),

-- every figure is counted at each of the four levels of the published geography, finest last
geo_levels as (
    select 'national' as geo_level
    union all
    select 'region' as geo_level
    union all
    select 'departement' as geo_level
    union all
    select 'mission_locale' as geo_level
),

-- each entry once at every geography level, so that one grouping counts them all
entries_by_area as (
    select
        entries.*,
        levels.geo_level,
        case levels.geo_level
            when 'national' then 'FR'
            when 'region' then entries.region_2016_code
            when 'departement' then entries.departement_code
            when 'mission_locale' then entries.mission_locale_code
        end as geo_code
    from entries
    cross join geo_levels as levels
),

counted as (
    select
        entry_month,
        geo_level,
        cast(coalesce(geo_code, 'unknown') as {{ dbt.type_string() }}) as geo_code,
        count(*) as entrants,
        sum(case when not is_renewal then 1 else 0 end) as entrants_excl_renewals,
        sum(case when not is_renewal and sex = 'female' then 1 else 0 end) as women,
        sum(case when not is_renewal and age_band = 'under_18' then 1 else 0 end) as minors,
        sum(case when not is_renewal and age_band = '18_21' then 1 else 0 end) as aged_18_21,
        sum(case when not is_renewal and education_class = 'below_cap_bep' then 1 else 0 end) as below_cap_bep,
        sum(case when not is_renewal and lives_in_qpv is not null then 1 else 0 end) as qpv_known,
        sum(case when not is_renewal and lives_in_qpv then 1 else 0 end) as in_qpv,
        sum(case when not is_renewal and lives_in_zus is not null then 1 else 0 end) as zus_known,
        sum(case when not is_renewal and lives_in_zus then 1 else 0 end) as in_zus,
        sum(case when not is_renewal and lives_in_zrr then 1 else 0 end) as in_zrr,
        sum(case when not is_renewal and already_known then 1 else 0 end) as already_known,
        sum(case when not is_renewal and spell_end_date is not null then 1 else 0 end) as spells_ended,
        -- summed as whole hundredths: a floating-point average depends on the order rows are added in,
        -- enough to flip the last rounded decimal from one build to the next
        sum(cast(round((case when not is_renewal then spell_duration_months end) * 100, 0) as bigint))
        / (100.0 * nullif(count(case when not is_renewal then spell_duration_months end), 0))
            as mean_duration_months,
        percentile_cont(0.5) within group (order by case when not is_renewal then spell_duration_months end)
            as median_duration_months,
        sum(case when not is_renewal and spell_is_early_exit then 1 else 0 end) as early_exits,
        sum(case when not is_renewal and spell_exit_reason = 'exclusion' then 1 else 0 end) as exits_exclusion,
        sum(case when not is_renewal and spell_exit_reason = 'abandonment' then 1 else 0 end) as exits_abandonment,
        sum(case when not is_renewal and spell_exit_reason = 'moving' then 1 else 0 end) as exits_moving,
        sum(case when not is_renewal and spell_exit_reason = 'other' then 1 else 0 end) as exits_other,
        sum(case when not is_renewal and situation_6m is not null then 1 else 0 end) as observed_6m,
        sum(
            case when not is_renewal and situation_6m in ('durable_employment', 'other_employment') then 1 else 0 end
        ) as employment_6m,
        sum(case when not is_renewal and situation_6m = 'durable_employment' then 1 else 0 end)
            as durable_employment_6m,
        sum(case when not is_renewal and situation_6m = 'training' then 1 else 0 end) as training_6m,
        sum(case when not is_renewal and situation_12m is not null then 1 else 0 end) as observed_12m,
        sum(
            case when not is_renewal and situation_12m in ('durable_employment', 'other_employment') then 1 else 0 end
        ) as employment_12m,
        sum(case when not is_renewal and situation_12m = 'durable_employment' then 1 else 0 end)
            as durable_employment_12m,
        sum(case when not is_renewal and situation_12m = 'training' then 1 else 0 end) as training_12m
    from entries_by_area
    group by entry_month, geo_level, cast(coalesce(geo_code, 'unknown') as {{ dbt.type_string() }})
)

select
    entry_month,
    geo_level,
    coalesce(geo_code, 'unknown') as geo_code,
    entrants,
    entrants_excl_renewals,
    {{ share('women', 'entrants_excl_renewals') }} as share_women,
    {{ share('minors', 'entrants_excl_renewals') }} as share_minors,
    {{ share('aged_18_21', 'entrants_excl_renewals') }} as share_aged_18_21,
    {{ share('below_cap_bep', 'entrants_excl_renewals') }} as share_below_cap_bep,
    qpv_known,
    {{ share('in_qpv', 'qpv_known') }} as share_qpv,
    zus_known,
    {{ share('in_zus', 'zus_known') }} as share_zus,
    {{ share('in_zrr', 'entrants_excl_renewals') }} as share_zrr,
    {{ share('already_known', 'entrants_excl_renewals') }} as share_already_known,
    spells_ended,
    round(mean_duration_months, 2) as mean_duration_months,
    round(median_duration_months, 2) as median_duration_months,
    observed_6m,
    {{ share('employment_6m', 'observed_6m') }} as share_employment_6m,
    {{ share('durable_employment_6m', 'observed_6m') }} as share_durable_employment_6m,
    {{ share('training_6m', 'observed_6m') }} as share_training_6m,
    observed_12m,
    {{ share('employment_12m', 'observed_12m') }} as share_employment_12m,
    {{ share('durable_employment_12m', 'observed_12m') }} as share_durable_employment_12m,
    {{ share('training_12m', 'observed_12m') }} as share_training_12m,
    {{ share('early_exits', 'spells_ended') }} as share_early_exits,
    early_exits,
    {{ share('exits_exclusion', 'early_exits') }} as share_early_exits_exclusion,
    {{ share('exits_abandonment', 'early_exits') }} as share_early_exits_abandonment,
    {{ share('exits_moving', 'early_exits') }} as share_early_exits_moving,
    {{ share('exits_other', 'early_exits') }} as share_early_exits_other
from counted
