{#-
    Feature cost per OTel service × month × currency × feature × tenant, from spans.

    estimated_cost: Σ span estimates (int_feature_cost__span_estimates), rate-card dollars.
    calibrated_cost: the service's allocated cost (fct_feature_cost_calibration_monthly)
    split by the rows' share of the service-month's estimate, to the cent by largest
    remainder, so Σ calibrated_cost per service-month = allocated_cost exactly. When no span
    of the service-month was charged, the allocated cost stays whole on a '(no charged spans)'
    row. This mart re-expresses cost already allocated to the service's product; it adds no
    dollar: never add calibrated_cost to fct_cost_allocation or the product marts.
-#}
with

estimates as (

    select * from {{ ref('int_feature_cost__span_estimates') }}

),

calibration as (

    select * from {{ ref('fct_feature_cost_calibration_monthly') }}

),

feature_tenants as (

    select
        service_name,
        span_month as cost_month,
        currency as billing_currency,
        feature_id,
        tenant_id,
        max(taxonomy) as taxonomy,
        max(feature_product) as feature_product,
        count(*) as span_count,
        cast(sum(case when is_charged then 1 else 0 end) as bigint) as charged_span_count,
        sum(duration_ms) as duration_ms,
        cast(sum(db_query_count) as bigint) as db_query_count,
        sum(full_rate_cost) as full_rate_cost,
        sum(estimated_cost) as estimated_cost,
        false as is_uncharged_bucket
    from estimates
    group by
        service_name,
        span_month,
        currency,
        feature_id,
        tenant_id

),

{# a service-month with allocated cost and nothing charged keeps its cost on one visible row #}
uncharged_months as (

    select
        service_name,
        cost_month,
        billing_currency,
        '(no charged spans)' as feature_id,
        '(no tenant)' as tenant_id,
        cast(null as {{ dbt.type_string() }}) as taxonomy,
        cast(null as {{ dbt.type_string() }}) as feature_product,
        0 as span_count,
        0 as charged_span_count,
        cast(0 as decimal(38, 6)) as duration_ms,
        0 as db_query_count,
        cast(0 as decimal(38, 12)) as full_rate_cost,
        cast(0 as decimal(38, 12)) as estimated_cost,
        true as is_uncharged_bucket
    from calibration
    where estimated_cost = 0 and allocated_cost <> 0

),

all_rows as (

    select * from feature_tenants
    union all
    select * from uncharged_months

),

shared as (

    select
        all_rows.*,
        all_rows.service_name || ':' || cast(all_rows.cost_month as {{ dbt.type_string() }})
        || ':' || all_rows.billing_currency as calibration_key,
        all_rows.feature_id || ':' || all_rows.tenant_id as feature_tenant_key,
        calibration.allocated_cost,
        calibration.calibration_status,
        calibration.is_within_target,
        cast(case
            when calibration.estimated_cost <> 0
                then all_rows.estimated_cost / calibration.estimated_cost
            when all_rows.is_uncharged_bucket then 1
            else 0
        end as {{ type_double() }}) as calibration_share
    from all_rows
    inner join calibration
        on
            all_rows.service_name = calibration.service_name
            and all_rows.cost_month = calibration.cost_month
            and all_rows.billing_currency = calibration.billing_currency

),

split as (

    {{ largest_remainder(
        'shared', ['allocated_cost'], 'calibration_share', ['calibration_key'],
        'feature_tenant_key',
    ) }}

),

final as (

    select
        cost_month,
        billing_currency,
        service_name,
        feature_id,
        tenant_id,
        taxonomy,
        feature_product,
        span_count,
        charged_span_count,
        duration_ms,
        db_query_count,
        cast(full_rate_cost as decimal(38, 12)) as full_rate_cost,
        cast(estimated_cost as decimal(38, 12)) as estimated_cost,
        calibration_share,
        cast(allocated_allocated_cost as decimal(38, 12)) as calibrated_cost,
        calibration_status,
        is_within_target
    from split

)

select * from final
