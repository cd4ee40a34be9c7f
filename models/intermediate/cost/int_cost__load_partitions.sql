{#-
    Which loads each delivered partition (export × billing period) of the cost sources holds.
    fct_cost_line_items compares this with the loads it already holds to find the partitions a
    new or restated delivery touched.
-#}
{%- set sources = cost_staging_models() -%}
with

{% for model in sources %}
    {{ model }} as (

        select
            export_name,
            charge_billing_period,
            load_id
        from {{ ref(model) }}

    ),

{% endfor %}
aws_ce_bill_loads as (

    -- a Cost Explorer partition also changes when a bill load of its month may supersede it
    select * from {{ ref('int_aws_ce__bill_loads') }}

),

final as (

    {% for model in sources %}
        select distinct
            export_name,
            charge_billing_period,
            load_id
        from {{ model }}
        union
    {% endfor %}
    select
        export_name,
        charge_billing_period,
        load_id
    from aws_ce_bill_loads

)

select * from final
