{#-
    ClickHouse work per product and day, within each delivered query_log partition (hostname ×
    event date). Product from the query's log_comment, else the user → product seed
    (seeds/rules/clickhouse_user_products.csv), else '(unattributed)': an explicit target that ends up
    as an `unattributed_queries` residual. Applied to the incremental per-user sums at every
    build, so a changed (or refilled) user map takes effect without a full refresh.
-#}
with

user_work as (

    select * from {{ ref('int_allocation__query_work_users_daily') }}

),

user_products as (

    select * from {{ ref('clickhouse_user_products') }}

),

attributed as (

    select
        user_work.hostname,
        user_work.event_date,
        user_work.load_id,
        coalesce(
            user_work.comment_product, user_products.product, '(unattributed)'
        ) as product,
        user_work.n_queries,
        user_work.read_bytes,
        user_work.cpu_time_us,
        user_work.duration_ms
    from user_work
    left join user_products
        on user_work.clickhouse_user = user_products.clickhouse_user

),

final as (

    select
        hostname,
        event_date,
        load_id,
        product,
        sum(n_queries) as n_queries,
        sum(read_bytes) as read_bytes,
        sum(cpu_time_us) as cpu_time_us,
        sum(duration_ms) as duration_ms
    from attributed
    group by hostname, event_date, load_id, product

)

select * from final
