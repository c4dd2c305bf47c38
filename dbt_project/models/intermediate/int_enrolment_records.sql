-- Every delivered enrolment record of both systems (its latest version), decoded, ranked within its
-- enrolment. An enrolment open at the 2015 switch-over is delivered by both systems (the I-Milo record keeps
-- the entry date): the two records are one enrolment (same person, scheme, entry date and renewal flag),
-- keyed by the Parcours 3 record, in its latest state. scheme_enrolments keeps state_rank = 1; the
-- reconciliation counts the rest. A table: scheme_enrolments, the reconciliation and tests read it.
with parcours3 as (
    {{ latest_version(ref('stg_parcours3__scheme_enrolments'), ['enrolment_id']) }}
),

imilo as (
    {{ latest_version(ref('stg_imilo__scheme_enrolments'), ['enrolment_id']) }}
),

enrolments as (
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

schemes as (
    select * from {{ ref('map_schemes') }}
),

exit_reasons as (
    select * from {{ ref('map_exit_reasons') }}
),

decoded as (
    select
        {{ dbt.concat(['enrolments.source_system', "':'", 'enrolments.enrolment_id']) }} as enrolment_key,
        coalesce(person_keys.person_key, enrolments.person_id) as person_key,
        enrolments.source_system,
        enrolments.mission_locale_code,
        coalesce(schemes.scheme, 'unknown') as scheme,
        schemes.scheme_variant,
        enrolments.entry_date,
        enrolments.planned_end_date,
        enrolments.actual_end_date,
        case when enrolments.exit_reason_code is not null then coalesce(exit_reasons.exit_reason, 'unknown') end
            as exit_reason,
        exit_reasons.is_early_exit,
        enrolments.is_renewal,
        case
            when enrolments.parent_enrolment_id is not null
                then {{ dbt.concat(['enrolments.source_system', "':'", 'enrolments.parent_enrolment_id']) }}
        end as parent_enrolment_key,
        enrolments.delivery_month
    from enrolments
    left join person_keys
        on
            enrolments.source_system = person_keys.source_system
            and enrolments.person_id = person_keys.source_person_id
    left join schemes
        on
            enrolments.source_system = schemes.source_system
            and enrolments.scheme_code = schemes.source_code
    left join exit_reasons
        on
            enrolments.source_system = exit_reasons.source_system
            and enrolments.exit_reason_code = exit_reasons.source_code
)

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
