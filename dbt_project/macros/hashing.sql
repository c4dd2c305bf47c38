{#- A 64-bit hash of an expression, for pre-filtering the rows of a long string key before comparing the
    keys themselves: grouping 180 million event keys by their hash is cheaper than by the strings (an
    integer per row instead of a string). Only a prefilter: equal keys have equal hashes, and whatever it
    keeps is checked on the keys. Engine-specific, hence dispatched; an engine without one uses the
    expression itself (the same result, without the saving). -#}
{% macro key_hash(expression) -%}
    {{ return(adapter.dispatch('key_hash', 'milo')(expression)) }}
{%- endmacro %}

{% macro default__key_hash(expression) -%}
    {{ expression }}
{%- endmacro %}

{% macro duckdb__key_hash(expression) -%}
    hash({{ expression }})
{%- endmacro %}

{% macro spark__key_hash(expression) -%}
    xxhash64({{ expression }})
{%- endmacro %}
