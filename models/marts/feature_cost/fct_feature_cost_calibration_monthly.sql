{#-
    Calibration of the span estimates against the bill, per OTel service × month × currency:
    Σ estimated cost of the service's charged spans vs the effective cost already allocated to
    its shared resources (int_feature_cost__service_allocations). variance = estimated −
    allocated; variance_pct = variance / allocated; within target when |variance_pct| ≤ var
    feature_cost_calibration_tolerance (default 5 %). scale_factor = allocated / estimated is
    what fct_feature_cost_monthly applies. A service with spans but no shared resource, or a
    month the bill does not cover, is a row with a status, never dropped.
-#}
with

estimates as (

    select * from {{ ref('int_feature_cost__span_estimates') }}

),

service_allocations as (

    select * from {{ ref('int_feature_cost__service_allocations') }}

),

shared_resources as (

    {{ feature_cost_rows('shared_resources') }}

),

estimated as (

    select
        service_name,
        span_month,
        currency,
        count(*) as span_count,
        cast(sum(case when is_charged then 1 else 0 end) as bigint) as charged_span_count,
        sum(estimated_cost) as estimated_cost
    from estimates
    group by
        service_name,
        span_month,
        currency

),

allocated as (

    select
        service_name,
        cost_month,
        billing_currency,
        sum(allocated_effective_cost) as allocated_cost
    from service_allocations
    group by
        service_name,
        cost_month,
        billing_currency

),

joined as (

    select
        coalesce(estimated.service_name, allocated.service_name) as service_name,
        coalesce(estimated.span_month, allocated.cost_month) as cost_month,
        coalesce(estimated.currency, allocated.billing_currency) as billing_currency,
        coalesce(estimated.span_count, 0) as span_count,
        coalesce(estimated.charged_span_count, 0) as charged_span_count,
        coalesce(estimated.estimated_cost, cast(0 as decimal(38, 12))) as estimated_cost,
        coalesce(allocated.allocated_cost, cast(0 as decimal(38, 12))) as allocated_cost
    from estimated
    full outer join allocated
        on
            estimated.service_name = allocated.service_name
            and estimated.span_month = allocated.cost_month
            and estimated.currency = allocated.billing_currency

),

statused as (

    select
        service_name,
        cost_month,
        billing_currency,
        span_count,
        charged_span_count,
        estimated_cost,
        allocated_cost,
        cast(estimated_cost - allocated_cost as decimal(38, 12)) as variance_cost,
        case
            when allocated_cost <> 0
                then cast((estimated_cost - allocated_cost) / allocated_cost as {{ type_double() }})
        end as variance_pct,
        case
            when estimated_cost <> 0
                then cast(allocated_cost / estimated_cost as {{ type_double() }})
        end as scale_factor,
        case
            when service_name not in (select shared_resources.service_name from shared_resources)
                then 'no_shared_resource'
            when allocated_cost = 0 then 'no_allocated_cost'
            when estimated_cost = 0 then 'no_charged_spans'
            when
                abs(estimated_cost - allocated_cost)
                <= {{ var('feature_cost_calibration_tolerance', 0.05) }} * abs(allocated_cost)
                then 'within_target'
            else 'out_of_target'
        end as calibration_status
    from joined

),

final as (

    select
        *,
        calibration_status = 'within_target' as is_within_target
    from statused

)

select * from final
