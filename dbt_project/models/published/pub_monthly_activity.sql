-- Publishable monthly activity: monthly_activity with statistical secrecy (docs/secrecy.md): counts of people
-- from 1 to k-1 masked, then secondary suppression along the geography hierarchy, with flags. End-of-month
-- stocks are localised by residence in départements and regions but by mission locale at mission-locale
-- level: the mission locales add up to the national total, and for people living in the département of their
-- mission locale to that département, so their secondary suppression follows both trees
-- (`second_parent_cell_id`).
with activity as (
    select * from {{ ref('monthly_activity') }}
),

geo_areas as (
    select * from {{ ref('geo_areas') }}
),

-- the count columns protected by secrecy, one row each
measures as (
    select 'young_people_in_contact' as measure
    union all
    select 'received_in_interview' as measure
    union all
    select 'received_in_individual_interview' as measure
    union all
    select 'first_welcomes' as measure
    union all
    select 'individual_interviews' as measure
    union all
    select 'gj_entries' as measure
    union all
    select 'gj_entries_excl_renewals' as measure
    union all
    select 'gj_stock' as measure
    union all
    select 'pacea_entries' as measure
    union all
    select 'pacea_entries_excl_renewals' as measure
    union all
    select 'pacea_stock' as measure
    union all
    select 'cej_entries' as measure
    union all
    select 'cej_entries_excl_renewals' as measure
    union all
    select 'cej_stock' as measure
    union all
    select 'civis_entries' as measure
    union all
    select 'civis_entries_excl_renewals' as measure
    union all
    select 'civis_stock' as measure
    union all
    select 'ani_entries' as measure
    union all
    select 'ani_entries_excl_renewals' as measure
    union all
    select 'ani_stock' as measure
    union all
    select 'eav_entries' as measure
    union all
    select 'eav_entries_excl_renewals' as measure
    union all
    select 'eav_stock' as measure
    union all
    select 'diag_entries' as measure
    union all
    select 'diag_entries_excl_renewals' as measure
    union all
    select 'diag_stock' as measure
    union all
    select 'ppae_entries' as measure
    union all
    select 'ppae_entries_excl_renewals' as measure
    union all
    select 'ppae_stock' as measure
),

-- one row per cell and count: the long form the secrecy passes work on
cells as (
    select
        activity.month,
        measures.measure,
        {{ dbt.concat(['activity.geo_level', "':'", 'activity.geo_code']) }} as cell_id,
        case
            when activity.geo_level = 'national' then null
            -- a code missing from the reference lists adds up into its level's 'unknown' parent
            else coalesce(
                    geo_areas.parent_cell_id,
                    case activity.geo_level
                        when 'region' then 'national:FR'
                        when 'departement' then 'region:unknown'
                        when 'mission_locale' then 'departement:unknown'
                    end
                )
        end as parent_cell_id,
        case
            when
                activity.geo_level = 'mission_locale'
                and measures.measure in (
                    'gj_stock', 'pacea_stock', 'cej_stock', 'civis_stock',
                    'ani_stock', 'eav_stock', 'diag_stock', 'ppae_stock'
                )
                then 'national:FR'
        end as second_parent_cell_id,
        case measures.measure
            when 'young_people_in_contact' then activity.young_people_in_contact
            when 'received_in_interview' then activity.received_in_interview
            when 'received_in_individual_interview' then activity.received_in_individual_interview
            when 'first_welcomes' then activity.first_welcomes
            when 'individual_interviews' then activity.individual_interviews
            when 'gj_entries' then activity.gj_entries
            when 'gj_entries_excl_renewals' then activity.gj_entries_excl_renewals
            when 'gj_stock' then activity.gj_stock
            when 'pacea_entries' then activity.pacea_entries
            when 'pacea_entries_excl_renewals' then activity.pacea_entries_excl_renewals
            when 'pacea_stock' then activity.pacea_stock
            when 'cej_entries' then activity.cej_entries
            when 'cej_entries_excl_renewals' then activity.cej_entries_excl_renewals
            when 'cej_stock' then activity.cej_stock
            when 'civis_entries' then activity.civis_entries
            when 'civis_entries_excl_renewals' then activity.civis_entries_excl_renewals
            when 'civis_stock' then activity.civis_stock
            when 'ani_entries' then activity.ani_entries
            when 'ani_entries_excl_renewals' then activity.ani_entries_excl_renewals
            when 'ani_stock' then activity.ani_stock
            when 'eav_entries' then activity.eav_entries
            when 'eav_entries_excl_renewals' then activity.eav_entries_excl_renewals
            when 'eav_stock' then activity.eav_stock
            when 'diag_entries' then activity.diag_entries
            when 'diag_entries_excl_renewals' then activity.diag_entries_excl_renewals
            when 'diag_stock' then activity.diag_stock
            when 'ppae_entries' then activity.ppae_entries
            when 'ppae_entries_excl_renewals' then activity.ppae_entries_excl_renewals
            when 'ppae_stock' then activity.ppae_stock
        end as cell_value
    from activity
    cross join measures
    left join geo_areas
        on activity.geo_level = geo_areas.geo_level and activity.geo_code = geo_areas.geo_code
),

