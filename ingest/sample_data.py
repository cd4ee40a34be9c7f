"""Deterministic sample data for the cost-to-serve project: the public face of ``ingest.sample``.

``generate()`` writes the bundled SaaS company's files for every source: an AWS CUR 2.0 export
``saas-cur`` with manifests, a ClickHouse ``system.query_log`` export, daily usage drivers, a
revenue CSV, a customer CSV and OpenTelemetry spans. The code lives in ``ingest/sample/``, one
module per source; this module keeps ``from ingest import sample_data`` and
``python -m ingest.sample_data OUT_DIR`` working. Sizing knobs (``MAX_ROWS_PER_FILE``, ...) are
not re-exported: patch them in ``ingest.sample.cur``, where they are read.
"""

from __future__ import annotations

import sys

from ingest.sample.company import (
    AI_FEATURES,
    CURRENCY,
    CUSTOMERS,
    PAYER_ACCOUNT_ID,
    PLAN_PRICES,
    PLATFORM_TEAM,
    PROD_ACCOUNT_ID,
    PRODUCT_BILLING_UNITS,
    PRODUCT_TEAMS,
    PRODUCTS,
    REGION,
    STAGING_ACCOUNT_ID,
    TAG_KEYS,
)
from ingest.sample.cur import (
    CREDIT_AMOUNT,
    CUR_COLUMNS,
    EXPORT_NAME,
    NET_DISCOUNT_FACTOR,
    REFUND_AMOUNT,
    S3_BUCKET,
    S3_PREFIX,
    SP_DISCOUNT_FACTOR,
    TAX_RATE,
)
from ingest.sample.generator import SampleSummary, generate, main
from ingest.sample.query_log import CLICKHOUSE_HOSTS, CLICKHOUSE_USERS

__all__ = [
    "AI_FEATURES",
    "CLICKHOUSE_HOSTS",
    "CLICKHOUSE_USERS",
    "CREDIT_AMOUNT",
    "CURRENCY",
    "CUR_COLUMNS",
    "CUSTOMERS",
    "EXPORT_NAME",
    "NET_DISCOUNT_FACTOR",
    "PAYER_ACCOUNT_ID",
    "PLAN_PRICES",
    "PLATFORM_TEAM",
    "PRODUCTS",
    "PRODUCT_BILLING_UNITS",
    "PRODUCT_TEAMS",
    "PROD_ACCOUNT_ID",
    "REFUND_AMOUNT",
    "REGION",
    "S3_BUCKET",
    "S3_PREFIX",
    "SP_DISCOUNT_FACTOR",
    "STAGING_ACCOUNT_ID",
    "TAG_KEYS",
    "TAX_RATE",
    "SampleSummary",
    "generate",
    "main",
]

if __name__ == "__main__":
    sys.exit(main())
