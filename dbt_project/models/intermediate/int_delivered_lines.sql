-- Every delivered line of the eight staging views as (system, entity, record key, delivery month): what the
-- reconciliation counts. A view: the reconciliation scans it three times, and a table would copy every raw
-- line once more.
{{ config(materialized='view') }}
select
    'parcours3' as source_system,
    'young_people' as entity,
    -- each monthly version of a dossier is a record of its own
    {{ dbt.concat(['person_id', "'|'", 'cast(delivery_month as ' ~ dbt.type_string() ~ ')']) }}
        as record_key,
    delivery_month
from {{ ref('stg_parcours3__young_people') }}
union all
select
    'imilo' as source_system,
    'young_people' as entity,
    {{ dbt.concat(['person_id', "'|'", 'cast(delivery_month as ' ~ dbt.type_string() ~ ')']) }}
        as record_key,
    delivery_month
from {{ ref('stg_imilo__young_people') }}
union all
select
    'parcours3' as source_system,
    'events' as entity,
    event_id as record_key,
    delivery_month
from {{ ref('stg_parcours3__events') }}
union all
select
    'imilo' as source_system,
    'events' as entity,
    event_id as record_key,
    delivery_month
from {{ ref('stg_imilo__events') }}
union all
select
    'parcours3' as source_system,
    'scheme_enrolments' as entity,
    enrolment_id as record_key,
    delivery_month
from {{ ref('stg_parcours3__scheme_enrolments') }}
union all
select
    'imilo' as source_system,
    'scheme_enrolments' as entity,
    enrolment_id as record_key,
    delivery_month
from {{ ref('stg_imilo__scheme_enrolments') }}
union all
select
    'parcours3' as source_system,
    'situations' as entity,
    situation_id as record_key,
    delivery_month
from {{ ref('stg_parcours3__situations') }}
union all
select
    'imilo' as source_system,
    'situations' as entity,
    situation_id as record_key,
    delivery_month
from {{ ref('stg_imilo__situations') }}
