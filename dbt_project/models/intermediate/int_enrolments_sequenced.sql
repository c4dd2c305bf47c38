-- Each enrolment with the continuous spell it belongs to: within a person and scheme, in entry order, a
-- renewal continues the spell before it and anything else opens a new one. A table: scheme_spells,
-- fct_gj_spells and tests read it.
with sequenced as (
    select
        enrolments.*,
        sum(case when enrolments.is_renewal then 0 else 1 end) over (
            partition by enrolments.person_key, enrolments.scheme
            order by enrolments.entry_date, enrolments.is_renewal, enrolments.enrolment_key
            rows between unbounded preceding and current row
        ) as spell_number
    from {{ ref('scheme_enrolments') }} as enrolments
)

select
    sequenced.*,
    row_number() over (
        partition by sequenced.person_key, sequenced.scheme, sequenced.spell_number
        order by sequenced.entry_date, sequenced.is_renewal, sequenced.enrolment_key
    ) as position_in_spell,
    count(*) over (
        partition by sequenced.person_key, sequenced.scheme, sequenced.spell_number
    ) as enrolments_in_spell,
    first_value(sequenced.enrolment_key) over (
        partition by sequenced.person_key, sequenced.scheme, sequenced.spell_number
        order by sequenced.entry_date, sequenced.is_renewal, sequenced.enrolment_key
        rows between unbounded preceding and unbounded following
    ) as spell_id
from sequenced
