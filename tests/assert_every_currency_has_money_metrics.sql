{#- MetricFlow's money metrics exist once per currency (models/marts/_semantic_layer.yml:
    total_cost_usd, total_cost_eur, ...). A billing currency in the marts without its own
    metrics would be silently missing from every `mf query`: warn, naming the currency and
    what to copy. The marts and the report are unaffected. -#}
{{ config(severity='warn') }}
{%- set covered = [] -%}
{%- if execute -%}
    {#- per-currency metrics only: total_cost_usd, not total_cost_reporting #}
    {%- for metric in graph.metrics.values()
        if metric.name.startswith('total_cost_') and metric.name[11:] | length == 3 -%}
        {%- do covered.append(metric.name[11:] | upper) -%}
    {%- endfor -%}
    {%- set marts = load_relation(ref('fct_product_economics_monthly')) -%}
    {%- if marts is not none -%}
        {%- set found = run_query(
            "select distinct billing_currency from " ~ marts ~ " order by 1") -%}
        {%- set missing = found.columns[0].values() | reject('in', covered) | list -%}
        {%- if missing -%}
            {%- do exceptions.warn(
                "billing currency " ~ missing | join(", ") ~ " has no MetricFlow money metrics"
                ~ " (only " ~ covered | join(", ") ~ "), so `mf query` leaves it out: copy the"
                ~ " EUR block of models/marts/_semantic_layer.yml and replace its code"
            ) -%}
        {%- endif -%}
    {%- endif -%}
{%- endif %}
{%- set covered_list = ("'" ~ covered | join("', '") ~ "'") if covered else "''" %}
with

currencies as (

    select distinct billing_currency
    from {{ ref('fct_product_economics_monthly') }}

),

final as (

    -- one row per currency that mf would leave out (the warning above names them)
    select billing_currency
    from currencies
    where billing_currency not in ({{ covered_list }})

)

select * from final
