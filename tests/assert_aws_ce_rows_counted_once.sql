{#-
    Every landed Cost Explorer row is counted exactly once: either as a line of the unified
    cost table or as superseded by a CUR / FOCUS bill, never both, never neither.
-#}
with

raw_rows as (

    select {{ lineage_key() }} as cost_line_key
    from {{ source('raw', 'aws_cost_explorer') }}

),

placed as (

    select cost_line_key
    from {{ ref('fct_cost_line_items') }}
    where source_system = 'aws_ce'
    union all
    select cost_line_key
    from {{ ref('int_aws_ce__superseded_costs') }}

),

placed_counts as (

    select
        cost_line_key,
        count(*) as n_placed
    from placed
    group by cost_line_key

),

final as (

    select
        coalesce(raw_rows.cost_line_key, placed_counts.cost_line_key) as cost_line_key,
        raw_rows.cost_line_key is not null as is_landed,
        coalesce(placed_counts.n_placed, 0) as n_placed
    from raw_rows
    full outer join placed_counts
        on raw_rows.cost_line_key = placed_counts.cost_line_key
    where
        raw_rows.cost_line_key is null
        or coalesce(placed_counts.n_placed, 0) <> 1

)

select * from final
