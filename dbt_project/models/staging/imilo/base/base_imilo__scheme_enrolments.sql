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
    {{ flag_to_boolean('renouvellement') }} as is_renewal,
    {{ delivery_columns() }}
from {{ source('raw', 'imilo__scheme_enrolments') }}
