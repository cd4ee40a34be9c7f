{#-
    Every driver a pool can be split by, as (driver, driver_scope, billing_currency, grain,
    period, product, quantity):

    * usage metrics (requests, events, ...) from the usage export;
    * ClickHouse work (int_allocation__query_work_daily: finished or failed initial queries);
    * split_cost: EKS/ECS pods' split cost by product, for their parent nodes' pool;
    * opencost:<cluster>: each product's share of OpenCost's allocation of that cluster, for
      the cluster's node pool; OpenCost's idle capacity is the target `(idle)` and workloads
      without a product label `(unattributed)`, both kept as unallocated rows downstream;
    * direct_effective_cost: each product's direct spend (for cost-proportional pools).
    Tax, credits and unused commitment are never drivers.

    Money drivers (split_cost, direct_effective_cost) are per billing_currency: a pool group
    only uses the drivers of its own currency, so no driver ever adds two currencies. Usage
    quantities (and OpenCost's per-cluster split, a proportion of one cluster) carry no
    currency (null) and apply to every currency.

    driver_scope is null for the whole driver; each scope a pool declares
    (int_allocation__pool_scopes) adds the driver again restricted to it: ClickHouse work on
    matching hosts, direct cost of matching providers / accounts / services. A row matching
    several terms of one scope counts once.
    Each driver is given at day and at month grain.
-#}
with

usage_metrics as (

    select * from {{ ref('stg_usage__metrics') }}

),

query_work as (

    select * from {{ ref('int_allocation__query_work_daily') }}

),

cost_lines as (

    select * from {{ ref('fct_cost_line_items') }}

),

signature_costs as (

    select * from {{ ref('int_allocation__signature_costs') }}

),

kubernetes_days as (

    select * from {{ ref('int_kubernetes__allocation_days') }}

),

scope_terms as (

    select distinct
        driver_scope,
        scope_key,
        scope_pattern
    from {{ ref('int_allocation__pool_scopes') }}
    where problem is null

),

direct_costs as (

    select
        {{ normalized_provider('provider') }} as provider,
        billing_account_id,
        sub_account_id,
        service_code,
        billing_currency,
        charge_date,
        product,
        sum(effective_cost) as effective_cost
    from signature_costs
    where allocation_path = 'direct'
    group by
        {{ normalized_provider('provider') }},
        billing_account_id,
        sub_account_id,
        service_code,
        billing_currency,
        charge_date,
        product

),

{#- distinct: direct_costs and query_work are unique on their keys, so a row matching two
    terms of a scope is kept once #}

scoped_direct_costs as (

    select distinct
        scope_terms.driver_scope,
        direct_costs.provider,
        direct_costs.billing_account_id,
        direct_costs.sub_account_id,
        direct_costs.service_code,
        direct_costs.billing_currency,
        direct_costs.charge_date,
        direct_costs.product,
        direct_costs.effective_cost
    from direct_costs
    inner join scope_terms
        on
            (
                scope_terms.scope_key = 'provider'
                and direct_costs.provider = scope_terms.scope_pattern
            )
            or (
                scope_terms.scope_key = 'account'
                and (
                    direct_costs.billing_account_id like scope_terms.scope_pattern
                    or direct_costs.sub_account_id like scope_terms.scope_pattern
                )
            )
            or (
                scope_terms.scope_key = 'service'
                and direct_costs.service_code like scope_terms.scope_pattern
            )

),

scoped_query_work as (

    select distinct
        scope_terms.driver_scope,
        query_work.hostname,
        query_work.event_date,
        query_work.load_id,
        query_work.product,
        query_work.read_bytes,
        query_work.cpu_time_us,
        query_work.duration_ms
    from query_work
    inner join scope_terms
        on
            scope_terms.scope_key = 'hostname'
            and query_work.hostname like scope_terms.scope_pattern

),

scoped_or_whole_query_work as (

    select
        cast(null as {{ dbt.type_string() }}) as driver_scope,
        event_date,
        product,
        read_bytes,
        cpu_time_us,
        duration_ms
    from query_work

    union all

    select
        driver_scope,
        event_date,
        product,
        read_bytes,
        cpu_time_us,
        duration_ms
    from scoped_query_work

),

scoped_or_whole_direct_costs as (

    select
        cast(null as {{ dbt.type_string() }}) as driver_scope,
        billing_currency,
        charge_date,
        product,
        effective_cost
    from direct_costs

    union all

    select
        driver_scope,
        billing_currency,
        charge_date,
        product,
        effective_cost
    from scoped_direct_costs

),

daily as (

    select
        metric as driver,
        cast(null as {{ dbt.type_string() }}) as driver_scope,
        cast(null as {{ dbt.type_string() }}) as billing_currency,
        usage_date as driver_date,
        product,
        sum(quantity) as quantity
    from usage_metrics
    where product is not null
    group by metric, usage_date, product

    union all

    select
        'read_bytes' as driver,
        driver_scope,
        cast(null as {{ dbt.type_string() }}) as billing_currency,
        event_date as driver_date,
        product,
        sum(read_bytes) as quantity
    from scoped_or_whole_query_work
    group by driver_scope, event_date, product

    union all

    select
        'cpu_time_us' as driver,
        driver_scope,
        cast(null as {{ dbt.type_string() }}) as billing_currency,
        event_date as driver_date,
        product,
        sum(cpu_time_us) as quantity
    from scoped_or_whole_query_work
    group by driver_scope, event_date, product

    union all

    select
        'duration_ms' as driver,
        driver_scope,
        cast(null as {{ dbt.type_string() }}) as billing_currency,
        event_date as driver_date,
        product,
        sum(duration_ms) as quantity
    from scoped_or_whole_query_work
    group by driver_scope, event_date, product

    union all

    select
        'split_cost' as driver,
        cast(null as {{ dbt.type_string() }}) as driver_scope,
        billing_currency,
        charge_date as driver_date,
        {{ tag_value('tags', "'product'") }} as product,
        sum(split_cost + coalesce(split_unused_cost, 0)) as quantity
    from cost_lines
    where is_split_cost_line and {{ tag_value('tags', "'product'") }} is not null
    group by billing_currency, charge_date, {{ tag_value('tags', "'product'") }}

    union all

    select
        'opencost:' || cluster as driver,
        cast(null as {{ dbt.type_string() }}) as driver_scope,
        cast(null as {{ dbt.type_string() }}) as billing_currency,
        allocation_date as driver_date,
        case
            when is_idle then '(idle)' else coalesce(product, '(unattributed)')
        end as product,
        sum(opencost_cost) as quantity
    from kubernetes_days
    group by
        cluster,
        allocation_date,
        case
            when is_idle then '(idle)' else coalesce(product, '(unattributed)')
        end

    union all

    select
        'direct_effective_cost' as driver,
        driver_scope,
        billing_currency,
        charge_date as driver_date,
        product,
        sum(effective_cost) as quantity
    from scoped_or_whole_direct_costs
    group by driver_scope, billing_currency, charge_date, product

),

final as (

    select
        driver,
        driver_scope,
        billing_currency,
        'day' as share_grain,
        driver_date as period_start,
        product,
        cast(quantity as double) as quantity
    from daily

    union all

    select
        driver,
        driver_scope,
        billing_currency,
        'month' as share_grain,
        {{ month_start('driver_date') }} as period_start,
        product,
        cast(sum(quantity) as double) as quantity
    from daily
    group by
        driver,
        driver_scope,
        billing_currency,
        {{ month_start('driver_date') }},
        product

)

select * from final
