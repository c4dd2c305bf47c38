{#- One row per continuous spell in a scheme: an entry and the renewals that extend it. A spell begun in
    Parcours 3 and ended in I-Milo is one spell. From 2017 a Garantie jeunes spell is a phase inside a
    PACEA: `parent_spell_id` names that PACEA spell. -#}
with enrolments as (
    select * from {{ ref('scheme_enrolments') }}
),

sequenced as (
    select
        enrolments.*,
        -- a renewal continues the spell before it; anything else opens a new one
        sum(case when enrolments.is_renewal then 0 else 1 end) over (
            partition by enrolments.person_key, enrolments.scheme
            order by enrolments.entry_date, enrolments.is_renewal, enrolments.enrolment_key
            rows between unbounded preceding and current row
        ) as spell_number
    from enrolments
),

ordered as (
    select
        sequenced.*,
        row_number() over (
            partition by sequenced.person_key, sequenced.scheme, sequenced.spell_number
            order by sequenced.entry_date, sequenced.is_renewal, sequenced.enrolment_key
        ) as position_in_spell,
        count(*) over (
            partition by sequenced.person_key, sequenced.scheme, sequenced.spell_number
        ) as enrolments_in_spell
    from sequenced
),

spell_ids as (
    select
        person_key,
        scheme,
        spell_number,
        enrolment_key as spell_id
    from ordered
    where position_in_spell = 1
),

enrolment_spells as (
    select
        ordered.enrolment_key,
        spell_ids.spell_id
    from ordered
    inner join spell_ids
        on ordered.person_key = spell_ids.person_key
            and ordered.scheme = spell_ids.scheme
            and ordered.spell_number = spell_ids.spell_number
),

aggregated as (
    select
        person_key,
        scheme,
        spell_number,
        min(entry_date) as entry_date,
        count(*) - 1 as renewals,
        max(case when delivered_by_both_systems then 1 else 0 end) = 1 as crosses_switch_over,
        min(latest_source_system) as first_system,
        max(latest_source_system) as last_system
    from ordered
    group by person_key, scheme, spell_number
)

select
    first_enrolment.enrolment_key as spell_id,
    aggregated.person_key,
    aggregated.scheme,
    first_enrolment.scheme_variant,
    first_enrolment.mission_locale_code,
    aggregated.entry_date,
    cast({{ month_of('aggregated.entry_date') }} as date) as entry_month,
    first_enrolment.is_renewal as starts_with_renewal,
    aggregated.renewals,
    last_enrolment.planned_end_date,
    last_enrolment.actual_end_date as end_date,
    last_enrolment.exit_reason,
    coalesce(last_enrolment.is_early_exit, false) as is_early_exit,
    aggregated.crosses_switch_over,
    case
        when aggregated.crosses_switch_over then 'parcours3+imilo'
        when aggregated.first_system <> aggregated.last_system then 'parcours3+imilo'
        else aggregated.first_system
    end as source_systems,
    parent.spell_id as parent_spell_id
from aggregated
inner join ordered as first_enrolment
    on aggregated.person_key = first_enrolment.person_key
        and aggregated.scheme = first_enrolment.scheme
        and aggregated.spell_number = first_enrolment.spell_number
        and first_enrolment.position_in_spell = 1
inner join ordered as last_enrolment
    on aggregated.person_key = last_enrolment.person_key
        and aggregated.scheme = last_enrolment.scheme
        and aggregated.spell_number = last_enrolment.spell_number
        and last_enrolment.position_in_spell = last_enrolment.enrolments_in_spell
left join enrolment_spells as parent
    on first_enrolment.parent_enrolment_key = parent.enrolment_key
