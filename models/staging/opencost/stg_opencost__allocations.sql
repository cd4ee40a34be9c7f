{#-
    OpenCost allocations, one row per workload (or OpenCost's `__idle__` row) and window, with
    the pod labels that say whose workload it is. A CSV export's window is its day; an API
    window runs from window_start to window_end.
-#}
with

source as (

    select * from {{ source('raw', 'opencost_allocations') }}

),

labelled as (

    select
        *,
        {{ normalize_tag_keys('labels') }} as pod_labels
    from source

),

renamed as (

    select
        {{ lineage_key() }} as opencost_allocation_key,
        trim(cluster) as cluster,
        coalesce(allocation_name, namespace) as allocation_name,
        namespace,
        controller_kind,
        controller,
        pod,
        container,
        node,
        provider_id,
        window_start,
        coalesce(
            window_end, {{ dbt.dateadd('day', 1, 'window_start') }}
        ) as window_end,
        coalesce(allocation_name = '__idle__' or namespace = '__idle__', false) as is_idle,
        {{ tag_value('pod_labels', "'product'") }} as product,
        coalesce(
            {{ tag_value('pod_labels', "'tenant'") }},
            {{ tag_value('pod_labels', "'customer'") }}
        ) as customer_id,
        {{ tag_value('pod_labels', "'feature'") }} as feature_id,
        {{ tag_value('pod_labels', "'team'") }} as team,
        coalesce(
            {{ tag_value('pod_labels', "'environment'") }},
            {{ tag_value('pod_labels', "'env'") }}
        ) as environment,
        pod_labels,
        cpu_cost,
        gpu_cost,
        ram_cost,
        pv_cost,
        network_cost,
        load_balancer_cost,
        shared_cost,
        external_cost,
        total_cost,
        _export_name as export_name,
        _load_id as load_id,
        _source_file as source_file,
        _source_row as source_row,
        _loaded_at as loaded_at
    from labelled

)

select * from renamed
