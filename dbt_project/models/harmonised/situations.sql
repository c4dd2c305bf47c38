{{ config(**person_scope_config()) }}
{#- One row per declared situation of either system, category and contract type harmonised. Parcours 3
    has no state: it follows from the dates, as of the month the record was delivered. -#}
with situations as (
    {{ both_systems('situations', records='touched_people') }}
)

select
    {{ system_key('situations.source_system', 'situations.situation_id') }} as situation_key,
    {{ person_key('keys', 'situations.person_id') }} as person_key,
    situations.source_system,
    situations.mission_locale_code,
    {{ mapped('category_map', 'situation_category') }} as situation_category,
    {{ mapped('category_map', 'outcome_group') }} as outcome_group,
    case when situations.subtype_code is not null then {{ mapped('contract_map', 'contract_type') }} end
        as contract_type,
    -- durable: by its type, or lasting six months (183 days) or more (DARES convention)
    coalesce(contract_map.is_durable_by_type, false)
    or {{ dbt.datediff('situations.start_date', 'situations.end_date', 'day') }} >= 183  -- noqa: LT05
        as is_durable_employment_contract,
    case
        when situations.state_code = 'PREVU' then 'planned'
        when situations.state_code = 'EN_COURS' then 'ongoing'
        when situations.state_code = 'TERMINE' then 'ended'
        when situations.start_date >= {{ dbt.dateadd('month', 1, 'situations.delivery_month') }} then 'planned'
        when situations.end_date < situations.delivery_month then 'ended'
        else 'ongoing'
    end as state,
    situations.start_date,
    situations.end_date,
    situations.delivery_month
from situations
{{ join_person_key('keys', 'situations.source_system', 'situations.person_id') }}
{{ join_mapping('map_situations', 'category_map', 'situations.source_system', 'situations.category_code') }}
{{ join_mapping('map_contract_types', 'contract_map', 'situations.source_system', 'situations.subtype_code') }}
where {{ in_person_scope(person_key('keys', 'situations.person_id')) }}
