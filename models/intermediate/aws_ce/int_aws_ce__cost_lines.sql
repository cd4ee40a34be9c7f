{#-
    Cost Explorer rows as bill lines of the unified cost model: the rows no CUR / FOCUS line
    supersedes (int_aws_ce__superseded_costs), with the Cost Explorer service name mapped to
    the CUR product code (seeds/common/aws_ce_service_codes.csv) so the service and component rules
    apply; an unmapped name stays as its own service_code (component other). Tags arrive as a
    map (team$platform → team=platform, team$ → no tag), so the tag rules allocate the rows
    like CUR lines. Grain: daily or monthly × the query's groups, never finer.
-#}
with

ce_costs as (

    select * from {{ ref('stg_aws_ce__costs') }}

),

superseded as (

    select * from {{ ref('int_aws_ce__superseded_costs') }}

),

service_codes as (

    select * from {{ ref('aws_ce_service_codes') }}

),

final as (

    select
        ce_costs.cost_line_key,
        ce_costs.source_line_id,
        ce_costs.provider,
        ce_costs.billing_account_id,
        ce_costs.sub_account_id,
        ce_costs.billing_period,
        ce_costs.charge_billing_period,
        ce_costs.charge_period_start,
        ce_costs.charge_period_end,
        ce_costs.line_item_type,
        ce_costs.charge_category,
        ce_costs.charge_class,
        coalesce(service_codes.service_code, ce_costs.service_name) as service_code,
        ce_costs.service_name,
        ce_costs.region,
        ce_costs.availability_zone,
        ce_costs.resource_id,
        ce_costs.usage_type,
        ce_costs.operation,
        ce_costs.charge_description,
        ce_costs.consumed_quantity,
        ce_costs.consumed_unit,
        ce_costs.billing_currency,
        ce_costs.invoice_id,
        ce_costs.commitment_discount_id,
        ce_costs.commitment_discount_status,
        ce_costs.source_tags,
        ce_costs.billed_cost,
        ce_costs.effective_cost,
        ce_costs.list_cost,
        ce_costs.export_name,
        ce_costs.load_id,
        ce_costs.source_file,
        ce_costs.source_row,
        ce_costs.loaded_at
    from ce_costs
    left join service_codes
        on ce_costs.service_name = service_codes.ce_service_name
    where not exists (
        select 1
        from superseded
        where superseded.cost_line_key = ce_costs.cost_line_key
    )

)

select * from final
