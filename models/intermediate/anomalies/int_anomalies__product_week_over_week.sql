{#-
    Rule product_week_over_week: a product's weekly cost moved more than 15 % (up or down)
    against the week before. Weekly totals smooth the weekday/weekend rhythm that would make a
    daily comparison noisy; a 15 % move in a week is what a product owner wants to hear about.

    Shared with the other week-over-week rule: macros/anomalies/week_over_week_anomalies.sql.
    Weeks start where dbt.date_trunc('week') puts them (Monday on DuckDB). Only complete weeks
    count: both weeks need all 7 days in the zero-filled series, so the partial first and last
    weeks of the data never compare a few days against a full week. The previous week must be
    the calendar week just before, with cost > 0 (a change against nothing is not a ratio).
    Threshold: var anomaly_thresholds.product_week_over_week_change (default 0.15).
-#}
{{ week_over_week_anomalies(
    'product_week_over_week', 'product', 'Product', 'product_week_over_week_change', 0.15,
) }}
