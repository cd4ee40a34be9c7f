"""The sample company's revenue (``revenue/revenue.csv``): each customer's MRR per month, split
over the products it uses by a fixed weight, in cents that sum exactly to the MRR.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from ingest.sample.company import sql

_REVENUE_SQL = """
COPY (
WITH w AS (
    SELECT cp.*,
        CASE product WHEN 'replay' THEN 4 WHEN 'analytics' THEN 3 WHEN 'flags' THEN 1
                     ELSE 2 END AS weight
    FROM customer_products cp
),
cum AS (
    SELECT w.*,
        sum(weight) OVER (PARTITION BY customer_id, month_idx ORDER BY product_idx) AS hi,
        sum(weight) OVER (PARTITION BY customer_id, month_idx) AS total
    FROM w
)
SELECT
    strftime(period_start, '%Y-%m-%d') AS month,
    customer_id,
    product,
    -- cumulative rounding so the product split sums exactly to the customer's MRR
    (round(mrr * hi / total, 2) - round(mrr * (hi - weight) / total, 2))::DECIMAL(12, 2)
        AS amount,
    'USD' AS currency
FROM cum
ORDER BY month, customer_id, product_idx
) TO '@path@' (FORMAT csv, HEADER true)
"""


def write(con: duckdb.DuckDBPyConnection, out_dir: Path) -> tuple[Path, int]:
    path = out_dir / "revenue" / "revenue.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    result = con.execute(sql(_REVENUE_SQL, path=path.as_posix())).fetchone()
    return path, int(result[0]) if result else 0
