"""The sample company's AWS bill: a CUR 2.0 (Data Exports) export ``saas-cur`` in its real S3
layout (``cur/saas-cur/data/BILLING_PERIOD=YYYY-MM/*.snappy.parquet``) with one manifest per
billing period.

The billing traps the rest of the project must handle are built in on purpose and are described
where they are generated (Savings Plan negation, unused commitment, RI fees, split-cost pods,
credits/refunds/tax, net columns only in the last month, inter-AZ transfer double lines, an open
last invoice). Python only plans the fleet size; every line is built in DuckDB SQL and streams
straight into ``COPY``, which keeps 10 M lines well inside a minute on two cores.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import logging
import math
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb

from ingest.sample.company import (
    CURRENCY,
    PAYER_ACCOUNT_ID,
    PROD_ACCOUNT_ID,
    REGION,
    STAGING_ACCOUNT_ID,
    Month,
    q,
    sql,
)

logger = logging.getLogger(__name__)

# Contract constants: the loaders, tests and docs name this export and its S3 location.
EXPORT_NAME = "saas-cur"
S3_BUCKET = "sample-bucket"
S3_PREFIX = "cur"

# --------------------------------------------------------------------------------------------
# Sizing knobs.
# --------------------------------------------------------------------------------------------
MAX_ROWS_PER_FILE = 2_000_000
# Above this many CUR lines per day the export switches to hourly lines (CUR's hourly time
# granularity): a realistic fleet cannot produce 10 M+ daily lines in three months. The fleet is
# re-sized at the switch, so the bill is not monotonic in cur_lines across that threshold.
MAX_DAILY_LINES_PER_DAY = 2_000
# Lines per usage period that do not grow with the fleet: SP recurring fee (1), RDS under the RI
# (2 instances) + its storage (1), the ingress ALB (2 usage types), EKS node (1) + pod rows (8),
# the monitoring node (1).
_FIXED_LINES_PER_UNIT = 16
_EKS_POD_ROWS = 8
# Monthly one-off lines: RIFee, Credit, Support fee and one Tax line per charged product code
# (AmazonEC2, AmazonS3, AmazonRDS, AWSELB, AmazonCloudWatch, ComputeSavingsPlans,
# AWSSupportBusiness); a Refund in one month comes on top.
_MONTHLY_LINES = 10
TAX_RATE = Decimal("0.0625")
NET_DISCOUNT_FACTOR = 0.97
SP_DISCOUNT_FACTOR = 0.72  # Compute SP rate ≈ 28 % under on-demand for these families.
CREDIT_AMOUNT = Decimal("-250.00")
REFUND_AMOUNT = Decimal("-180.50")


@dataclass(frozen=True)
class _ResourceClass:
    """A family of CUR resources whose count scales with the requested size."""

    name: str
    lines_per_resource: int
    share: float  # share of the scalable CUR lines per usage period
    minimum: int


# app_od absorbs the rounding remainder so the line count per period is hit exactly.
_SCALABLE_CLASSES: tuple[_ResourceClass, ...] = (
    _ResourceClass("app_sp", 2, 0.18, 4),
    _ResourceClass("app_ebs", 1, 0.12, 4),
    _ResourceClass("acme", 1, 0.02, 1),
    _ResourceClass("ch_ec2", 1, 0.04, 2),
    _ResourceClass("ch_ebs", 1, 0.04, 2),
    # S3 resources come in pairs per bucket: a storage line and a request line.
    _ResourceClass("s3", 1, 0.08, 8),
    _ResourceClass("untagged_ec2", 1, 0.03, 1),
    _ResourceClass("untagged_ebs", 1, 0.03, 1),
    _ResourceClass("untagged_cw", 1, 0.02, 1),
    _ResourceClass("transfer", 2, 0.20, 2),
)
_APP_OD_MINIMUM = 4

# CUR 2.0 columns in export order with the DuckDB type written to parquet. Rates are strings in
# CUR 2.0 (the table dictionary types pricing_public_on_demand_rate as string), costs and
# quantities are doubles, maps are MAP(VARCHAR, VARCHAR). A column that does not apply to a line
# holds '' or 0, as the export writes it; only *_net_* (months without a discount) and
# bill_invoice_id (the open last month) are NULL.
_S, _D, _T, _M = "VARCHAR", "DOUBLE", "TIMESTAMP", "MAP(VARCHAR, VARCHAR)"
CUR_COLUMNS: tuple[tuple[str, str], ...] = (
    ("identity_line_item_id", _S),
    ("identity_time_interval", _S),
    ("bill_invoice_id", _S),
    ("bill_invoicing_entity", _S),
    ("bill_billing_entity", _S),
    ("bill_bill_type", _S),
    ("bill_payer_account_id", _S),
    ("bill_billing_period_start_date", _T),
    ("bill_billing_period_end_date", _T),
    ("line_item_usage_account_id", _S),
    ("line_item_line_item_type", _S),
    ("line_item_usage_start_date", _T),
    ("line_item_usage_end_date", _T),
    ("line_item_product_code", _S),
    ("line_item_usage_type", _S),
    ("line_item_operation", _S),
    ("line_item_availability_zone", _S),
    ("line_item_resource_id", _S),
    ("line_item_usage_amount", _D),
    ("line_item_normalization_factor", _D),
    ("line_item_normalized_usage_amount", _D),
    ("line_item_currency_code", _S),
    ("line_item_unblended_rate", _S),
    ("line_item_unblended_cost", _D),
    ("line_item_blended_cost", _D),
    ("line_item_net_unblended_cost", _D),
    ("line_item_line_item_description", _S),
    ("line_item_tax_type", _S),
    ("line_item_legal_entity", _S),
    ("pricing_public_on_demand_cost", _D),
    ("pricing_public_on_demand_rate", _S),
    ("pricing_term", _S),
    ("pricing_unit", _S),
    ("product", _M),
    ("product_region_code", _S),
    ("product_servicecode", _S),
    ("product_product_family", _S),
    ("product_instance_type", _S),
    ("product_from_location", _S),
    ("product_to_location", _S),
    ("savings_plan_savings_plan_a_r_n", _S),
    ("savings_plan_savings_plan_effective_cost", _D),
    ("savings_plan_net_savings_plan_effective_cost", _D),
    ("savings_plan_total_commitment_to_date", _D),
    ("savings_plan_used_commitment", _D),
    ("savings_plan_amortized_upfront_commitment_for_billing_period", _D),
    ("savings_plan_recurring_commitment_for_billing_period", _D),
    ("reservation_reservation_a_r_n", _S),
    ("reservation_effective_cost", _D),
    ("reservation_net_effective_cost", _D),
    ("reservation_amortized_upfront_fee_for_billing_period", _D),
    ("reservation_amortized_upfront_cost_for_usage", _D),
    ("reservation_recurring_fee_for_usage", _D),
    ("reservation_unused_amortized_upfront_fee_for_billing_period", _D),
    ("reservation_net_unused_amortized_upfront_fee_for_billing_period", _D),
    ("reservation_unused_recurring_fee", _D),
    ("reservation_net_unused_recurring_fee", _D),
    ("reservation_unused_quantity", _D),
    ("split_line_item_parent_resource_id", _S),
    ("split_line_item_split_cost", _D),
    ("split_line_item_unused_cost", _D),
    ("split_line_item_net_split_cost", _D),
    ("split_line_item_net_unused_cost", _D),
    ("resource_tags", _M),
    ("cost_category", _M),
    ("discount", _M),
)
_MANIFEST_TYPES = {_S: "string", _D: "double", _T: "timestamp", _M: "map<string,string>"}


@dataclass(frozen=True)
class CurMonth:
    """A billing period cut into usage units (days or hours) and parquet files."""

    month: Month
    units: int
    units_per_file: int
    n_files: int

    @property
    def billing_period(self) -> str:
        return self.month.billing_period


@dataclass(frozen=True)
class CurPlan:
    granularity: str
    unit_hours: int
    counts: Mapping[str, int]
    lines_per_unit: int
    months: tuple[CurMonth, ...]


# --------------------------------------------------------------------------------------------
# Planning (pure Python arithmetic on a handful of numbers)
# --------------------------------------------------------------------------------------------
def plan_export(cur_lines: int, months: tuple[Month, ...]) -> CurPlan:
    """Choose granularity and fleet size so the export has about ``cur_lines`` rows."""
    n_months = len(months)
    days = [calendar.monthrange(m.start.year, m.start.month)[1] for m in months]
    budget = max(cur_lines - _MONTHLY_LINES * n_months, 1)
    unit_hours = 24
    per_unit = budget / sum(days)
    if per_unit > MAX_DAILY_LINES_PER_DAY:
        unit_hours = 1
        per_unit = budget / (sum(days) * 24)

    scalable = max(round(per_unit) - _FIXED_LINES_PER_UNIT, 0)
    counts: dict[str, int] = {}
    for cls in _SCALABLE_CLASSES:
        counts[cls.name] = max(cls.minimum, round(cls.share * scalable / cls.lines_per_resource))
    counts["s3"] += counts["s3"] % 2  # whole buckets only
    used = sum(counts[c.name] * c.lines_per_resource for c in _SCALABLE_CLASSES)
    counts["app_od"] = max(_APP_OD_MINIMUM, scalable - used)
    lines_per_unit = _FIXED_LINES_PER_UNIT + used + counts["app_od"]
    if lines_per_unit > per_unit * 1.1:
        logger.warning(
            "cur_lines=%s is below the minimal fleet; generating ~%s lines instead",
            cur_lines,
            round(lines_per_unit * sum(days) * 24 / unit_hours),
        )

    cur_months: list[CurMonth] = []
    for month, n_days in zip(months, days, strict=True):
        units = n_days * 24 // unit_hours
        rows = units * lines_per_unit + _MONTHLY_LINES + 1
        n_files = max(1, math.ceil(rows / MAX_ROWS_PER_FILE))
        per_file = math.ceil(units / n_files)
        n_files = math.ceil(units / per_file)  # never leave a trailing empty file
        cur_months.append(CurMonth(month, units, per_file, n_files))
    return CurPlan(
        granularity="daily" if unit_hours == 24 else "hourly",
        unit_hours=unit_hours,
        counts=counts,
        lines_per_unit=lines_per_unit,
        months=tuple(cur_months),
    )


# --------------------------------------------------------------------------------------------
# Base tables: usage units, instance prices, resource catalogue
# --------------------------------------------------------------------------------------------
_MACROS = r"""
-- Instances are sometimes stopped for part of a period (deploys, scale-in, maintenance), which
-- is also what leaves Savings Plan and RI commitment unused on some days.
CREATE MACRO avail(r, u) AS
    CASE WHEN rnd(r, u, 11) < 0.07 THEN round(0.2 + 0.75 * rnd(r, u, 12), 2) ELSE 1.0 END;
