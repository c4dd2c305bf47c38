-- Geography dimension: each département with its 2015 and 2016 regions (the 1 January 2016 reform).
select
    code_departement as departement_code,
    nom_departement as departement_name,
    code_region_2015 as region_2015_code,
    nom_region_2015 as region_2015_name,
    code_region_2016 as region_2016_code,
    nom_region_2016 as region_2016_name
from {{ ref('ref_departements') }}
