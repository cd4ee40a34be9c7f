{#-
    Every driver_scope of seeds/allocation_pools.csv parses and fits its pool's method
    (int_allocation__pool_scopes). An invalid scope fails the build with a message naming the
    pool and the value: a silently unmatched scope would empty the driver and move the pool's
    cost to its fallback.
-#}
with

scopes as (

    select * from {{ ref('int_allocation__pool_scopes') }}
    where problem is not null

),

final as (

    select
        pool_id,
        driver_scope,
        problem,
        {{ raise_row_error(
            "'seeds/allocation_pools.csv: pool ' || pool_id || ' has an invalid driver_scope \"'"
            ~ " || driver_scope || '\": ' || problem || '. Write key:pattern terms separated by |"
            ~ " (hostname: for a query_log pool; provider:, account:, service: for a"
            ~ " cost_proportional pool), see docs/drivers.md'"
        ) }} as error_message
    from scopes

)

select * from final
