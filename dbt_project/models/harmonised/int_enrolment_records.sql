{{ config(**person_scope_config()) }}
{#- A table, not a view: scheme_enrolments, the reconciliation and two tests read it,
    and a view would rank every record again for each of them. -#}
{#- Every delivered enrolment record of both systems, decoded, ranked within its enrolment. An enrolment
    open at the 2015 switch-over is delivered by both systems (the I-Milo record keeps the entry date): the
    two records are one enrolment (same person, scheme, entry date and renewal flag), keyed by the Parcours 3
    record, in the latest state. scheme_enrolments keeps state_rank = 1; the reconciliation counts the rest. -#}
with enrolments as (
    {{ both_systems('scheme_enrolments', records='touched_people') }}
),

decoded as (
    select
        {{ system_key('enrolments.source_system', 'enrolments.enrolment_id') }} as enrolment_key,
        {{ person_key('keys', 'enrolments.person_id') }} as person_key,
        enrolments.source_system,
        enrolments.mission_locale_code,
        {{ mapped('scheme_map', 'scheme') }} as scheme,
        scheme_map.scheme_variant,
        enrolments.entry_date,
        enrolments.planned_end_date,
        enrolments.actual_end_date,
        case when enrolments.exit_reason_code is not null then {{ mapped('exit_map', 'exit_reason') }} end
            as exit_reason,
        exit_map.is_early_exit,
        enrolments.is_renewal,
        case
            when enrolments.parent_enrolment_id is not null
                then {{ system_key('enrolments.source_system', 'enrolments.parent_enrolment_id') }}
        end as parent_enrolment_key,
        enrolments.delivery_month
    from enrolments
    {{ join_person_key('keys', 'enrolments.source_system', 'enrolments.person_id') }}
    {{ join_mapping('map_schemes', 'scheme_map', 'enrolments.source_system', 'enrolments.scheme_code') }}
    {{ join_mapping('map_exit_reasons', 'exit_map', 'enrolments.source_system', 'enrolments.exit_reason_code') }}
    where {{ in_person_scope(person_key('keys', 'enrolments.person_id')) }}
),

ranked as (
    select
        decoded.*,
        row_number() over (
            partition by decoded.person_key, decoded.scheme, decoded.entry_date, decoded.is_renewal
            order by decoded.delivery_month desc, case decoded.source_system when 'imilo' then 0 else 1 end
        ) as state_rank,
        first_value(decoded.enrolment_key) over (
            partition by decoded.person_key, decoded.scheme, decoded.entry_date, decoded.is_renewal
            order by case decoded.source_system when 'parcours3' then 0 else 1 end, decoded.enrolment_key
            rows between unbounded preceding and unbounded following
        ) as first_enrolment_key,
        min(decoded.source_system) over (
            partition by decoded.person_key, decoded.scheme, decoded.entry_date, decoded.is_renewal
        ) <> max(decoded.source_system) over (
            partition by decoded.person_key, decoded.scheme, decoded.entry_date, decoded.is_renewal
        ) as delivered_by_both_systems
    from decoded
)

select * from ranked
