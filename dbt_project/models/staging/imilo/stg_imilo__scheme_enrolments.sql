-- Every delivered line of the I-Milo scheme enrolments file: an enrolment is delivered again each month it
-- changes (its actual end, its exit reason); the harmonised layer keeps the latest.
with source as (
    select * from {{ source('raw', 'imilo__scheme_enrolments') }}
),

renamed as (
    select
        id_dispositif as enrolment_id,
        id_jeune_pseudo as person_id,
        code_structure as mission_locale_code,
        code_dispositif as scheme_code,
        id_dispositif_parent as parent_enrolment_id,
        date_entree as entry_date,
        date_fin_prevue as planned_end_date,
        date_fin_reelle as actual_end_date,
        motif_sortie as exit_reason_code,
        case renouvellement when 'O' then true when 'N' then false end as is_renewal,
        _delivery_month as delivery_month,
        _source_line as source_line
    from source
)

select * from renamed
