{#- The lines of the raw records delivered more than once (a duplicate line, or a version in a later
    month), per record and delivery month: what the reconciliation needs to split a month's lines into
    kept, duplicate and superseded ones. Finding them groups every raw line by record (35 s at national
    scale): a monthly run re-examines only the records of its deliveries (int_records_touched), deleting
    their rows and recomputing them from all their lines. -#}
{{ config(**delete_then_append_config("{{ delete_touched_records() }}")) }}
-- depends_on: {{ ref('int_records_touched') }}
{{ repeated_record_months(touched=ref('int_records_touched') if is_incremental() and run_window() else none) }}
