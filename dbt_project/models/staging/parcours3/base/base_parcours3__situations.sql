select
    num_situation as situation_id,
    num_dossier_pseudo as person_id,
    code_ml as mission_locale_code,
    code_situation as category_code,
    type_contrat as subtype_code,
    -- Parcours 3 has no state column: the state follows from the dates in the harmonised layer.
    cast(null as varchar) as state_code,
    date_debut as start_date,
    date_fin as end_date,
    {{ delivery_columns() }}
from {{ source('raw', 'parcours3__situations') }}
