select
    id_situation as situation_id,
    id_jeune_pseudo as person_id,
    code_structure as mission_locale_code,
    categorie as category_code,
    sous_type as subtype_code,
    etat as state_code,
    date_debut as start_date,
    date_fin as end_date,
    {{ delivery_columns() }}
from {{ source('raw', 'imilo__situations') }}
