{#-
    The ClickHouse work that cost allocation counts, one row per query:
      * only QueryFinish and ExceptionWhileProcessing rows: failed queries still burned the
        cluster; QueryStart rows carry no work and would double count;
      * only initial queries (is_initial_query): the initiator's row already sums the work of
        its distributed shards, which also log their own rows;
      * product from log_comment JSON, else the user → product seed, else '(unattributed)',
        an explicit target that ends up as an `unattributed_queries` residual.
-#}
with

query_log as (

    select * from {{ ref('stg_clickhouse__query_log') }}

),

user_products as (

    select * from {{ ref('clickhouse_user_products') }}

),

final as (

    select
        query_log.query_log_key,
        query_log.query_id,
        query_log.hostname,
        query_log.event_date,
        query_log.load_id,
        query_log.event_type,
        coalesce(
            query_log.comment_product, user_products.product, '(unattributed)'
        ) as product,
        case
            when query_log.comment_product is not null then 'log_comment'
            when user_products.product is not null then 'user'
            else 'unattributed'
        end as product_source,
        query_log.read_bytes,
        query_log.cpu_time_us,
        query_log.duration_ms
    from query_log
    left join user_products
        on query_log.clickhouse_user = user_products.clickhouse_user
    where
        query_log.event_type in ('QueryFinish', 'ExceptionWhileProcessing')
        and query_log.is_initial_query

)

select * from final
