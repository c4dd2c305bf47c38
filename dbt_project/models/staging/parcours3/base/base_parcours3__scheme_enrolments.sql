select
    num_inscription as enrolment_id,
    num_dossier_pseudo as person_id,
    code_ml as mission_locale_code,
    code_dispositif as scheme_code,
    cast(null as varchar) as parent_enrolment_id,
    date_entree as entry_date,
    date_fin_prevue as planned_end_date,
    date_fin_reelle as actual_end_date,
    motif_sortie as exit_reason_code,
    {{ flag_to_boolean('renouvellement') }} as is_renewal,
    {{ delivery_columns() }}
from {{ source('raw', 'parcours3__scheme_enrolments') }}