CREATE MACRO line_qty(kind, r, u, base, unit_hours, hours_in_month, progress, is_weekend) AS
    round(CASE kind
        WHEN 'hours' THEN unit_hours * base * avail(r, u)
        -- storage is billed in GB-Mo: the size held for this slice of the month, slowly growing
        WHEN 'storage' THEN base * (1 + 0.08 * progress) * unit_hours / hours_in_month
        WHEN 'volume' THEN base * unit_hours * (0.6 + 0.8 * rnd(r, u, 13))
                           * CASE WHEN is_weekend THEN 0.7 ELSE 1.0 END
        WHEN 'pod' THEN base * unit_hours
    END, 8);
"""

# Real us-east-1 Linux on-demand prices (USD/hour) and EC2 normalization factors.
_INSTANCE_TYPES = """
CREATE TABLE instance_types AS SELECT * FROM (VALUES
    ('t3.medium', 0.0416, 2.0, 2), ('m6i.large', 0.096, 4.0, 2), ('c6i.large', 0.085, 4.0, 2),
    ('m6i.xlarge', 0.192, 8.0, 4), ('r6i.xlarge', 0.252, 8.0, 4), ('g5.xlarge', 1.006, 8.0, 4),
    ('m6i.2xlarge', 0.384, 16.0, 8), ('c6i.2xlarge', 0.34, 16.0, 8),
    ('r6i.2xlarge', 0.504, 16.0, 8), ('g5.2xlarge', 1.212, 16.0, 8),
    ('c6i.4xlarge', 0.68, 32.0, 16), ('m6i.4xlarge', 0.768, 32.0, 16),
    ('r6i.4xlarge', 1.008, 32.0, 16), ('m6i.8xlarge', 1.536, 64.0, 32),
    ('r6i.8xlarge', 2.016, 64.0, 32)
) t(instance_type, od_rate, norm_factor, vcpu);
ALTER TABLE instance_types ALTER od_rate SET DATA TYPE DOUBLE;
ALTER TABLE instance_types ALTER norm_factor SET DATA TYPE DOUBLE;
"""


def create_tables(con: duckdb.DuckDBPyConnection, plan: CurPlan) -> None:
    """Create the usage units and the resource catalogue (needs the company's tables)."""
    con.execute(_MACROS)
    con.execute(_INSTANCE_TYPES)
    con.execute(
        """CREATE TABLE cur_months (month_idx INTEGER, n_units INTEGER, units_per_file INTEGER,
        n_files INTEGER)"""
    )
    con.executemany(
        "INSERT INTO cur_months VALUES (?, ?, ?, ?)",
        [(m.month.idx, m.units, m.units_per_file, m.n_files) for m in plan.months],
    )
    total_units = sum(m.units for m in plan.months)
    con.execute(
        sql(
            """
        CREATE TABLE units AS
        WITH t AS (
            SELECT m.*, c.units_per_file, unnest(generate_series(period_start::TIMESTAMP,
                period_end::TIMESTAMP - INTERVAL (@h@) HOUR, INTERVAL (@h@) HOUR)) AS usage_start
            FROM months m JOIN cur_months c USING (month_idx)
        )
        SELECT
            (row_number() OVER (ORDER BY usage_start) - 1)::BIGINT AS unit_idx,
            month_idx, billing_period, is_last,
            period_start::TIMESTAMP AS period_start, period_end::TIMESTAMP AS period_end,
            usage_start, usage_start + INTERVAL (@h@) HOUR AS usage_end,
            @h@::DOUBLE AS unit_hours,
            date_diff('hour', period_start::TIMESTAMP, period_end::TIMESTAMP)::DOUBLE
                AS hours_in_month,
            (row_number() OVER (ORDER BY usage_start) - 1) / @total@::DOUBLE AS progress,
            dayofweek(usage_start) IN (0, 6) AS is_weekend,
            (date_diff('hour', period_start::TIMESTAMP, usage_start) // @h@)
                // units_per_file + 1 AS file_no,
            strftime(usage_start, '%Y-%m-%dT%H:%M:%SZ') || '/'
                || strftime(usage_start + INTERVAL (@h@) HOUR, '%Y-%m-%dT%H:%M:%SZ')
                AS time_interval
        FROM t
        """,
            h=plan.unit_hours,
            total=total_units,
        )
    )
    _create_resources(con, plan)


def _create_resources(con: duckdb.DuckDBPyConnection, plan: CurPlan) -> None:
    """One row per billable resource stream (instance, volume, bucket, ENI, ...)."""
    order = ["app_od", *(c.name for c in _SCALABLE_CLASSES)]
    ranges: list[tuple[str, int, int]] = []
    nxt = 0
    for name in order:
        ranges.append((name, nxt, plan.counts[name]))
        nxt += plan.counts[name]
    # Fixed shared infrastructure follows the scalable fleet; the EKS node last, as its pods
    # take the ids after it.
    fixed = (("rds", 2), ("rds_storage", 1), ("alb", 2), ("mon_node", 1), ("eks_node", 1))
    for name, n in fixed:
        ranges.append((name, nxt, n))
        nxt += n
    con.execute("CREATE TABLE classes (cls VARCHAR, first_id BIGINT, n BIGINT)")
    con.executemany("INSERT INTO classes VALUES (?, ?, ?)", ranges)
    con.execute(
        sql(
            _RESOURCES_SQL,
            prod=q(PROD_ACCOUNT_ID),
            staging=q(STAGING_ACCOUNT_ID),
            region=q(REGION),
            sp_factor=SP_DISCOUNT_FACTOR,
            pods=_EKS_POD_ROWS,
        )
    )


_RESOURCES_SQL = """
CREATE TABLE resources AS
WITH ids AS (
    SELECT r.range AS res_id, c.cls, (r.range - c.first_id)::INTEGER AS k
    FROM range((SELECT sum(n) FROM classes)::BIGINT) r
    JOIN classes c ON r.range >= c.first_id AND r.range < c.first_id + c.n
),
base AS (
    SELECT
        res_id, cls, k,
        ['replay', 'analytics', 'flags', 'ai_assistant'][
            (CASE WHEN cls = 's3' THEN k // 2 ELSE k END) % 4 + 1] AS product_k,
        CASE WHEN rnd(res_id, 0, 1) < 0.25 THEN 'staging' ELSE 'prod' END AS env_rnd,
        ['us-east-1a', 'us-east-1b', 'us-east-1c'][floor(rnd(res_id, 0, 4) * 3)::INTEGER + 1]
            AS az,
        rnd(res_id, 0, 2) AS u1,
        rnd(res_id, 0, 3) AS u2,
        hexid('res', res_id) AS hx
    FROM ids
),
spec AS (
    SELECT b.*,
        -- product / team / env / customer / feature / service tags ('' = tag absent)
        CASE WHEN cls IN ('app_od', 'app_sp', 'app_ebs', 's3') THEN product_k
             WHEN cls = 'acme' THEN CASE WHEN k % 2 = 0 THEN 'analytics' ELSE 'replay' END
             ELSE '' END AS tag_product,
        CASE WHEN cls IN ('app_od', 'app_ebs') THEN env_rnd
             WHEN cls IN ('app_sp', 'acme', 'ch_ec2', 'ch_ebs', 'rds', 'rds_storage', 'eks_node',
                          'mon_node')
                  THEN 'prod'
             -- the first bucket of every product is prod; later ones alternate
             WHEN cls = 's3' THEN CASE WHEN k // 2 < 4 OR (k // 2) % 3 <> 2 THEN 'prod'
                                       ELSE 'staging' END
             ELSE '' END AS tag_env,
        CASE WHEN cls = 'acme' THEN 'cust_001' ELSE '' END AS tag_customer,
        CASE WHEN cls IN ('app_od', 'app_sp') AND product_k = 'ai_assistant' AND k % 8 < 4
             THEN ['session_summary', 'sql_assistant', 'insight_chat'][k % 3 + 1]
             ELSE '' END AS tag_feature,
        CASE cls WHEN 'ch_ec2' THEN 'clickhouse' WHEN 'ch_ebs' THEN 'clickhouse'
                 WHEN 'rds' THEN 'shared-postgres' WHEN 'rds_storage' THEN 'shared-postgres'
                 WHEN 'alb' THEN 'ingress-alb' WHEN 'eks_node' THEN 'eks-cluster'
                 WHEN 'mon_node' THEN 'monitoring'
                 ELSE '' END AS tag_service,
        -- instance type per workload: product pools, bigger boxes for ClickHouse; Acme's
        -- dedicated (customer-tagged) boxes are small: a single-tenant ingest worker
        CASE
            WHEN cls IN ('app_od', 'app_sp') THEN (CASE product_k
                WHEN 'replay' THEN ['m6i.xlarge', 'm6i.2xlarge', 'c6i.2xlarge', 'r6i.xlarge']
                WHEN 'analytics' THEN ['c6i.2xlarge', 'c6i.4xlarge', 'm6i.2xlarge', 'r6i.2xlarge']
                WHEN 'flags' THEN ['t3.medium', 'm6i.large', 'c6i.large', 'm6i.xlarge']
                ELSE ['g5.xlarge', 'g5.2xlarge', 'm6i.xlarge', 'm6i.large'] END
            )[(floor(u1 * 4))::INTEGER + 1]
            WHEN cls = 'acme' THEN ['t3.medium', 'm6i.large'][k % 2 + 1]
            WHEN cls = 'ch_ec2' THEN CASE WHEN k < 2 THEN 'r6i.8xlarge'
                ELSE ['r6i.4xlarge', 'm6i.2xlarge', 'm6i.large'][k % 3 + 1] END
            WHEN cls = 'untagged_ec2' THEN ['t3.medium', 'm6i.large'][k % 2 + 1]
            WHEN cls = 'eks_node' THEN 'm6i.4xlarge'
            WHEN cls = 'mon_node' THEN 'm6i.xlarge'
            ELSE NULL END AS ec2_type
    FROM base b
)
SELECT
    s.res_id, s.cls, s.k,
    CASE WHEN s.tag_env = 'staging' THEN @staging@ ELSE @prod@ END AS account_id,
    CASE WHEN s.cls IN ('s3') THEN 'AmazonS3'
         WHEN s.cls IN ('rds', 'rds_storage') THEN 'AmazonRDS'
         WHEN s.cls = 'alb' THEN 'AWSELB'
         WHEN s.cls = 'untagged_cw' THEN 'AmazonCloudWatch'
         ELSE 'AmazonEC2' END AS product_code,
    CASE WHEN s.cls = 's3' THEN 'AmazonS3'
         WHEN s.cls IN ('rds', 'rds_storage') THEN 'AmazonRDS'
         WHEN s.cls = 'alb' THEN 'AWSELB'
         WHEN s.cls = 'untagged_cw' THEN 'AmazonCloudWatch'
         WHEN s.cls = 'transfer' THEN 'AWSDataTransfer'
         ELSE 'AmazonEC2' END AS servicecode,
    CASE WHEN s.cls = 's3' THEN 'Amazon Simple Storage Service'
         WHEN s.cls IN ('rds', 'rds_storage') THEN 'Amazon Relational Database Service'
         WHEN s.cls = 'alb' THEN 'Elastic Load Balancing'
         WHEN s.cls = 'untagged_cw' THEN 'AmazonCloudWatch'
         ELSE 'Amazon Elastic Compute Cloud' END AS product_name,
    CASE WHEN s.ec2_type IS NOT NULL THEN 'Compute Instance'
         WHEN s.cls IN ('app_ebs', 'ch_ebs', 'untagged_ebs', 'rds_storage') THEN 'Storage'
         WHEN s.cls = 's3' THEN CASE WHEN s.k % 2 = 0 THEN 'Storage' ELSE 'API Request' END
         WHEN s.cls = 'untagged_cw' THEN 'Storage Snapshot'
         WHEN s.cls = 'transfer' THEN 'Data Transfer'
         WHEN s.cls = 'rds' THEN 'Database Instance'
         WHEN s.cls = 'alb' THEN 'Load Balancer-Application'
    END AS product_family,
    CASE WHEN s.ec2_type IS NOT NULL THEN 'BoxUsage:' || s.ec2_type
         WHEN s.cls IN ('app_ebs', 'ch_ebs') THEN 'EBS:VolumeUsage.gp3'
         WHEN s.cls = 'untagged_ebs' THEN 'EBS:VolumeUsage.gp2'
         WHEN s.cls = 's3' THEN CASE WHEN s.k % 2 = 0 THEN 'TimedStorage-ByteHrs' ELSE 'Requests-Tier1' END
         WHEN s.cls = 'untagged_cw' THEN 'TimedStorage-ByteHrs'
         WHEN s.cls = 'transfer' THEN 'USE1-DataTransfer-Regional-Bytes'
         WHEN s.cls = 'rds' THEN 'InstanceUsage:db.r6g.2xl'
         WHEN s.cls = 'rds_storage' THEN 'RDS:GP3-Storage'
         WHEN s.cls = 'alb' THEN CASE WHEN s.k = 0 THEN 'LoadBalancerUsage' ELSE 'DataProcessing-Bytes' END
    END AS usage_type,
    CASE WHEN s.ec2_type IS NOT NULL THEN 'RunInstances'
         WHEN s.cls IN ('app_ebs', 'ch_ebs', 'untagged_ebs') THEN 'CreateVolume-Gp3'
         WHEN s.cls = 's3' THEN CASE WHEN s.k % 2 = 0 THEN 'StandardStorage' ELSE 'PutObject' END
         WHEN s.cls = 'untagged_cw' THEN 'HourlyStorageMetering'
         WHEN s.cls = 'transfer' THEN 'InterZone'
         WHEN s.cls = 'rds' THEN 'CreateDBInstance:0014'
         WHEN s.cls = 'rds_storage' THEN 'CreateDBInstance:0014'
         WHEN s.cls = 'alb' THEN 'LoadBalancing:Application'
    END AS operation,
    CASE WHEN s.cls IN ('s3', 'alb', 'untagged_cw') THEN '' ELSE s.az END AS az,
    CASE
        WHEN s.cls = 'eks_node' THEN 'i-eks' || substr(s.hx, 1, 12)
        WHEN s.ec2_type IS NOT NULL THEN 'i-0' || substr(s.hx, 1, 16)
        WHEN s.cls IN ('app_ebs', 'ch_ebs', 'untagged_ebs') THEN 'vol-0' || substr(s.hx, 1, 16)
        WHEN s.cls = 's3' THEN 'saas-' || replace(s.tag_product, '_', '-') || '-' || s.tag_env
                               || '-' || substr(hexid('bucket', s.k // 2), 1, 6)
        WHEN s.cls = 'untagged_cw' THEN 'arn:aws:logs:' || @region@ || ':' || @prod@
                               || ':log-group:/ecs/legacy-worker-' || substr(s.hx, 1, 6)
        WHEN s.cls = 'transfer' THEN 'eni-0' || substr(s.hx, 1, 16)
        WHEN s.cls = 'rds' THEN 'arn:aws:rds:' || @region@ || ':' || @prod@
                               || ':db:shared-postgres-' || s.k
        WHEN s.cls = 'rds_storage' THEN 'arn:aws:rds:' || @region@ || ':' || @prod@
                               || ':db:shared-postgres-0'
        WHEN s.cls = 'alb' THEN 'arn:aws:elasticloadbalancing:' || @region@ || ':' || @prod@
                               || ':loadbalancer/app/ingress-alb/' || substr(hexid('alb', 0), 1, 16)
    END AS resource_id,
    coalesce(s.ec2_type, CASE WHEN s.cls = 'rds' THEN 'db.r6g.2xlarge' ELSE '' END) AS instance_type,
    coalesce(it.norm_factor, CASE WHEN s.cls = 'rds' THEN 16.0 ELSE 0.0 END)::DOUBLE
        AS norm_factor,
    CASE WHEN s.ec2_type IS NOT NULL OR s.cls = 'rds' THEN 'hours'
         WHEN s.cls IN ('app_ebs', 'ch_ebs', 'untagged_ebs', 'rds_storage', 'untagged_cw')
              OR (s.cls = 's3' AND s.k % 2 = 0) THEN 'storage'
         WHEN s.cls = 'alb' AND s.k = 0 THEN 'hours'
         ELSE 'volume' END AS qty_kind,
    -- 'hours': instances per line; 'storage': GB held; 'volume': units per hour
    CASE WHEN s.ec2_type IS NOT NULL OR s.cls = 'rds' OR (s.cls = 'alb' AND s.k = 0) THEN 1.0
         WHEN s.cls = 'app_ebs' THEN round(100 + 900 * s.u2)
         WHEN s.cls = 'ch_ebs' THEN round(2000 + 4000 * s.u2)
         WHEN s.cls = 'untagged_ebs' THEN round(50 + 450 * s.u2)
         WHEN s.cls = 'rds_storage' THEN 2000.0
         WHEN s.cls = 'untagged_cw' THEN round(100 + 1500 * s.u2)
         WHEN s.cls = 's3' AND s.k % 2 = 0 THEN round(5000 + 35000 * s.u2)
         WHEN s.cls = 's3' THEN round(20000 + 400000 * s.u2)       -- PUT requests / hour
         WHEN s.cls = 'transfer' THEN round(0.1 + 8 * s.u2, 3)       -- GB / hour
         WHEN s.cls = 'alb' THEN round(150 + 150 * s.u2)             -- GB processed / hour
    END::DOUBLE AS base,
    CASE WHEN s.ec2_type IS NOT NULL THEN it.od_rate
         WHEN s.cls IN ('app_ebs', 'ch_ebs') THEN 0.08
         WHEN s.cls = 'untagged_ebs' THEN 0.10
         WHEN s.cls = 'rds_storage' THEN 0.115
         WHEN s.cls = 'untagged_cw' THEN 0.03
         WHEN s.cls = 's3' AND s.k % 2 = 0 THEN 0.023
         WHEN s.cls = 's3' THEN 0.000005
         WHEN s.cls = 'transfer' THEN 0.01
         WHEN s.cls = 'rds' THEN 0.898
         WHEN s.cls = 'alb' AND s.k = 0 THEN 0.0225
         WHEN s.cls = 'alb' THEN 0.008
    END::DOUBLE AS od_rate,
    CASE WHEN s.cls = 'app_sp' THEN round(it.od_rate * @sp_factor@, 6) ELSE 0 END::DOUBLE
        AS sp_rate,
    CASE WHEN s.cls = 'rds' THEN 0.585 ELSE 0 END::DOUBLE AS ri_rate,
    CASE WHEN s.ec2_type IS NOT NULL OR s.cls = 'rds' OR (s.cls = 'alb' AND s.k = 0) THEN 'Hrs'
         WHEN s.cls IN ('app_ebs', 'ch_ebs', 'untagged_ebs', 'rds_storage', 'untagged_cw')
              OR (s.cls = 's3' AND s.k % 2 = 0) THEN 'GB-Mo'
         WHEN s.cls = 's3' THEN 'Requests'
         ELSE 'GB' END AS pricing_unit,
    CASE WHEN s.cls = 'transfer' THEN 'US East (N. Virginia)' ELSE '' END AS from_location,
    CASE WHEN s.cls = 'transfer' THEN 'US East (N. Virginia)' ELSE '' END AS to_location,
    CASE WHEN s.cls = 'app_sp' THEN 'sp' WHEN s.cls = 'rds' THEN 'ri'
         WHEN s.cls = 'transfer' THEN 'transfer' ELSE 'usage' END AS role,
    s.tag_product, s.tag_env, s.tag_customer, s.tag_feature, s.tag_service,
    CASE WHEN s.tag_product <> '' THEN CASE s.tag_product
            WHEN 'replay' THEN 'replay-team' WHEN 'analytics' THEN 'analytics-team'
            WHEN 'flags' THEN 'flags-team' ELSE 'ml-team' END
         WHEN s.tag_service IN ('clickhouse', 'shared-postgres', 'eks-cluster') THEN 'platform'
         ELSE '' END AS tag_team,
    CASE WHEN s.tag_product <> '' THEN 'product-engineering'
         WHEN s.tag_service <> '' THEN 'platform'
         ELSE '' END AS business_unit,
    NULL::BIGINT AS parent_res_id, NULL::DOUBLE AS parent_rate, '' AS parent_resource_id,
    NULL::DECIMAL(7, 6) AS share_lo, NULL::DECIMAL(7, 6) AS share_hi
FROM spec s
LEFT JOIN instance_types it ON it.instance_type = s.ec2_type;

-- EKS split cost allocation: pod rows re-express the node's cost (never bill them twice).
INSERT INTO resources BY NAME
WITH pods AS (
    SELECT * FROM (VALUES
        (0, 'replay-api', 'replay', 'vCPU', 0.20, 2.0),
        (1, 'replay-api', 'replay', 'GB', 0.10, 8.0),
        (2, 'analytics-ingest', 'analytics', 'vCPU', 0.25, 4.0),
        (3, 'analytics-ingest', 'analytics', 'GB', 0.15, 16.0),
        (4, 'ai-worker', 'ai_assistant', 'vCPU', 0.14, 3.0),
        (5, 'ai-worker', 'ai_assistant', 'GB', 0.06, 12.0),
        -- ClickHouse Keeper runs on the cluster: its pods serve the ClickHouse pool
        (6, 'clickhouse-keeper', 'pool:clickhouse', 'vCPU', 0.06, 1.0),
        (7, 'clickhouse-keeper', 'pool:clickhouse', 'GB', 0.04, 4.0)
    ) t(k, pod, product, dim, weight, amount)
),
cum AS (
    SELECT *, round(sum(weight) OVER (ORDER BY k), 6) AS hi,
              round(sum(weight) OVER (ORDER BY k) - weight, 6) AS lo
    FROM pods
)
SELECT
    n.res_id + 1 + c.k AS res_id, 'eks_pod' AS cls, c.k::INTEGER AS k,
    n.account_id, 'AmazonEKS' AS product_code, 'AmazonEKS' AS servicecode,
    'Amazon Elastic Container Service for Kubernetes' AS product_name,
    'Compute' AS product_family,
    'USE1-EKS-EC2-' || c.dim || '-Hours' AS usage_type, 'EKSPod-EC2' AS operation, n.az,
    'arn:aws:eks:us-east-1:' || n.account_id || ':pod/saas-prod/' || c.product || '/'
        || c.pod || '-' || substr(hexid('pod', c.k // 2), 1, 10) || '/'
        || uuid_fmt(hexid('pod-uid', c.k // 2)) AS resource_id,
    '' AS instance_type, 0.0 AS norm_factor, 'pod' AS qty_kind, c.amount AS base,
    0.0 AS od_rate, 0.0 AS sp_rate, 0.0 AS ri_rate,
    c.dim || '-Hours' AS pricing_unit, '' AS from_location, '' AS to_location, 'pod' AS role,
    c.product AS tag_product, 'prod' AS tag_env, '' AS tag_customer, '' AS tag_feature,
    '' AS tag_service,
    CASE c.product WHEN 'replay' THEN 'replay-team' WHEN 'analytics' THEN 'analytics-team'
        WHEN 'ai_assistant' THEN 'ml-team' ELSE 'platform' END AS tag_team,
    'product-engineering' AS business_unit,
    n.res_id AS parent_res_id, n.od_rate AS parent_rate, n.resource_id AS parent_resource_id,
    CASE WHEN c.k = 0 THEN 0 ELSE c.lo END::DECIMAL(7, 6) AS share_lo,
    CASE WHEN c.k = @pods@ - 1 THEN 1 ELSE c.hi END::DECIMAL(7, 6) AS share_hi
FROM cum c CROSS JOIN (SELECT * FROM resources WHERE cls = 'eks_node') n;

-- One row per CUR line a resource produces in each usage period.
CREATE TABLE resource_lines AS
SELECT
    r.*,
    s.sub,
    r.res_id * 2 + s.sub AS line_id,
    CASE r.role
        WHEN 'sp' THEN CASE s.sub WHEN 0 THEN 'SavingsPlanCoveredUsage' ELSE 'SavingsPlanNegation' END
        WHEN 'ri' THEN 'DiscountedUsage'
        ELSE 'Usage' END AS line_type,
    -- real CUR charges inter-AZ traffic on both sides: one In and one Out line per transfer
    CASE WHEN r.role = 'transfer' THEN CASE s.sub WHEN 0 THEN 'InterZone-In' ELSE 'InterZone-Out' END
         ELSE r.operation END AS line_operation,
    CASE WHEN r.role = 'sp' AND s.sub = 1 THEN printf('%.10f', -r.od_rate)
         WHEN r.role IN ('pod') THEN '0.0000000000'
         WHEN r.role = 'ri' THEN printf('%.10f', r.ri_rate)
         ELSE printf('%.10f', r.od_rate) END AS unblended_rate,
    CASE WHEN r.role = 'pod' THEN '' ELSE printf('%.10f', r.od_rate) END AS od_rate_str,
    CASE
        WHEN r.role = 'sp' AND s.sub = 1 THEN 'SavingsPlanNegation used by AccountId : '
            || r.account_id || ' and UsageSku : ' || upper(substr(hexid('sku', r.instance_type), 1, 16))
        WHEN r.role = 'ri' THEN 'USD 0.585 hourly fee per PostgreSQL, db.r6g.2xl instance'
        WHEN r.role = 'pod' THEN 'EKS split cost allocation: ' || r.pricing_unit || ' of pod'
        WHEN r.instance_type <> '' THEN '$' || r.od_rate || ' per On Demand Linux '
            || r.instance_type || ' Instance Hour'
        WHEN r.role = 'transfer' THEN '$0.010 per GB - regional data transfer - in/out/between EC2 AZs or using elastic IPs or ELB'
        WHEN r.pricing_unit = 'GB-Mo' THEN '$' || r.od_rate || ' per GB-month of storage'
        WHEN r.pricing_unit = 'Requests' THEN '$0.005 per 1,000 PUT, COPY, POST, or LIST requests'
        WHEN r.usage_type = 'LoadBalancerUsage' THEN '$0.0225 per Application LoadBalancer-hour (or partial hour)'
        ELSE '$' || r.od_rate || ' per GB of data processed'
    END AS description,
    CASE WHEN r.role = 'ri' THEN 'Reserved' WHEN r.role = 'pod' THEN '' ELSE 'OnDemand' END
        AS pricing_term,
    map_from_entries(list_filter([
        {'k': 'user_product', 'v': r.tag_product},
        {'k': 'user_team', 'v': r.tag_team},
        {'k': 'user_environment', 'v': r.tag_env},
        {'k': 'user_customer', 'v': r.tag_customer},
        {'k': 'user_feature', 'v': r.tag_feature},
        {'k': 'user_service', 'v': r.tag_service}
    ], lambda e: e.v <> '')) AS resource_tags,
    map_from_entries(list_filter([{'k': 'business_unit', 'v': r.business_unit}],
        lambda e: e.v <> '')) AS cost_category,
    map_from_entries(list_filter([
        {'k': 'product_name', 'v': r.product_name},
        {'k': 'region', 'v': @region@},
        {'k': 'product_family', 'v': r.product_family},
        {'k': 'instance_type', 'v': r.instance_type},
        {'k': 'servicecode', 'v': r.servicecode}
    ], lambda e: e.v <> '')) AS product
FROM resources r
JOIN range(2) s(sub)
  ON s.sub < CASE WHEN r.role IN ('sp', 'transfer') THEN 2 ELSE 1 END;
"""


# --------------------------------------------------------------------------------------------
# CUR views: per-line facts, aggregates, fee lines, final projection
# --------------------------------------------------------------------------------------------
_BASE_FACTS_SQL = """
CREATE VIEW @name@ AS
WITH x AS (
    SELECT
        rl.*, u.unit_idx, u.month_idx, u.billing_period, u.is_last, u.period_start, u.period_end,
        u.usage_start, u.usage_end, u.unit_hours, u.file_no, u.time_interval,
        line_qty(rl.qty_kind, rl.res_id, u.unit_idx, rl.base, u.unit_hours, u.hours_in_month,
                 u.progress, u.is_weekend) AS qty,
        CASE WHEN rl.role = 'pod' THEN round(
            line_qty('hours', rl.parent_res_id, u.unit_idx, 1.0, u.unit_hours, u.hours_in_month,
                     u.progress, u.is_weekend) * rl.parent_rate, 10) END AS parent_cost,
        CASE WHEN rl.role = 'pod'
             THEN round(0.5 + 0.45 * rnd(rl.res_id, u.unit_idx, 14), 4)::DECIMAL(5, 4) END AS util
    FROM @source@
),
c AS (
    SELECT *,
        round(qty * od_rate, 10) AS od_cost,
        -- pods: cumulative-share rounding telescopes, so pods sum exactly to the node's cost
        round(parent_cost::DECIMAL(18, 10) * share_hi, 10)
            - round(parent_cost::DECIMAL(18, 10) * share_lo, 10) AS pod_amount
    FROM x
)
SELECT
    month_idx, billing_period, is_last, period_start, period_end, unit_idx, file_no,
    usage_start, usage_end, time_interval,
    concat(line_id, '-', unit_idx) AS line_key,
    account_id, line_type, product_code, servicecode, product_family, usage_type,
    line_operation AS operation, az, resource_id, instance_type,
    qty, norm_factor, unblended_rate, description, pricing_term, pricing_unit, od_rate_str,
    from_location, to_location, resource_tags, cost_category, product,
    CASE WHEN line_type = 'SavingsPlanNegation' THEN -od_cost
         WHEN line_type = 'DiscountedUsage' OR role = 'pod' THEN 0.0
         ELSE od_cost END AS unblended,
    CASE WHEN line_type = 'DiscountedUsage' THEN round(qty * ri_rate, 10)
         WHEN line_type = 'SavingsPlanNegation' THEN -od_cost
         WHEN role = 'pod' THEN 0.0
         ELSE od_cost END AS blended,
    CASE WHEN role = 'pod' THEN 0.0 ELSE od_cost END AS od_cost,
    role = 'sp' AS is_sp,
    CASE WHEN line_type = 'SavingsPlanCoveredUsage' THEN round(qty * sp_rate, 10) ELSE 0.0 END
        AS sp_effective,
    CASE WHEN line_type = 'DiscountedUsage' THEN round(qty * ri_rate, 10) ELSE 0.0 END
        AS ri_effective,
    role = 'ri' AS is_ri,
    CASE WHEN role = 'pod' THEN parent_resource_id ELSE '' END AS split_parent,
    CASE WHEN role = 'pod' THEN round(pod_amount * util, 10)::DOUBLE ELSE 0.0 END AS split_cost,
    CASE WHEN role = 'pod' THEN (pod_amount - round(pod_amount * util, 10))::DOUBLE ELSE 0.0 END
        AS split_unused,
    role = 'pod' AS is_split
FROM c
"""

_AGGREGATES_SQL = """
-- Hourly commitment sized just above what the covered fleet can burn, so it is never exceeded
-- but is partly unused whenever a covered instance is stopped.
CREATE TABLE sp_plan AS
SELECT (ceil(sum(sp_rate) * 100 * 1.01) / 100)::DECIMAL(18, 2) AS commit_per_hour
FROM resources WHERE role = 'sp';

CREATE TABLE sp_used AS
SELECT unit_idx, sum(sp_effective::DECIMAL(38, 10)) AS used
FROM all_base_facts WHERE is_sp GROUP BY unit_idx;

CREATE TABLE ri_month AS
SELECT month_idx, sum(ri_effective::DECIMAL(38, 10)) AS used_fee, sum(qty) AS used_hours
FROM all_base_facts WHERE is_ri GROUP BY month_idx;

-- Billed amount per month and product code before fees, support and tax.
CREATE TABLE code_month AS
SELECT month_idx, product_code, sum(unblended::DECIMAL(38, 10)) AS billed
FROM all_base_facts GROUP BY ALL;
"""

_FEE_FACTS_SQL = """
CREATE VIEW sp_fee_facts AS
SELECT
    u.month_idx, u.billing_period, u.is_last, u.period_start, u.period_end, u.unit_idx,
    u.file_no, u.usage_start, u.usage_end, u.time_interval,
    'spfee-' || u.unit_idx AS line_key, @prod@ AS account_id,
    'SavingsPlanRecurringFee' AS line_type, 'ComputeSavingsPlans' AS product_code,
    'ComputeSavingsPlans' AS servicecode, '' AS product_family,
    'ComputeSP:1yrNoUpfront' AS usage_type, '' AS operation, '' AS az,
    @sp_arn@ AS resource_id, '' AS instance_type, u.unit_hours AS qty, 0.0 AS norm_factor,
    '' AS unblended_rate, '1 year No Upfront Compute Savings Plan' AS description,
    '' AS pricing_term, '' AS pricing_unit, '' AS od_rate_str,
    (p.commit_per_hour * u.unit_hours::DECIMAL(18, 2))::DOUBLE AS unblended,
    (p.commit_per_hour * u.unit_hours::DECIMAL(18, 2))::DOUBLE AS blended,
    0.0 AS od_cost,
    (p.commit_per_hour * u.unit_hours::DECIMAL(18, 2))::DOUBLE AS sp_total_commitment,
    coalesce(s.used, 0)::DOUBLE AS sp_used_commitment,
    (p.commit_per_hour * u.hours_in_month::DECIMAL(18, 2))::DOUBLE AS sp_recurring_month,
    true AS is_sp, false AS is_ri, false AS is_split
FROM units u CROSS JOIN sp_plan p LEFT JOIN sp_used s USING (unit_idx);

CREATE TABLE monthly_amounts AS
WITH ri AS (
    SELECT m.month_idx,
        (0.585 * 2 * date_diff('hour', m.period_start::TIMESTAMP, m.period_end::TIMESTAMP))
            ::DECIMAL(38, 10) AS fee,
        coalesce(r.used_fee, 0) AS used_fee,
        2.0 * date_diff('hour', m.period_start::TIMESTAMP, m.period_end::TIMESTAMP) AS hours,
        coalesce(r.used_hours, 0) AS used_hours
    FROM months m LEFT JOIN ri_month r USING (month_idx)
),
sp AS (
    SELECT u.month_idx, sum(p.commit_per_hour * u.unit_hours::DECIMAL(18, 2)) AS fee
    FROM units u CROSS JOIN sp_plan p GROUP BY u.month_idx
),
before_support AS (
    SELECT month_idx, product_code, billed FROM code_month
    UNION ALL SELECT month_idx, 'ComputeSavingsPlans', fee FROM sp
    UNION ALL SELECT month_idx, 'AmazonRDS', fee FROM ri
),
support AS (
    -- AWS Business Support tiers: 10 % / 7 % / 5 % / 3 % of monthly usage, $100 minimum
    SELECT month_idx, 'AWSSupportBusiness' AS product_code, greatest(100, round(
          0.10 * least(total, 10000)
        + 0.07 * greatest(least(total, 80000) - 10000, 0)
        + 0.05 * greatest(least(total, 250000) - 80000, 0)
        + 0.03 * greatest(total - 250000, 0), 2))::DECIMAL(38, 10) AS billed
    FROM (SELECT month_idx, sum(billed) AS total FROM before_support GROUP BY month_idx)
),
taxable AS (
    SELECT month_idx, product_code, sum(billed) AS billed
    FROM (SELECT * FROM before_support UNION ALL SELECT * FROM support)
    GROUP BY ALL HAVING sum(billed) > 0
)
SELECT month_idx, 'RIFee' AS kind, 'AmazonRDS' AS product_code, fee AS amount,
       fee - used_fee AS unused_fee, hours AS qty, hours - used_hours AS unused_qty
FROM ri
UNION ALL
SELECT month_idx, 'Fee', product_code, billed, NULL, 1.0, NULL FROM support
UNION ALL
SELECT month_idx, 'Tax', product_code, round(billed * @tax_rate@, 2), NULL, 0.0, NULL FROM taxable
UNION ALL
SELECT month_idx, 'Credit', 'AmazonEC2', @credit@, NULL, 0.0, NULL FROM months
UNION ALL
SELECT month_idx, 'Refund', 'AmazonRDS', @refund@, NULL, 0.0, NULL FROM months
WHERE month_idx = @refund_month@;

CREATE VIEW monthly_facts AS
SELECT
    m.month_idx, m.billing_period, m.is_last, m.period_start::TIMESTAMP AS period_start,
    m.period_end::TIMESTAMP AS period_end, -1 AS unit_idx, 1 AS file_no,
    m.period_start::TIMESTAMP AS usage_start,
    m.period_end::TIMESTAMP AS usage_end,
    strftime(m.period_start::TIMESTAMP, '%Y-%m-%dT%H:%M:%SZ') || '/'
        || strftime(m.period_end::TIMESTAMP, '%Y-%m-%dT%H:%M:%SZ') AS time_interval,
    a.kind || '-' || a.product_code || '-' || m.month_idx AS line_key,
    @prod@ AS account_id, a.kind AS line_type, a.product_code,
    a.product_code AS servicecode, '' AS product_family,
    CASE a.kind WHEN 'RIFee' THEN 'HeavyUsage:db.r6g.2xl' ELSE '' END AS usage_type,
    CASE a.kind WHEN 'RIFee' THEN 'CreateDBInstance:0014' ELSE '' END AS operation,
    '' AS az, '' AS resource_id,
    CASE a.kind WHEN 'RIFee' THEN 'db.r6g.2xlarge' ELSE '' END AS instance_type,
    a.qty AS qty, CASE a.kind WHEN 'RIFee' THEN 16.0 ELSE 0.0 END AS norm_factor,
    CASE a.kind WHEN 'RIFee' THEN '0.5850000000' ELSE '' END AS unblended_rate,
    CASE a.kind
        WHEN 'RIFee' THEN 'USD 0.585 hourly fee per PostgreSQL, db.r6g.2xl instance'
        WHEN 'Fee' THEN 'AWS Support (Business)'
        WHEN 'Tax' THEN 'Tax for product code ' || a.product_code
        WHEN 'Credit' THEN 'AWS Promotional Credit'
        WHEN 'Refund' THEN 'Refund: service credit for Amazon RDS availability SLA'
    END AS description,
    CASE a.kind WHEN 'Tax' THEN 'Sales Tax' ELSE '' END AS tax_type,
    CASE a.kind WHEN 'RIFee' THEN 'Reserved' ELSE '' END AS pricing_term,
    CASE a.kind WHEN 'RIFee' THEN 'Hrs' ELSE '' END AS pricing_unit, '' AS od_rate_str,
    a.amount::DOUBLE AS unblended, a.amount::DOUBLE AS blended, 0.0 AS od_cost,
    CASE WHEN a.kind = 'RIFee' THEN a.unused_fee::DOUBLE ELSE 0.0 END AS ri_unused_recurring,
    CASE WHEN a.kind = 'RIFee' THEN a.unused_qty ELSE 0.0 END AS ri_unused_qty,
    a.kind = 'RIFee' AS is_ri, false AS is_sp, false AS is_split,
    -- discounts (EDP-like) never apply to tax, credits or refunds
    a.kind IN ('Tax', 'Credit', 'Refund') AS no_discount
FROM monthly_amounts a JOIN months m USING (month_idx);

CREATE VIEW facts AS
SELECT * FROM base_facts
UNION ALL BY NAME SELECT * FROM sp_fee_facts
UNION ALL BY NAME SELECT * FROM monthly_facts;
"""

# Gross money columns are never NULL ('' / 0 when not applicable, as the export writes them);
# *_net_* columns exist only in the last (discounted) month, the drift real CUR shows.
_CUR_SELECT_SQL = """
CREATE VIEW cur AS
WITH f AS (
    SELECT *,
        CASE WHEN NOT is_last THEN NULL
             WHEN coalesce(no_discount, false) THEN unblended
             ELSE round(unblended * @net@, 10) END AS net_unblended
    FROM facts
)
SELECT
    md5(concat('@seed@|', line_key))::VARCHAR AS identity_line_item_id,
    time_interval::VARCHAR AS identity_time_interval,
    CASE WHEN is_last THEN NULL ELSE 'INV-' || billing_period END::VARCHAR AS bill_invoice_id,
    'Amazon Web Services, Inc.'::VARCHAR AS bill_invoicing_entity,
    'AWS'::VARCHAR AS bill_billing_entity,
    'Anniversary'::VARCHAR AS bill_bill_type,
    @payer@::VARCHAR AS bill_payer_account_id,
    period_start::TIMESTAMP AS bill_billing_period_start_date,
    period_end::TIMESTAMP AS bill_billing_period_end_date,
    account_id::VARCHAR AS line_item_usage_account_id,
    line_type::VARCHAR AS line_item_line_item_type,
    usage_start::TIMESTAMP AS line_item_usage_start_date,
    usage_end::TIMESTAMP AS line_item_usage_end_date,
    product_code::VARCHAR AS line_item_product_code,
    usage_type::VARCHAR AS line_item_usage_type,
    operation::VARCHAR AS line_item_operation,
    az::VARCHAR AS line_item_availability_zone,
    resource_id::VARCHAR AS line_item_resource_id,
    qty::DOUBLE AS line_item_usage_amount,
    norm_factor::DOUBLE AS line_item_normalization_factor,
    round(qty * norm_factor, 8)::DOUBLE AS line_item_normalized_usage_amount,
    @currency@::VARCHAR AS line_item_currency_code,
    unblended_rate::VARCHAR AS line_item_unblended_rate,
    unblended::DOUBLE AS line_item_unblended_cost,
    blended::DOUBLE AS line_item_blended_cost,
    net_unblended::DOUBLE AS line_item_net_unblended_cost,
    description::VARCHAR AS line_item_line_item_description,
    coalesce(tax_type, '')::VARCHAR AS line_item_tax_type,
    'Amazon Web Services, Inc.'::VARCHAR AS line_item_legal_entity,
    od_cost::DOUBLE AS pricing_public_on_demand_cost,
    od_rate_str::VARCHAR AS pricing_public_on_demand_rate,
    pricing_term::VARCHAR AS pricing_term,
    pricing_unit::VARCHAR AS pricing_unit,
    coalesce(product, MAP {})::MAP(VARCHAR, VARCHAR) AS product,
    CASE WHEN line_type IN ('Usage', 'SavingsPlanCoveredUsage', 'SavingsPlanNegation',
                            'DiscountedUsage', 'RIFee') THEN @region@ ELSE '' END::VARCHAR
        AS product_region_code,
    servicecode::VARCHAR AS product_servicecode,
    product_family::VARCHAR AS product_product_family,
    instance_type::VARCHAR AS product_instance_type,
    coalesce(from_location, '')::VARCHAR AS product_from_location,
    coalesce(to_location, '')::VARCHAR AS product_to_location,
    CASE WHEN is_sp THEN @sp_arn@ ELSE '' END::VARCHAR AS savings_plan_savings_plan_a_r_n,
    coalesce(sp_effective, 0)::DOUBLE AS savings_plan_savings_plan_effective_cost,
    CASE WHEN is_last THEN round(coalesce(sp_effective, 0) * @net@, 10) END::DOUBLE
        AS savings_plan_net_savings_plan_effective_cost,
    coalesce(sp_total_commitment, 0)::DOUBLE AS savings_plan_total_commitment_to_date,
    coalesce(sp_used_commitment, 0)::DOUBLE AS savings_plan_used_commitment,
    0.0::DOUBLE AS savings_plan_amortized_upfront_commitment_for_billing_period,
    coalesce(sp_recurring_month, 0)::DOUBLE AS savings_plan_recurring_commitment_for_billing_period,
    CASE WHEN is_ri THEN @ri_arn@ ELSE '' END::VARCHAR AS reservation_reservation_a_r_n,
    coalesce(ri_effective, 0)::DOUBLE AS reservation_effective_cost,
    CASE WHEN is_last THEN round(coalesce(ri_effective, 0) * @net@, 10) END::DOUBLE
        AS reservation_net_effective_cost,
    0.0::DOUBLE AS reservation_amortized_upfront_fee_for_billing_period,
    0.0::DOUBLE AS reservation_amortized_upfront_cost_for_usage,
    coalesce(ri_effective, 0)::DOUBLE AS reservation_recurring_fee_for_usage,
    0.0::DOUBLE AS reservation_unused_amortized_upfront_fee_for_billing_period,
    CASE WHEN is_last THEN 0.0 END::DOUBLE
        AS reservation_net_unused_amortized_upfront_fee_for_billing_period,
    coalesce(ri_unused_recurring, 0)::DOUBLE AS reservation_unused_recurring_fee,
    CASE WHEN is_last THEN round(coalesce(ri_unused_recurring, 0) * @net@, 10) END::DOUBLE
        AS reservation_net_unused_recurring_fee,
    coalesce(ri_unused_qty, 0)::DOUBLE AS reservation_unused_quantity,
    coalesce(split_parent, '')::VARCHAR AS split_line_item_parent_resource_id,
    coalesce(split_cost, 0)::DOUBLE AS split_line_item_split_cost,
    coalesce(split_unused, 0)::DOUBLE AS split_line_item_unused_cost,
    CASE WHEN is_last THEN round(coalesce(split_cost, 0) * @net@, 10) END::DOUBLE
        AS split_line_item_net_split_cost,
    CASE WHEN is_last THEN round(coalesce(split_unused, 0) * @net@, 10) END::DOUBLE
        AS split_line_item_net_unused_cost,
    coalesce(resource_tags, MAP {})::MAP(VARCHAR, VARCHAR) AS resource_tags,
    coalesce(cost_category, MAP {})::MAP(VARCHAR, VARCHAR) AS cost_category,
    CASE WHEN is_last AND net_unblended <> unblended
         THEN {'total_discount': round(net_unblended - unblended, 10)::VARCHAR}
              ::MAP(VARCHAR, VARCHAR)
         ELSE MAP {} END::MAP(VARCHAR, VARCHAR) AS discount,
    billing_period AS _billing_period,
    file_no AS _file_no
FROM f
"""


def _sp_arn(seed: int) -> str:
    # Stable per seed so the fee rows, covered rows and negations all name the same plan.
    return f"arn:aws:savingsplans::{PROD_ACCOUNT_ID}:savingsplan/{_uuid_like(seed, 'sp')}"


def _ri_arn() -> str:
    return f"arn:aws:rds:{REGION}:{PROD_ACCOUNT_ID}:ri:shared-postgres-1yr-no-upfront"


def _uuid_like(seed: int, key: str) -> str:
    h = hashlib.md5(f"{seed}/{key}".encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def _create_views(con: duckdb.DuckDBPyConnection, plan: CurPlan, seed: int) -> None:
    refund_month = min(1, len(plan.months) - 1)
    # Two spellings of the same per-line facts. The cross product of two small tables is one
    # scan task for DuckDB, fine for the cheap aggregates; the COPY instead scans a materialised
    # (line_id, unit_idx) table per output file, which splits into row groups and so runs on all
    # cores, where the parquet encoding is the real cost.
    con.execute(
        sql(_BASE_FACTS_SQL, name="all_base_facts", source="resource_lines rl CROSS JOIN units u")
    )
    con.execute("CREATE TABLE pairs (line_id BIGINT, unit_idx BIGINT)")
    con.execute(
        sql(
            _BASE_FACTS_SQL,
            name="base_facts",
            source="""pairs p JOIN resource_lines rl ON rl.line_id = p.line_id
                      JOIN units u ON u.unit_idx = p.unit_idx""",
        )
    )
    con.execute(_AGGREGATES_SQL)
    con.execute(
        sql(
            _FEE_FACTS_SQL,
            prod=q(PROD_ACCOUNT_ID),
            sp_arn=q(_sp_arn(seed)),
            tax_rate=f"{TAX_RATE}::DECIMAL(6, 4)",
            credit=f"{CREDIT_AMOUNT}::DECIMAL(38, 10)",
            refund=f"{REFUND_AMOUNT}::DECIMAL(38, 10)",
            refund_month=refund_month,
        )
    )
    con.execute(
        sql(
            _CUR_SELECT_SQL,
            seed=seed,
            net=NET_DISCOUNT_FACTOR,
            payer=q(PAYER_ACCOUNT_ID),
            currency=q(CURRENCY),
            region=q(REGION),
            sp_arn=q(_sp_arn(seed)),
            ri_arn=q(_ri_arn()),
        )
    )


def _write_files(
    con: duckdb.DuckDBPyConnection, out_dir: Path, plan: CurPlan, seed: int
) -> tuple[list[Path], list[Path], dict[str, int]]:
    """Write each billing period as 1..n parquet files plus its manifest."""
    export_root = out_dir / "cur" / EXPORT_NAME
    if export_root.exists():
        # A stale extra split file would not be in the new manifest; replace the export whole.
        shutil.rmtree(export_root)
    columns = ", ".join(name for name, _ in CUR_COLUMNS)
    data_files: list[Path] = []
    manifests: list[Path] = []
    rows_by_period: dict[str, int] = {}
    for month in plan.months:
        period_dir = export_root / "data" / f"BILLING_PERIOD={month.billing_period}"
        period_dir.mkdir(parents=True, exist_ok=True)
        period_files: list[Path] = []
        rows = 0
        for file_no in range(1, month.n_files + 1):
            path = period_dir / f"{EXPORT_NAME}-{file_no:05d}.snappy.parquet"
            con.execute(
                f"""CREATE OR REPLACE TABLE pairs AS
                SELECT rl.line_id, u.unit_idx FROM units u CROSS JOIN resource_lines rl
                WHERE u.billing_period = '{month.billing_period}' AND u.file_no = {file_no}"""
            )
            result = con.execute(
                f"""COPY (SELECT {columns} FROM cur
                    WHERE _billing_period = '{month.billing_period}' AND _file_no = {file_no})
                TO '{path.as_posix()}' (FORMAT parquet, COMPRESSION snappy)"""
            ).fetchone()
            rows += int(result[0]) if result else 0
            period_files.append(path)
        rows_by_period[month.billing_period] = rows
        data_files.extend(period_files)
        manifests.append(_write_manifest(export_root, month, period_files, out_dir, seed))
        logger.info("CUR %s: %s rows in %s file(s)", month.billing_period, rows, len(period_files))
    return data_files, manifests, rows_by_period


def _write_manifest(
    export_root: Path, month: CurMonth, files: list[Path], out_dir: Path, seed: int
) -> Path:
    """A CUR 2.0 style ``<export>-Manifest.json`` listing exactly the files written."""
    cur_root = out_dir / "cur"
    manifest = {
        "version": "1.0",
        "exportArn": (
            f"arn:aws:bcm-data-exports:{REGION}:{PAYER_ACCOUNT_ID}:export/"
            f"{EXPORT_NAME}-{_uuid_like(seed, 'export')}"
        ),
        "exportName": EXPORT_NAME,
        "billingPeriod": {
            "start": f"{month.month.start.isoformat()}T00:00:00.000Z",
            "end": f"{month.month.end.isoformat()}T00:00:00.000Z",
        },
        "bucket": S3_BUCKET,
        "dataFiles": [
            f"s3://{S3_BUCKET}/{S3_PREFIX}/{p.relative_to(cur_root).as_posix()}" for p in files
        ],
        "columns": [{"name": n, "type": _MANIFEST_TYPES[t]} for n, t in CUR_COLUMNS],
        "executionId": _uuid_like(seed, f"execution/{month.billing_period}"),
    }
    path = export_root / "metadata" / f"BILLING_PERIOD={month.billing_period}"
    path.mkdir(parents=True, exist_ok=True)
    target = path / f"{EXPORT_NAME}-Manifest.json"
    target.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return target


def _cost_by_period(con: duckdb.DuckDBPyConnection, files: list[Path]) -> dict[str, Decimal]:
    file_list = ", ".join(q(p.as_posix()) for p in files)
    rows = con.execute(
        f"""SELECT strftime(bill_billing_period_start_date, '%Y-%m'),
                   sum(line_item_unblended_cost::DECIMAL(38, 10))
            FROM read_parquet([{file_list}]) GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    return {period: Decimal(total) for period, total in rows}


def write(
    con: duckdb.DuckDBPyConnection, out_dir: Path, plan: CurPlan, seed: int
) -> tuple[list[Path], list[Path], dict[str, int], dict[str, Decimal]]:
    """Write the export under ``out_dir/cur``; return data files, manifests, rows and cost per period."""
    _create_views(con, plan, seed)
    data_files, manifests, rows_by_period = _write_files(con, out_dir, plan, seed)
    return data_files, manifests, rows_by_period, _cost_by_period(con, data_files)
