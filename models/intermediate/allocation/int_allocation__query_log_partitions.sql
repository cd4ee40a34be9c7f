{#-
    Which loads each delivered query_log partition (hostname × event date: what the loader
    replaces) holds. int_allocation__query_work_users_daily compares this with the loads it
    holds to find the days a new export touched.
-#}
with

query_log as (

    select * from {{ ref('stg_clickhouse__query_log') }}

),

final as (

    select distinct
        hostname,
        event_date,
        load_id
    from query_log

)

select * from final
