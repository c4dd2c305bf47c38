{#- A 64-bit hash of an expression, to pre-filter the rows of a long string key before comparing the keys
    themselves (test unique_by_hash): grouping 180 million event keys by an integer is cheaper than by the
    strings. Equal keys have equal hashes, so it only narrows what is then checked on the keys; an engine
    without such a function uses the expression itself (same result, no saving). -#}
{% macro key_hash(expression) -%}
    {{ return(adapter.dispatch('key_hash', 'milo')(expression)) }}
{%- endmacro %}

{% macro default__key_hash(expression) -%}
    {{ expression }}
{%- endmacro %}

{% macro duckdb__key_hash(expression) -%}
    hash({{ expression }})
{%- endmacro %}
