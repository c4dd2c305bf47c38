-- Every delivered line of the Parcours 3 scheme enrolments file: an enrolment is delivered again each month
-- it changes (its actual end, its exit reason); the harmonised layer keeps the latest.
with source as (
    select * from {{ source('raw', 'parcours3__scheme_enrolments') }}
),

renamed as (
    select
        num_inscription as enrolment_id,
        num_dossier_pseudo as person_id,
        code_ml as mission_locale_code,
        code_dispositif as scheme_code,
        -- schemes inside schemes (a Garantie jeunes phase of a PACEA) began in 2017, in I-Milo
        cast(null as {{ dbt.type_string() }}) as parent_enrolment_id,
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
