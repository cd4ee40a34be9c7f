{#-
    Each bill (provider × billing account × billing period) is counted from exactly one
    delivery: one loader and one export. The loaders refuse a second delivery of a bill (or,
    with --replace, remove the first); this proves the unified cost lines agree, whatever
    wrote the raw tables. Cost Explorer rows are exempt: they are superseded in SQL where a
    bill covers their account-day (assert_aws_ce_rows_counted_once). An Azure amortized-cost
    export is the pair of the actual one, not a second delivery (it always loads as
    <export>-amortized; macros/azure/azure_cost_basis.sql).
-#}
with

cost_lines as (

    select * from {{ ref('fct_cost_line_items') }}

),

deliveries as (

    select distinct
        {{ normalized_provider('provider') }} as provider,
        billing_account_id,
        charge_billing_period,
        case
            when source_system = 'azure' and export_name like '%amortized' then 'amortized'
            else 'bill'
        end as cost_basis,
        source_system,
        export_name
    from cost_lines
    where source_system not in ('aws_ce', 'ai')

),

final as (

    select
        provider,
        billing_account_id,
        charge_billing_period,
        cost_basis,
        count(*) as n_deliveries
    from deliveries
    group by provider, billing_account_id, charge_billing_period, cost_basis
    having count(*) > 1

)

select * from final
