{#- One row per Garantie jeunes entry: a first entry or a renewal, as the POEM series count "entrées".
    Each row also carries the continuous spell it belongs to (entry plus renewals), the person's profile at
    entry, the support received during the entry and the situation 3, 6, 12 and 18 months after it.
    A monthly run rebuilds the entries of the people listed in int_gj_people_rebuilt (touched by the run, or
    with an entry not yet final); no other entry can have changed. -#}
{{ config(**person_scope_config(events_too=true, people='int_gj_people_rebuilt', person_column='person_id')) }}
with observation as (
    select observed_until from {{ ref('observation_window') }}
),

entries as (
    select
        enrolments.*,
        cast({{ month_of('enrolments.entry_date') }} as date) as entry_month
    from {{ ref('int_enrolments_sequenced') }} as enrolments
    where
        enrolments.scheme = 'GJ'
        and {{ in_person_scope('enrolments.person_key', events_too=true, people='int_gj_people_rebuilt') }}
),

spells as (
    select * from {{ ref('scheme_spells') }}
    where scheme = 'GJ'
),

-- the person's characteristics as of the entry month: the version in force then, else the first one
profile_candidates as (
    select
        entries.enrolment_key,
        history.*,
        row_number() over (
            partition by entries.enrolment_key
            order by
                case when history.valid_from_month <= entries.entry_month then 0 else 1 end,
                case when history.valid_from_month <= entries.entry_month then history.valid_from_month end desc,
                history.valid_from_month
        ) as version_rank
    from entries
    inner join {{ ref('person_history') }} as history
        on entries.person_key = history.person_key
),

profile as (
    select * from profile_candidates
    where version_rank = 1
),

support as (
    select
        entries.enrolment_key,
        {{ events_by_type('events') }}
    from entries
    cross join observation
    inner join {{ ref('events') }} as events
        on
            entries.person_key = events.person_key
            and entries.entry_date <= events.event_date
            and events.event_date < coalesce(entries.actual_end_date, observation.observed_until)
            and events.took_place
    group by entries.enrolment_key
),

{%- set horizons = gj_follow_up_horizons() %}
{%- for h in horizons %}

    situation_{{ h }}m as (
        select
            entries.enrolment_key,
            -- the best situation in force on the horizon date: durable job, other job, training, other
            min(
                case
                    when situations.outcome_group = 'employment' and situations.is_durable_employment_contract then 1
                    when situations.outcome_group = 'employment' then 2
                    when situations.outcome_group = 'training' then 3
                    when situations.outcome_group = 'other' then 4
                    else 5
                end
            ) as outcome_rank
        from entries
        inner join {{ ref('situations') }} as situations
            on
                entries.person_key = situations.person_key
                and situations.start_date <= {{ dbt.dateadd('month', h, 'entries.entry_date') }}
                and (
                    situations.end_date is null
                    or situations.end_date >= {{ dbt.dateadd('month', h, 'entries.entry_date') }}
                )
                and situations.state != 'planned'
        group by entries.enrolment_key
    ),
{%- endfor %}

first_welcomes as (
    select
        person_key,
        first_welcome_date
    from {{ ref('persons') }}
)

select
    entries.enrolment_key as spell_id,
    entries.spell_id as continuous_spell_id,
    entries.person_key as person_id,
    entries.mission_locale_code,
    mission_locales.departement_code,
    mission_locales.region_2016_code,
    entries.entry_date,
    entries.entry_month,
    entries.is_renewal,
    entries.position_in_spell - 1 as renewal_number,
    entries.planned_end_date,
    entries.actual_end_date as end_date,
    case
        when entries.actual_end_date is not null
            then {{ duration_months('entries.entry_date', 'entries.actual_end_date') }}
    end as duration_months,
    entries.exit_reason,
    coalesce(entries.is_early_exit, false) as is_early_exit,
    spells.end_date as spell_end_date,
    case
        when spells.end_date is not null then {{ duration_months('spells.entry_date', 'spells.end_date') }}
    end as spell_duration_months,
    spells.exit_reason as spell_exit_reason,
    spells.is_early_exit as spell_is_early_exit,
    spells.renewals as spell_renewals,
    spells.source_systems,
    spells.crosses_switch_over,
    spells.parent_spell_id is not null as inside_pacea,
    {{ age_years('profile.birth_month', 'entries.entry_date') }} as age_years,
    {{ age_band(age_years('profile.birth_month', 'entries.entry_date')) }} as age_band,
    profile.sex,
    profile.education_class,
    profile.lives_in_qpv,
    profile.lives_in_zus,
    profile.lives_in_zrr,
    first_welcomes.first_welcome_date < entries.entry_month as already_known,
    {{ months_elapsed('first_welcomes.first_welcome_date', 'entries.entry_date') }} as months_since_first_welcome,
    {%- for h in horizons %}
        case
            when {{ dbt.dateadd('month', h, 'entries.entry_date') }} >= observation.observed_until then null
            when situation_{{ h }}m.outcome_rank = 1 then 'durable_employment'
            when situation_{{ h }}m.outcome_rank = 2 then 'other_employment'
            when situation_{{ h }}m.outcome_rank = 3 then 'training'
            when situation_{{ h }}m.outcome_rank = 4 then 'other'
            else 'none'
        end as situation_{{ h }}m,
    {%- endfor %}
    {{ each_event_count('coalesce(support.{c}, 0) as {c}') }}
from entries
cross join observation
inner join spells
    on entries.spell_id = spells.spell_id
left join {{ ref('mission_locales') }} as mission_locales
    on entries.mission_locale_code = mission_locales.mission_locale_code
left join profile
    on entries.enrolment_key = profile.enrolment_key
left join first_welcomes
    on entries.person_key = first_welcomes.person_key
left join support
    on entries.enrolment_key = support.enrolment_key
{%- for h in horizons %}
    left join situation_{{ h }}m
        on entries.enrolment_key = situation_{{ h }}m.enrolment_key
{%- endfor %}
