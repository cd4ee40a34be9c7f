{#- With a reporting currency (var reporting_currency), every month and currency of the marts'
    money needs a rate in exchange_rates.csv: a missing one fails `dbt build` naming the
    currency, the month and the file to edit, and the unit-economics marts are skipped instead
    of built with an unconverted row. -#}
{{ config(severity='error') }}
{%- set rates = load_relation(ref('int_unit_economics__reporting_rates')) if execute else none -%}
{%- if rates is not none -%}
    {%- set found = run_query(
        "select from_currency, to_currency, cast(rate_month as " ~ dbt.type_string() ~ ")"
        ~ " from " ~ rates ~ " where rate is null order by rate_month, from_currency"
    ) -%}
    {%- if found.rows | length > 0 -%}
        {%- set lines = [] -%}
        {%- for row in found.rows -%}
            {%- do lines.append(
                "no exchange rate " ~ row[0] ~ " → " ~ row[1] ~ " for month " ~ row[2]
                ~ ": add the row `" ~ row[2] ~ "," ~ row[0] ~ "," ~ row[1]
                ~ ",<rate>,<description>` to " ~ rules_file('exchange_rates')
            ) -%}
        {%- endfor -%}
        {{ exceptions.raise_compiler_error(
            found.rows | length ~ " exchange rate(s) missing for reporting currency "
            ~ found.rows[0][1] ~ "; no mart was converted:\n  " ~ lines | join("\n  ")
        ) }}
    {%- endif -%}
{%- endif %}
select * from {{ ref('int_unit_economics__reporting_rates') }}
where rate is null
