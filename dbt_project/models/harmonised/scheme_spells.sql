-- One row per continuous spell in a scheme: an entry and the renewals that extend it. A spell begun in
-- Parcours 3 and ended in I-Milo is one spell. From 2017 a Garantie jeunes spell is a phase inside a PACEA:
-- `parent_spell_id` names that PACEA spell.
with enrolments as (
    select * from {{ ref('int_enrolments_sequenced') }}
),

mission_locales as (
    select * from {{ ref('mission_locales') }}
),

aggregated as (
    select
        spell_id,
        count(*) - 1 as renewals,
        max(case when delivered_by_both_systems then 1 else 0 end) = 1 as delivered_by_both_systems,
        min(latest_source_system) as first_system,
        max(latest_source_system) as last_system
    from enrolments
    group by spell_id
)

select
    aggregated.spell_id,
    first_enrolment.person_key,
    first_enrolment.scheme,
    first_enrolment.scheme_variant,
    first_enrolment.mission_locale_code,
    first_enrolment.entry_date,
    cast({{ dbt.date_trunc('month', 'first_enrolment.entry_date') }} as date) as entry_month,
    first_enrolment.is_renewal as starts_with_renewal,
    aggregated.renewals,
    last_enrolment.planned_end_date,
    last_enrolment.actual_end_date as end_date,
    last_enrolment.exit_reason,
    coalesce(last_enrolment.is_early_exit, false) as is_early_exit,
    -- begun before its mission locale moved to I-Milo and still open then (whether or not the deliveries
    -- in the warehouse include the Parcours 3 record of the entry)
    coalesce(
        first_enrolment.entry_date < mission_locales.switch_over_month
        and (
            last_enrolment.actual_end_date is null
            or last_enrolment.actual_end_date >= mission_locales.switch_over_month
        ),
        false
    ) as crosses_switch_over,
    aggregated.delivered_by_both_systems,
    case
        when aggregated.delivered_by_both_systems then 'parcours3+imilo'
        when aggregated.first_system != aggregated.last_system then 'parcours3+imilo'
        else aggregated.first_system
    end as source_systems,
    parent.spell_id as parent_spell_id
from aggregated
inner join enrolments as first_enrolment
    on
        aggregated.spell_id = first_enrolment.spell_id
        and first_enrolment.position_in_spell = 1
inner join enrolments as last_enrolment
    on
        aggregated.spell_id = last_enrolment.spell_id
        and last_enrolment.position_in_spell = last_enrolment.enrolments_in_spell
-- the enclosing enrolment: a Garantie jeunes phase's PACEA
left join enrolments as parent
    on first_enrolment.parent_enrolment_key = parent.enrolment_key
left join mission_locales
    on first_enrolment.mission_locale_code = mission_locales.mission_locale_code
