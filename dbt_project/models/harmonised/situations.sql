-- One row per declared situation of either system (its latest delivered version), category and contract
-- type harmonised. Parcours 3 has no state: it follows from the dates, as of the month the record was
-- delivered.
with parcours3 as (
    {{ latest_version(ref('stg_parcours3__situations'), ['situation_id']) }}
),

imilo as (
    {{ latest_version(ref('stg_imilo__situations'), ['situation_id']) }}
),

situations as (
    select
        'parcours3' as source_system,
        parcours3.*
    from parcours3
    union all
    select
        'imilo' as source_system,
        imilo.*
    from imilo
),

person_keys as (
    select * from {{ ref('person_keys') }}
),

categories as (
    select * from {{ ref('map_situations') }}
),

contract_types as (
    select * from {{ ref('map_contract_types') }}
)

select
    {{ dbt.concat(['situations.source_system', "':'", 'situations.situation_id']) }} as situation_key,
    coalesce(person_keys.person_key, situations.person_id) as person_key,
    situations.source_system,
    situations.mission_locale_code,
    coalesce(categories.situation_category, 'unknown') as situation_category,
    coalesce(categories.outcome_group, 'unknown') as outcome_group,
    case when situations.subtype_code is not null then coalesce(contract_types.contract_type, 'unknown') end
        as contract_type,
    -- durable: by its type, or lasting six months (183 days) or more (DARES convention)
    coalesce(contract_types.is_durable_by_type, false)
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
left join person_keys
    on
        situations.source_system = person_keys.source_system
        and situations.person_id = person_keys.source_person_id
left join categories
    on
        situations.source_system = categories.source_system
        and situations.category_code = categories.source_code
left join contract_types
    on
        situations.source_system = contract_types.source_system
        and situations.subtype_code = contract_types.source_code
