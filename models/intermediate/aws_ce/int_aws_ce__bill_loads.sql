{#-
    For fct_cost_line_items' incremental runs: which CUR / FOCUS loads each Cost Explorer
    partition (export × billing period) depends on. A new bill load of the month may
    supersede CE rows already in the table, so int_cost__load_partitions lists these loads
    under the CE partition too, and the run rebuilds it.
-#}
with

ce_partitions as (

    select distinct
        export_name,
        charge_billing_period
    from {{ ref('stg_aws_ce__costs') }}

),

bill_coverage as (

    select * from {{ ref('int_aws_ce__bill_coverage') }}

),

final as (

    select distinct
        ce_partitions.export_name,
        ce_partitions.charge_billing_period,
        bill_coverage.load_id
    from ce_partitions
    inner join bill_coverage
        on ce_partitions.charge_billing_period = bill_coverage.charge_billing_period

)

select * from final
