-- The months the warehouse covers (one row): anything dated on or after `observed_until` has not been
-- delivered yet, so a follow-up horizon past it is not observable.
with months as (
    select delivery_month from {{ ref('int_person_versions') }}
    union all
    select delivery_month from {{ ref('events') }}
)

select
    min(delivery_month) as first_delivery_month,
    max(delivery_month) as last_delivery_month,
    cast({{ dbt.dateadd('month', 1, 'max(delivery_month)') }} as date) as observed_until
from months
