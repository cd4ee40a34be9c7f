"""The sample company's daily usage drivers (``usage/usage.parquet``): requests, billing units,
AI requests per feature, stored GB, monitored series and active tenants per product and day.

One day in the middle of month 2 (or of the only month) has zero ``requests``: a metrics
pipeline outage the allocation must survive.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

import duckdb

from ingest.sample.company import Month, sql


def zero_driver_date(months: Sequence[Month]) -> date:
    """The day in the middle of month 2 (or of the only month) with zero ``requests``."""
    month = months[1] if len(months) > 1 else months[0]
    return month.start + timedelta(days=14)


_USAGE_SQL = """
COPY (
WITH days AS (
    SELECT m.month_idx, d::DATE AS date, dayofweek(d) IN (0, 6) AS is_weekend
    FROM months m,
         unnest(generate_series(m.period_start::TIMESTAMP,
                                m.period_end::TIMESTAMP - INTERVAL 1 DAY, INTERVAL 1 DAY)) t(d)
),
cpd AS (
    SELECT cp.*, d.date, d.is_weekend,
        -- weekends are quieter; tenant noise is deterministic per (customer, product, day)
        cp.size * (0.7 + 0.6 * rnd(hash(cp.customer_id), hash(cp.product, d.date), 41))
            * CASE WHEN d.is_weekend THEN 0.6 ELSE 1.0 END AS f
    FROM customer_products cp JOIN days d USING (month_idx)
),
drivers AS (
    SELECT date, 'requests' AS metric, product, customer_id, NULL AS feature_id,
        CASE WHEN date = DATE '@zero_day@' THEN 0.0   -- metrics pipeline outage: zero driver day
             ELSE round(f * CASE product WHEN 'replay' THEN 40000 WHEN 'analytics' THEN 120000
                                         WHEN 'flags' THEN 300000 ELSE 8000 END) END AS quantity
    FROM cpd
    UNION ALL
    SELECT date, CASE product WHEN 'replay' THEN 'recordings' WHEN 'analytics' THEN 'events'
                              WHEN 'flags' THEN 'flag_requests' END,
        product, customer_id, NULL,
        round(f * CASE product WHEN 'replay' THEN 900 WHEN 'analytics' THEN 250000
                               ELSE 1200000 END)
    FROM cpd WHERE product <> 'ai_assistant'
    UNION ALL
    SELECT date, 'ai_requests', product, customer_id, feature,
        round(f * 400 * w * (0.8 + 0.4 * rnd(hash(customer_id), hash(feature, date), 42)))
    FROM cpd CROSS JOIN (VALUES ('session_summary', 0.5), ('sql_assistant', 0.3),
                                ('insight_chat', 0.2)) ft(feature, w)
    WHERE product = 'ai_assistant'
    UNION ALL
    SELECT d.date, 'gb_stored', p.product, NULL, NULL,
        round(p.gb * (1 + 0.001 * (d.date - (SELECT min(date) FROM days))), 3)
    FROM days d CROSS JOIN (VALUES ('replay', 42000.0), ('analytics', 65000.0),
                                   ('flags', 800.0), ('ai_assistant', 5200.0)) p(product, gb)
    UNION ALL
    -- the monitoring service's driver: time series it keeps per product, and for ClickHouse
    -- (monitoring watches ClickHouse; a `pool:` target is a service pool, not a product)
    SELECT d.date, 'monitored_series', s.target, NULL, NULL,
        round(s.n * (1 + 0.002 * (d.date - (SELECT min(date) FROM days))))
    FROM days d CROSS JOIN (VALUES ('replay', 1800.0), ('analytics', 3200.0), ('flags', 700.0),
                                   ('ai_assistant', 1100.0), ('pool:clickhouse', 2600.0)) s(target, n)
    UNION ALL
    SELECT date, 'active_tenants', product, NULL, NULL,
        count(*) FILTER (WHERE rnd(hash(customer_id), hash(product, date), 43) > 0.05)::DOUBLE
    FROM cpd GROUP BY date, product
)
SELECT date::DATE AS date, metric::VARCHAR AS metric, product::VARCHAR AS product,
       customer_id::VARCHAR AS customer_id, feature_id::VARCHAR AS feature_id,
       quantity::DOUBLE AS quantity
FROM drivers
) TO '@path@' (FORMAT parquet, COMPRESSION zstd)
"""


def write(con: duckdb.DuckDBPyConnection, out_dir: Path, zero_day: date) -> tuple[Path, int]:
    path = out_dir / "usage" / "usage.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    result = con.execute(
        sql(_USAGE_SQL, zero_day=zero_day.isoformat(), path=path.as_posix())
    ).fetchone()
    return path, int(result[0]) if result else 0
