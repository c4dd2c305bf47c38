-- One row per Garantie jeunes entry: a first entry or a renewal, as the POEM series count "entrées". Each row
-- also carries the continuous spell it belongs to (entry plus renewals), the person's profile at entry, the
-- support received during the entry and the situation 3, 6, 12 and 18 months after it.
with observation as (
    select observed_until from {{ ref('observation_window') }}
),

entries as (
    select
        enrolments.*,
        cast({{ dbt.date_trunc('month', 'enrolments.entry_date') }} as date) as entry_month
    from {{ ref('int_enrolments_sequenced') }} as enrolments
    where enrolments.scheme = 'GJ'
),

spells as (
    select * from {{ ref('scheme_spells') }}
    where scheme = 'GJ'
),

mission_locales as (
    select * from {{ ref('mission_locales') }}
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

-- the events that took place during the entry, up to the observation end while it is open
support as (
    select
        entries.enrolment_key,
        sum(case when events.event_type = 'individual_interview' then 1 else 0 end) as individual_interviews,
        sum(case when events.event_type = 'workshop' then 1 else 0 end) as workshops,
        sum(case when events.event_type = 'collective_information' then 1 else 0 end)
            as collective_information_sessions,
        sum(case when events.event_type = 'remote_contact' then 1 else 0 end) as remote_contacts
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

-- the follow-up dates of each entry: 3, 6, 12 and 18 months after it
horizons as (
    select 3 as months_after_entry
    union all
    select 6 as months_after_entry
    union all
    select 12 as months_after_entry
    union all
    select 18 as months_after_entry
),

entries_on_horizon as (
    select
        entries.enrolment_key,
        entries.person_key,
        horizons.months_after_entry,
        {{ dbt.dateadd('month', 'horizons.months_after_entry', 'entries.entry_date') }} as horizon_date
    from entries
    cross join horizons
),

-- the situations in force (not planned) on each follow-up date, one row per entry and horizon, ranked
-- from the best: durable job, other job, training, other
situations_on_horizon as (
    select
        entries.enrolment_key,
        entries.months_after_entry,
        min(
            case
                when situations.outcome_group = 'employment' and situations.is_durable_employment_contract then 1
                when situations.outcome_group = 'employment' then 2
                when situations.outcome_group = 'training' then 3
                when situations.outcome_group = 'other' then 4
                else 5
            end
        ) as outcome_rank
    from entries_on_horizon as entries
    inner join {{ ref('situations') }} as situations
        on
            entries.person_key = situations.person_key
            and entries.horizon_date >= situations.start_date
            and (situations.end_date is null or entries.horizon_date <= situations.end_date)
            and situations.state != 'planned'
    group by entries.enrolment_key, entries.months_after_entry
),

outcomes as (
    select
        enrolment_key,
        min(case when months_after_entry = 3 then outcome_rank end) as outcome_rank_3m,
        min(case when months_after_entry = 6 then outcome_rank end) as outcome_rank_6m,
        min(case when months_after_entry = 12 then outcome_rank end) as outcome_rank_12m,
        min(case when months_after_entry = 18 then outcome_rank end) as outcome_rank_18m
    from situations_on_horizon
    group by enrolment_key
),

first_welcomes as (
    select
        person_key,
        first_welcome_date
    from {{ ref('persons') }}
),

joined as (
    select
        entries.*,
        observation.observed_until,
        mission_locales.departement_code,
        mission_locales.region_2016_code,
        spells.end_date as spell_end_date,
        spells.entry_date as spell_entry_date,
        spells.exit_reason as spell_exit_reason,
        spells.is_early_exit as spell_is_early_exit,
        spells.renewals as spell_renewals,
        spells.source_systems,
        spells.crosses_switch_over,
        spells.parent_spell_id,
        {{ age_years('profile.birth_month', 'entries.entry_date') }} as age_years,
        profile.sex,
        profile.education_class,
        profile.lives_in_qpv,
        profile.lives_in_zus,
        profile.lives_in_zrr,
        first_welcomes.first_welcome_date,
        outcomes.outcome_rank_3m,
        outcomes.outcome_rank_6m,
        outcomes.outcome_rank_12m,
        outcomes.outcome_rank_18m,
        support.individual_interviews,
        support.workshops,
        support.collective_information_sessions,
        support.remote_contacts
    from entries
    cross join observation
    inner join spells
        on entries.spell_id = spells.spell_id
    left join mission_locales
        on entries.mission_locale_code = mission_locales.mission_locale_code
    left join profile
        on entries.enrolment_key = profile.enrolment_key
    left join first_welcomes
        on entries.person_key = first_welcomes.person_key
    left join support
        on entries.enrolment_key = support.enrolment_key
    left join outcomes
        on entries.enrolment_key = outcomes.enrolment_key
)

select
    enrolment_key as spell_id,
    spell_id as continuous_spell_id,
    person_key as person_id,
    mission_locale_code,
    departement_code,
    region_2016_code,
    entry_date,
    entry_month,
    is_renewal,
    position_in_spell - 1 as renewal_number,
    planned_end_date,
    actual_end_date as end_date,
    case when actual_end_date is not null then {{ duration_months('entry_date', 'actual_end_date') }} end
        as duration_months,
    exit_reason,
    coalesce(is_early_exit, false) as is_early_exit,
    spell_end_date,
    case when spell_end_date is not null then {{ duration_months('spell_entry_date', 'spell_end_date') }} end
        as spell_duration_months,
    spell_exit_reason,
    spell_is_early_exit,
    spell_renewals,
    source_systems,
    crosses_switch_over,
    parent_spell_id is not null as inside_pacea,
    age_years,
    -- the age bands of the DARES tables
    case
        when age_years < 18 then 'under_18'
        when age_years <= 21 then '18_21'
        when age_years <= 25 then '22_25'
        else '26_plus'
    end as age_band,
    sex,
    education_class,
    lives_in_qpv,
    lives_in_zus,
    lives_in_zrr,
    first_welcome_date < entry_month as already_known,
    {{ months_elapsed('first_welcome_date', 'entry_date') }} as months_since_first_welcome,
    -- a horizon past the observation end is not observed yet: null, not 'none'
    case
        when {{ dbt.dateadd('month', 3, 'entry_date') }} >= observed_until then null
        when outcome_rank_3m = 1 then 'durable_employment'
        when outcome_rank_3m = 2 then 'other_employment'
        when outcome_rank_3m = 3 then 'training'
        when outcome_rank_3m = 4 then 'other'
        else 'none'
    end as situation_3m,
    case
        when {{ dbt.dateadd('month', 6, 'entry_date') }} >= observed_until then null
        when outcome_rank_6m = 1 then 'durable_employment'
        when outcome_rank_6m = 2 then 'other_employment'
        when outcome_rank_6m = 3 then 'training'
        when outcome_rank_6m = 4 then 'other'
        else 'none'
    end as situation_6m,
    case
        when {{ dbt.dateadd('month', 12, 'entry_date') }} >= observed_until then null
        when outcome_rank_12m = 1 then 'durable_employment'
        when outcome_rank_12m = 2 then 'other_employment'
        when outcome_rank_12m = 3 then 'training'
        when outcome_rank_12m = 4 then 'other'
        else 'none'
    end as situation_12m,
    case
        when {{ dbt.dateadd('month', 18, 'entry_date') }} >= observed_until then null
        when outcome_rank_18m = 1 then 'durable_employment'
        when outcome_rank_18m = 2 then 'other_employment'
        when outcome_rank_18m = 3 then 'training'
        when outcome_rank_18m = 4 then 'other'
        else 'none'
    end as situation_18m,
    coalesce(individual_interviews, 0) as individual_interviews,
    coalesce(workshops, 0) as workshops,
    coalesce(collective_information_sessions, 0) as collective_information_sessions,
    coalesce(remote_contacts, 0) as remote_contacts
from joined
