{#-
    The allocation fact: one row per (source, period, target). A source is a line group (the
    direct or untagged bill lines of one day and currency with one target; its lines are in
    int_allocation__lines) or a pool group (pool × day or month × currency). Every source lies
    within one bill: billing_period (the invoice month) and billing_account_id are those of its
    bill lines, whatever their usage dates, so the allocation ties to each invoice
    (tests/assert_allocation_ties_to_invoices.sql) as well as to each usage day and month.
    Every row carries the rule, method, driver, shares and both source and allocated cost, so
    any number in a mart traces back to bill lines and a readable rule. Per source the shares sum to 1 and the
    allocated amounts sum back to the source exactly (FOCUS 1.3 split-allocation contract).
    Unallocated money is a row with a reason: untagged, no_driver, unattributed_queries,
    unattributed_workloads, idle_capacity, unused_commitment (no product: is_unallocated), or
    no_customer (the product's cost that no customer driver reached: the product keeps it).
    The allocated_* columns are the FOCUS 1.3 split cost allocation columns (AllocatedMethodId,
    AllocatedMethodDetails, AllocatedResourceId, AllocatedResourceName, AllocatedTags) for the
    row as an allocated charge of its source, the origin charge: `ingest export-focus` writes
    them into a FOCUS dataset as they are (docs/allocation.md, "FOCUS 1.3 allocation ledger").
-#}
with

allocated as (

    select * from {{ ref('int_allocation__customers') }}

),

allocation_rows as (

    select
        source_key
        || ':' || coalesce(product, '-')
        || ':' || coalesce(customer_id, '-')
        || ':' || coalesce(unallocated_reason, '-') as allocation_key,
        source_kind,
        source_key,
        period_grain,
        period_start,
        {{ month_start('period_start') }} as cost_month,
        billing_period,
        billing_account_id,
        billing_currency,
        rule_id,
        method,
        share_basis,
        driver_name,
        driver_quantity,
        customer_driver_name,
        service_path,
        cast(product_share as double) as product_share,
        cast(customer_share as double) as customer_share,
        cast(product_share * customer_share as double) as share,
        cast(source_effective_cost as decimal(38, 12)) as source_effective_cost,
        cast(source_billed_cost as decimal(38, 12)) as source_billed_cost,
        cast(allocated_effective_cost as decimal(38, 12)) as allocated_effective_cost,
        cast(allocated_billed_cost as decimal(38, 12)) as allocated_billed_cost,
        product,
        customer_id,
        team,
        feature_id,
        environment,
        service_code,
        component,
        unallocated_reason,
        coalesce(unallocated_reason <> 'no_customer', false) as is_unallocated
    from allocated

),

final as (

    select
        *,
        rule_id as allocated_method_id,
        -- one element whose ratio is the whole share (FOCUS sums a row's elements); the
        -- customer level rides along in x_ keys. A quantity is a double: 6 decimals keep its
        -- float noise (4511029535.9999998) out of the text.
        concat('{"Elements":[', {{ json_object([
            ('AllocatedRatio', 'share', 'number'),
            ('UsageUnit', 'driver_name', 'string'),
            ('UsageQuantity', 'driver_quantity', 'number', 6),
            ('x_Method', 'method', 'string'),
            ('x_ShareBasis', 'share_basis', 'string'),
            ('x_ProductShare', 'product_share', 'number'),
            ('x_CustomerShare', 'customer_share', 'number'),
            ('x_CustomerDriverName', 'customer_driver_name', 'string'),
            ('x_ServicePath', 'service_path', 'string'),
        ]) }}, ']}') as allocated_method_details,
        case
            when product is null then concat('unallocated/', coalesce(unallocated_reason, '-'))
            when customer_id is not null
                then concat('product/', product, '/customer/', customer_id)
            when unallocated_reason is not null
                then concat('product/', product, '/', unallocated_reason)
            else concat('product/', product)
        end as allocated_resource_id,
        case
            when product is null
                then concat('Unallocated (', coalesce(unallocated_reason, '-'), ')')
            when customer_id is not null then concat(product, ' / ', customer_id)
            when unallocated_reason is not null
                then concat(product, ' (', unallocated_reason, ')')
            else product
        end as allocated_resource_name,
        -- the model's own tag scheme: FOCUS wants data-generator tag keys prefixed
        {{ json_object([
            ('cost-to-serve/product', 'product', 'string'),
            ('cost-to-serve/customer_id', 'customer_id', 'string'),
            ('cost-to-serve/team', 'team', 'string'),
            ('cost-to-serve/feature_id', 'feature_id', 'string'),
            ('cost-to-serve/environment', 'environment', 'string'),
        ]) }} as allocated_tags
    from allocation_rows

)

select * from final