protected as {{ materialized_cte() }} (
    {{ secrecy_cells('cells', ['month', 'measure']) }}
),

-- back to one row per cell: each count published or null, with its flag
published as (
    select
        month,
        cell_id,
        max(case when measure = 'young_people_in_contact' and not is_masked then cell_value end)
            as young_people_in_contact,
        max(case when measure = 'young_people_in_contact' then flag end) as young_people_in_contact_flag,
        max(case when measure = 'received_in_interview' and not is_masked then cell_value end)
            as received_in_interview,
        max(case when measure = 'received_in_interview' then flag end) as received_in_interview_flag,
        max(case when measure = 'received_in_individual_interview' and not is_masked then cell_value end)
            as received_in_individual_interview,
        max(case when measure = 'received_in_individual_interview' then flag end)
            as received_in_individual_interview_flag,
        max(case when measure = 'first_welcomes' and not is_masked then cell_value end) as first_welcomes,
        max(case when measure = 'first_welcomes' then flag end) as first_welcomes_flag,
        max(case when measure = 'individual_interviews' and not is_masked then cell_value end)
            as individual_interviews,
        max(case when measure = 'individual_interviews' then flag end) as individual_interviews_flag,
        max(case when measure = 'gj_entries' and not is_masked then cell_value end) as gj_entries,
        max(case when measure = 'gj_entries' then flag end) as gj_entries_flag,
        max(case when measure = 'gj_entries_excl_renewals' and not is_masked then cell_value end)
            as gj_entries_excl_renewals,
        max(case when measure = 'gj_entries_excl_renewals' then flag end) as gj_entries_excl_renewals_flag,
        max(case when measure = 'gj_stock' and not is_masked then cell_value end) as gj_stock,
        max(case when measure = 'gj_stock' then flag end) as gj_stock_flag,
        max(case when measure = 'pacea_entries' and not is_masked then cell_value end) as pacea_entries,
        max(case when measure = 'pacea_entries' then flag end) as pacea_entries_flag,
        max(case when measure = 'pacea_entries_excl_renewals' and not is_masked then cell_value end)
            as pacea_entries_excl_renewals,
        max(case when measure = 'pacea_entries_excl_renewals' then flag end) as pacea_entries_excl_renewals_flag,
        max(case when measure = 'pacea_stock' and not is_masked then cell_value end) as pacea_stock,
        max(case when measure = 'pacea_stock' then flag end) as pacea_stock_flag,
        max(case when measure = 'cej_entries' and not is_masked then cell_value end) as cej_entries,
        max(case when measure = 'cej_entries' then flag end) as cej_entries_flag,
        max(case when measure = 'cej_entries_excl_renewals' and not is_masked then cell_value end)
            as cej_entries_excl_renewals,
        max(case when measure = 'cej_entries_excl_renewals' then flag end) as cej_entries_excl_renewals_flag,
        max(case when measure = 'cej_stock' and not is_masked then cell_value end) as cej_stock,
        max(case when measure = 'cej_stock' then flag end) as cej_stock_flag,
        max(case when measure = 'civis_entries' and not is_masked then cell_value end) as civis_entries,
        max(case when measure = 'civis_entries' then flag end) as civis_entries_flag,
        max(case when measure = 'civis_entries_excl_renewals' and not is_masked then cell_value end)
            as civis_entries_excl_renewals,
        max(case when measure = 'civis_entries_excl_renewals' then flag end) as civis_entries_excl_renewals_flag,
        max(case when measure = 'civis_stock' and not is_masked then cell_value end) as civis_stock,
        max(case when measure = 'civis_stock' then flag end) as civis_stock_flag,
        max(case when measure = 'ani_entries' and not is_masked then cell_value end) as ani_entries,
        max(case when measure = 'ani_entries' then flag end) as ani_entries_flag,
        max(case when measure = 'ani_entries_excl_renewals' and not is_masked then cell_value end)
            as ani_entries_excl_renewals,
        max(case when measure = 'ani_entries_excl_renewals' then flag end) as ani_entries_excl_renewals_flag,
        max(case when measure = 'ani_stock' and not is_masked then cell_value end) as ani_stock,
        max(case when measure = 'ani_stock' then flag end) as ani_stock_flag,
        max(case when measure = 'eav_entries' and not is_masked then cell_value end) as eav_entries,
        max(case when measure = 'eav_entries' then flag end) as eav_entries_flag,
        max(case when measure = 'eav_entries_excl_renewals' and not is_masked then cell_value end)
            as eav_entries_excl_renewals,
        max(case when measure = 'eav_entries_excl_renewals' then flag end) as eav_entries_excl_renewals_flag,
        max(case when measure = 'eav_stock' and not is_masked then cell_value end) as eav_stock,
        max(case when measure = 'eav_stock' then flag end) as eav_stock_flag,
        max(case when measure = 'diag_entries' and not is_masked then cell_value end) as diag_entries,
        max(case when measure = 'diag_entries' then flag end) as diag_entries_flag,
        max(case when measure = 'diag_entries_excl_renewals' and not is_masked then cell_value end)
            as diag_entries_excl_renewals,
        max(case when measure = 'diag_entries_excl_renewals' then flag end) as diag_entries_excl_renewals_flag,
        max(case when measure = 'diag_stock' and not is_masked then cell_value end) as diag_stock,
        max(case when measure = 'diag_stock' then flag end) as diag_stock_flag,
        max(case when measure = 'ppae_entries' and not is_masked then cell_value end) as ppae_entries,
        max(case when measure = 'ppae_entries' then flag end) as ppae_entries_flag,
        max(case when measure = 'ppae_entries_excl_renewals' and not is_masked then cell_value end)
            as ppae_entries_excl_renewals,
        max(case when measure = 'ppae_entries_excl_renewals' then flag end) as ppae_entries_excl_renewals_flag,
        max(case when measure = 'ppae_stock' and not is_masked then cell_value end) as ppae_stock,
        max(case when measure = 'ppae_stock' then flag end) as ppae_stock_flag
    from protected
    group by month, cell_id
)

