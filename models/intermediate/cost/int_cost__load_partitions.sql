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
azure_partitions as (

    select distinct
        export_name,
        charge_billing_period
    from stg_azure__cost_details

),

azure_period_loads as (

    select distinct
        charge_billing_period,
        load_id
    from stg_azure__cost_details

),

azure_paired_loads as (

    -- an Azure partition's billed / effective split depends on the loads of the other cost
    -- basis in its period (macros/azure/azure_cost_basis.sql): a new amortized export
    -- rebuilds the actual export's partition of that month too, and the other way round
    select
        azure_partitions.export_name,
        azure_partitions.charge_billing_period,
        azure_period_loads.load_id
    from azure_partitions
    inner join azure_period_loads
        on azure_partitions.charge_billing_period = azure_period_loads.charge_billing_period

),

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
    union
    select
        export_name,
        charge_billing_period,
        load_id
    from azure_paired_loads

)

select * from final
