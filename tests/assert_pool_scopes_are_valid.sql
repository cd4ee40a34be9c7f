{#-
    Every driver_scope of seeds/rules/allocation_pools.csv parses and fits its pool's method
    (int_allocation__pool_scopes). An invalid scope fails the build with one message naming
    every bad pool, its value and why: a silently unmatched scope would empty the driver and
    move the pool's cost to its fallback.
-#}
{#- Spark's listagg cannot order (it warns); the message is the same, in any order -#}
{%- set ordered_by = none if target.type == 'spark' else 'order by pool_id, term_number' -%}
with

problems as (

    select
        pool_id,
        driver_scope,
        term_number,
        'pool ' || pool_id || ' driver_scope "' || driver_scope || '": ' || problem as problem
    from {{ ref('int_allocation__pool_scopes') }}
    where problem is not null

),

summary as (

    select
        count(*) as n_problems,
        '{{ rules_file("allocation_pools") }}: invalid driver_scope: '
        || {{ dbt.listagg('problem', "'; '", ordered_by) }}
        || '. Write key:pattern terms separated by | (hostname: for a query_log pool;'
        || ' provider:, account:, service: for a cost_proportional pool on'
        || ' direct_effective_cost), see docs/drivers.md' as message
    from problems
    having count(*) > 0

),

final as (

    select
        n_problems,
        message
    from summary
    {#- in the filter, not the select list: dbt counts the rows, which never reads a column #}
    where {{ raise_row_error('message') }} is null

)

select * from final