select
    published.young_people_in_contact,
    published.young_people_in_contact_flag,
    published.received_in_interview,
    published.received_in_interview_flag,
    published.received_in_individual_interview,
    published.received_in_individual_interview_flag,
    published.first_welcomes,
    published.first_welcomes_flag,
    published.individual_interviews,
    published.individual_interviews_flag,
    published.gj_entries,
    published.gj_entries_flag,
    published.gj_entries_excl_renewals,
    published.gj_entries_excl_renewals_flag,
    published.gj_stock,
    published.gj_stock_flag,
    published.pacea_entries,
    published.pacea_entries_flag,
    published.pacea_entries_excl_renewals,
    published.pacea_entries_excl_renewals_flag,
    published.pacea_stock,
    published.pacea_stock_flag,
    published.cej_entries,
    published.cej_entries_flag,
    published.cej_entries_excl_renewals,
    published.cej_entries_excl_renewals_flag,
    published.cej_stock,
    published.cej_stock_flag,
    published.civis_entries,
    published.civis_entries_flag,
    published.civis_entries_excl_renewals,
    published.civis_entries_excl_renewals_flag,
    published.civis_stock,
    published.civis_stock_flag,
    published.ani_entries,
    published.ani_entries_flag,
    published.ani_entries_excl_renewals,
    published.ani_entries_excl_renewals_flag,
    published.ani_stock,
    published.ani_stock_flag,
    published.eav_entries,
    published.eav_entries_flag,
    published.eav_entries_excl_renewals,
    published.eav_entries_excl_renewals_flag,
    published.eav_stock,
    published.eav_stock_flag,
    published.diag_entries,
    published.diag_entries_flag,
    published.diag_entries_excl_renewals,
    published.diag_entries_excl_renewals_flag,
    published.diag_stock,
    published.diag_stock_flag,
    published.ppae_entries,
    published.ppae_entries_flag,
    published.ppae_entries_excl_renewals,
    published.ppae_entries_excl_renewals_flag,
    published.ppae_stock,
    published.ppae_stock_flag,
    activity.month,
    activity.geo_level,
    activity.geo_code
from activity
inner join published
    on
        activity.month = published.month
        and {{ dbt.concat(['activity.geo_level', "':'", 'activity.geo_code']) }} = published.cell_id
