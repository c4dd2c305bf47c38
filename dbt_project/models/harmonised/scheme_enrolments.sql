-- One row per scheme enrolment (an entry or a renewal) in its latest state, across both systems; see
-- int_enrolment_records for how a record delivered by both systems becomes one enrolment.
with records as (
    select * from {{ ref('int_enrolment_records') }}
)

select
    first_enrolment_key as enrolment_key,
    enrolment_key as latest_record_key,
    person_key,
    source_system as latest_source_system,
    mission_locale_code,
    scheme,
    scheme_variant,
    entry_date,
    planned_end_date,
    actual_end_date,
    exit_reason,
    is_early_exit,
    is_renewal,
    parent_enrolment_key,
    delivered_by_both_systems,
    delivery_month
from records
where state_rank = 1
