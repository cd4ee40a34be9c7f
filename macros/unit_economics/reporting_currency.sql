{#-
    The reporting currency (var reporting_currency) as a checked ISO 4217 code, or none when the
    var is unset or empty (no conversion). Anything else stops the build before a model runs.
-#}
{% macro reporting_currency() -%}
    {%- set code = var('reporting_currency', none) -%}
    {%- if code is none or (code | string | trim) == '' -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set code = code | string | trim | upper -%}
    {%- if not modules.re.match('^[A-Z]{3}$', code) -%}
        {{ exceptions.raise_compiler_error(
            "var reporting_currency = '" ~ var('reporting_currency')
            ~ "' is not a three-letter ISO 4217 code: pass e.g. --vars '{reporting_currency: USD}'"
            ~ " or leave it null for no conversion (dbt_project.yml)"
        ) }}
    {%- endif -%}
    {{- return(code) -}}
{%- endmacro %}

{#-
    A native amount in the reporting currency, rounded to the cent (half away from zero) on
    this row: Σ of rounded rows is within half a cent per row of the rounded Σ
    (docs/unit-economics.md). decimal(30,12) × decimal(18,10) keeps every digit the rounding
    needs on DuckDB and Spark (Spark would cut the scale of decimal(38,12) × anything). Null
    when the row has no rate (no reporting currency; a missing rate fails the build instead).
-#}
{% macro to_reporting(amount, rate) -%}
    {{ money(
        'round(cast(' ~ amount ~ ' as decimal(30, 12)) * cast(' ~ rate
        ~ ' as decimal(18, 10)), 2)'
    ) }}
{%- endmacro %}
