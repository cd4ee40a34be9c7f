{#-
    Rule component_week_over_week: one component (compute, storage, network, database,
    clickhouse, ai, other) of one product moved more than 25 % (up or down) in a week against
    the week before. Components are smaller and lumpier than whole products, hence the wider
    threshold; this is the rule that says *which* part of a product's bill moved.

    Shared with the other week-over-week rule: macros/anomalies/week_over_week_anomalies.sql.
    Weeks start where dbt.date_trunc('week') puts them (Monday on DuckDB). Only complete weeks
    count: both weeks need all 7 days in the zero-filled series, so the partial first and last
    weeks of the data never compare a few days against a full week. The previous week must be
    the calendar week just before, with cost > 0 (a change against nothing is not a ratio).
    Threshold: var anomaly_thresholds.component_week_over_week_change (default 0.25).
-#}
{{ week_over_week_anomalies(
    'component_week_over_week', 'component', 'Component', 'component_week_over_week_change', 0.25,
) }}
