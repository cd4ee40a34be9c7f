"""Tests for ``ingest.sample_data``: determinism, size, and the billing invariants it promises."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ingest import sample_data
from ingest.sample import cur
from ingest.sample_data import SampleSummary, generate

TOLERANCE = 1e-6


# --------------------------------------------------------------------------------------------
# Fixtures: one small daily data set and one hourly data set split into several files.
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def daily(tmp_path_factory: pytest.TempPathFactory) -> SampleSummary:
    return generate(tmp_path_factory.mktemp("daily"), cur_lines=5_000, seed=11)


@pytest.fixture(scope="module")
def hourly(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SampleSummary]:
    # A low split threshold exercises the multi-file layout without generating 6 M lines.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cur, "MAX_ROWS_PER_FILE", 25_000)
        yield generate(
            tmp_path_factory.mktemp("hourly"), cur_lines=200_000, query_log_rows=2_000, seed=5
        )


@pytest.fixture(params=["daily", "hourly"])
def summary(request: pytest.FixtureRequest) -> SampleSummary:
    return request.getfixturevalue(request.param)


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    yield connection
    connection.close()


def _cur(con: duckdb.DuckDBPyConnection, summary: SampleSummary) -> str:
    """Register the CUR export as view ``cur`` with a ``billing_period`` column; return its name."""
    files = ", ".join(f"'{p.as_posix()}'" for p in summary.cur_data_files)
    con.execute(
        f"""CREATE OR REPLACE VIEW cur AS
            SELECT *, strftime(bill_billing_period_start_date, '%Y-%m') AS billing_period
            FROM read_parquet([{files}])"""
    )
    return "cur"


def _digest(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[int, str]:
    """Order-independent content digest: row order inside parquet files is not a contract."""
    rows, digest = con.execute(
        f"""SELECT count(*), md5(string_agg(h, ',' ORDER BY h))
            FROM (SELECT md5(t::VARCHAR) AS h FROM {relation} t)"""
    ).fetchone()
    return rows, digest


def _dataset_digests(con: duckdb.DuckDBPyConnection, s: SampleSummary) -> dict[str, object]:
    cur_files = ", ".join(f"'{p.as_posix()}'" for p in s.cur_data_files)
    return {
        "cur": _digest(con, f"read_parquet([{cur_files}])"),
        "query_log": _digest(con, f"read_parquet('{s.query_log_file.as_posix()}')"),
        "usage": _digest(con, f"read_parquet('{s.usage_file.as_posix()}')"),
        "revenue": _digest(con, f"read_csv('{s.revenue_file.as_posix()}')"),
        "customers": _digest(con, f"read_csv('{s.customers_file.as_posix()}')"),
        "manifests": [json.loads(p.read_text()) for p in s.cur_manifest_files],
    }


# --------------------------------------------------------------------------------------------
# Determinism and size
# --------------------------------------------------------------------------------------------
def test_same_seed_gives_same_content_and_other_seed_differs(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    first = generate(tmp_path / "a", cur_lines=5_000, query_log_rows=3_000, seed=7)
    again = generate(tmp_path / "b", cur_lines=5_000, query_log_rows=3_000, seed=7)
    other = generate(tmp_path / "c", cur_lines=5_000, query_log_rows=3_000, seed=8)

    d_first, d_again, d_other = (_dataset_digests(con, s) for s in (first, again, other))
    assert d_first == d_again
    assert first.unblended_cost_by_period == again.unblended_cost_by_period
    for dataset in ("cur", "query_log", "usage"):
        assert d_first[dataset] != d_other[dataset], dataset
    assert first.unblended_cost_by_period != other.unblended_cost_by_period
    # reference data is a contract, not randomness
    assert d_first["customers"] == d_other["customers"]
    assert d_first["revenue"] == d_other["revenue"]


@pytest.mark.parametrize(("name", "target"), [("daily", 5_000), ("hourly", 200_000)])
def test_cur_row_count_within_ten_percent(
    name: str, target: int, request: pytest.FixtureRequest
) -> None:
    summary: SampleSummary = request.getfixturevalue(name)
    assert abs(summary.row_counts["cur"] - target) <= 0.1 * target
    assert summary.granularity == name


def test_query_log_rows_default_to_about_cur_lines(daily: SampleSummary) -> None:
    assert abs(daily.row_counts["query_log"] - 5_000) <= 0.1 * 5_000


def test_regenerating_replaces_stale_export_files(tmp_path: Path) -> None:
    stale = tmp_path / "cur/saas-cur/data/BILLING_PERIOD=2026-08/saas-cur-00009.snappy.parquet"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"not parquet")
    summary = generate(tmp_path, cur_lines=5_000, query_log_rows=500, months=1)
    assert not stale.exists()
    assert summary.billing_periods == ("2026-08",)


# --------------------------------------------------------------------------------------------
# CUR shape
# --------------------------------------------------------------------------------------------
def test_cur_has_exactly_the_contract_columns_and_types(
    con: duckdb.DuckDBPyConnection, daily: SampleSummary
) -> None:
    described = con.execute(
        f"""DESCRIBE SELECT * FROM read_parquet('{daily.cur_data_files[0].as_posix()}',
                hive_partitioning = false)"""
    ).fetchall()
    assert [(name, typ) for name, typ, *_ in described] == list(sample_data.CUR_COLUMNS)


def test_identity_ids_unique_and_usage_inside_billing_period(
    con: duckdb.DuckDBPyConnection, summary: SampleSummary
) -> None:
    _cur(con, summary)
    dupes, outside, bad_end = con.execute(
        """SELECT count(*) - count(DISTINCT identity_line_item_id),
                  count(*) FILTER (WHERE line_item_usage_start_date < bill_billing_period_start_date
                      OR line_item_usage_start_date >= bill_billing_period_end_date),
                  count(*) FILTER (WHERE line_item_usage_end_date <= line_item_usage_start_date)
           FROM cur"""
    ).fetchone()
    assert (dupes, outside, bad_end) == (0, 0, 0)


def test_summary_costs_match_files(con: duckdb.DuckDBPyConnection, daily: SampleSummary) -> None:
    _cur(con, daily)
    rows = con.execute(
        """SELECT billing_period, count(*), sum(line_item_unblended_cost::DECIMAL(38, 10))
           FROM cur GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    assert [r[0] for r in rows] == list(daily.billing_periods)
    for period, n, total in rows:
        assert daily.cur_rows_by_period[period] == n
        assert daily.unblended_cost_by_period[period] == Decimal(total)
        # the brief: a realistic mid-size bill at the default-ish size
        assert Decimal(10_000) < total < Decimal(100_000)


def test_savings_plan_amortization_ties_out(
    con: duckdb.DuckDBPyConnection, summary: SampleSummary
) -> None:
    _cur(con, summary)
    rows = con.execute(
        """SELECT billing_period,
              sum(savings_plan_savings_plan_effective_cost)
                  FILTER (WHERE line_item_line_item_type = 'SavingsPlanCoveredUsage')
              + sum(savings_plan_total_commitment_to_date - savings_plan_used_commitment)
                  FILTER (WHERE line_item_line_item_type = 'SavingsPlanRecurringFee'),
              sum(line_item_unblended_cost)
                  FILTER (WHERE line_item_line_item_type = 'SavingsPlanRecurringFee'),
              sum(line_item_unblended_cost) FILTER (WHERE line_item_line_item_type
                  IN ('SavingsPlanCoveredUsage', 'SavingsPlanNegation')),
              count(*) FILTER (WHERE line_item_line_item_type = 'SavingsPlanRecurringFee'
                  AND savings_plan_used_commitment > savings_plan_total_commitment_to_date),
              count(*) FILTER (WHERE line_item_line_item_type = 'SavingsPlanRecurringFee'
                  AND savings_plan_used_commitment < savings_plan_total_commitment_to_date),
              count(*) FILTER (WHERE line_item_line_item_type = 'SavingsPlanCoveredUsage'),
              count(*) FILTER (WHERE line_item_line_item_type = 'SavingsPlanNegation')
           FROM cur GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    assert len(rows) == len(summary.billing_periods)
    for period, amortized, fees, covered_plus_negation, over, unused, n_cov, n_neg in rows:
        assert amortized == pytest.approx(fees, abs=TOLERANCE), period
        assert covered_plus_negation == pytest.approx(0.0, abs=TOLERANCE), period
        assert over == 0 and unused > 0 and n_cov == n_neg > 0, period


def test_covered_usage_is_tagged_and_negation_mirrors_it(
    con: duckdb.DuckDBPyConnection, daily: SampleSummary
) -> None:
    _cur(con, daily)
    untagged_covered, unmatched = con.execute(
        """WITH cov AS (SELECT line_item_resource_id r, line_item_usage_start_date s,
                               line_item_unblended_cost c FROM cur
                        WHERE line_item_line_item_type = 'SavingsPlanCoveredUsage'),
                neg AS (SELECT line_item_resource_id r, line_item_usage_start_date s,
                               line_item_unblended_cost c, savings_plan_savings_plan_effective_cost e
                        FROM cur WHERE line_item_line_item_type = 'SavingsPlanNegation')
           SELECT (SELECT count(*) FROM cur WHERE line_item_line_item_type
                       = 'SavingsPlanCoveredUsage' AND resource_tags['user_product'] IS NULL),
                  (SELECT count(*) FROM cov FULL JOIN neg USING (r, s)
                   WHERE cov.c IS NULL OR neg.c IS NULL OR cov.c + neg.c <> 0 OR neg.e <> 0)"""
    ).fetchone()
    assert (untagged_covered, unmatched) == (0, 0)


def test_reserved_instance_amortization_ties_out(
    con: duckdb.DuckDBPyConnection, summary: SampleSummary
) -> None:
    _cur(con, summary)
    rows = con.execute(
        """SELECT billing_period,
              sum(reservation_effective_cost) FILTER (WHERE line_item_line_item_type = 'DiscountedUsage')
              + sum(reservation_unused_recurring_fee
                    + reservation_unused_amortized_upfront_fee_for_billing_period)
                  FILTER (WHERE line_item_line_item_type = 'RIFee'),
              sum(line_item_unblended_cost) FILTER (WHERE line_item_line_item_type = 'RIFee'),
              count(*) FILTER (WHERE line_item_line_item_type = 'RIFee'),
              sum(abs(line_item_unblended_cost))
                  FILTER (WHERE line_item_line_item_type = 'DiscountedUsage'),
              count(DISTINCT reservation_reservation_a_r_n) FILTER (WHERE line_item_line_item_type
                  IN ('DiscountedUsage', 'RIFee'))
           FROM cur GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    for period, amortized, fee, n_fee, discounted_billed, n_arn in rows:
        assert amortized == pytest.approx(fee, abs=TOLERANCE), period
        assert (n_fee, discounted_billed, n_arn) == (1, 0.0, 1), period


def test_split_cost_pods_sum_to_parent(
    con: duckdb.DuckDBPyConnection, summary: SampleSummary
) -> None:
    _cur(con, summary)
    n_pairs, worst_gap, pod_billed, parents_without_pods = con.execute(
        """WITH pods AS (
               SELECT split_line_item_parent_resource_id AS r, line_item_usage_start_date AS s,
                      sum(split_line_item_split_cost + split_line_item_unused_cost) AS split,
                      sum(abs(line_item_unblended_cost)) AS billed
               FROM cur WHERE line_item_operation = 'EKSPod-EC2' GROUP BY ALL),
           parents AS (
               SELECT line_item_resource_id AS r, line_item_usage_start_date AS s,
                      line_item_unblended_cost AS cost
               FROM cur WHERE line_item_resource_id LIKE 'i-eks%'
                 AND line_item_line_item_type = 'Usage')
           SELECT count(*), max(abs(pods.split - parents.cost)), sum(pods.billed),
                  count(*) FILTER (WHERE pods.r IS NULL)
           FROM parents LEFT JOIN pods USING (r, s)"""
    ).fetchone()
    assert n_pairs > 0
    assert worst_gap < TOLERANCE
    assert pod_billed == 0.0
    assert parents_without_pods == 0


def test_last_month_is_open_and_discounted_earlier_months_closed(
    con: duckdb.DuckDBPyConnection, summary: SampleSummary
) -> None:
    _cur(con, summary)
    rows = con.execute(
        """SELECT billing_period, count(*),
                  count(bill_invoice_id),
                  count(line_item_net_unblended_cost),
                  count(savings_plan_net_savings_plan_effective_cost),
                  count(reservation_net_effective_cost),
                  count(split_line_item_net_split_cost),
                  count(*) FILTER (WHERE bill_invoice_id = 'INV-' || billing_period)
           FROM cur GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    *closed, last = rows
    assert last[2] == 0 and last[3:7] == (last[1],) * 4
    for period, n, invoiced, *nets, named in closed:
        assert invoiced == named == n, period
        assert nets == [0, 0, 0, 0], period


def test_charge_types_and_shared_resources_present(
    con: duckdb.DuckDBPyConnection, daily: SampleSummary
) -> None:
    _cur(con, daily)
    per_month = con.execute(
        """SELECT billing_period,
              count(*) FILTER (WHERE line_item_line_item_type = 'Credit'
                               AND line_item_unblended_cost < 0 AND line_item_resource_id = ''),
              count(*) FILTER (WHERE line_item_line_item_type = 'Tax'
                               AND line_item_tax_type = 'Sales Tax'
                               AND line_item_usage_start_date = bill_billing_period_start_date),
              count(DISTINCT line_item_product_code)
                  FILTER (WHERE line_item_line_item_type = 'Tax'),
              count(*) FILTER (WHERE line_item_line_item_type = 'Fee'
                               AND line_item_product_code = 'AWSSupportBusiness'),
              count(*) FILTER (WHERE line_item_line_item_type = 'Refund')
           FROM cur GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    for _period, credits, taxes, taxed_codes, support, _refunds in per_month:
        assert credits == 1 and support == 1 and taxes == taxed_codes >= 5
    assert sum(r[5] for r in per_month) == 1

    tags = dict(
        con.execute(
            """SELECT k, count(*) FROM (
                   SELECT CASE
                       WHEN line_item_usage_type IN ('LoadBalancerUsage', 'DataProcessing-Bytes')
                            AND resource_tags = MAP {'user_service': 'ingress-alb'} THEN 'alb'
                       WHEN resource_tags['user_service'] = 'clickhouse'
                            AND resource_tags['user_product'] IS NULL THEN 'clickhouse'
                       WHEN resource_tags['user_service'] = 'shared-postgres' THEN 'postgres'
                       WHEN resource_tags['user_customer'] = 'cust_001' THEN 'acme'
                       WHEN line_item_usage_type LIKE '%DataTransfer-Regional-Bytes'
                            AND line_item_resource_id LIKE 'eni-%'
                            AND cardinality(resource_tags) = 0 THEN 'transfer'
                       WHEN line_item_line_item_type = 'Usage' AND cardinality(resource_tags) = 0
                            THEN 'untagged'
                       WHEN line_item_product_code = 'AmazonS3'
                            AND resource_tags['user_product'] IS NOT NULL THEN 's3'
                   END AS k FROM cur) WHERE k IS NOT NULL GROUP BY k"""
        ).fetchall()
    )
    assert set(tags) == {"alb", "clickhouse", "postgres", "acme", "transfer", "untagged", "s3"}
    # every inter-AZ transfer is charged twice: InterZone-In and InterZone-Out, same amount
    unpaired = con.execute(
        """SELECT count(*) FROM (
               SELECT line_item_resource_id, line_item_usage_start_date,
                      count(*) AS n, min(line_item_usage_amount) = max(line_item_usage_amount) AS same
               FROM cur WHERE line_item_usage_type LIKE '%DataTransfer-Regional-Bytes'
               GROUP BY ALL) WHERE n <> 2 OR NOT same"""
    ).fetchone()[0]
    assert unpaired == 0


def test_untagged_usage_is_a_few_percent(
    con: duckdb.DuckDBPyConnection, daily: SampleSummary
) -> None:
    _cur(con, daily)
    share = con.execute(
        """SELECT sum(line_item_unblended_cost) FILTER (WHERE cardinality(resource_tags) = 0)
                  / sum(line_item_unblended_cost)
           FROM cur WHERE line_item_line_item_type = 'Usage'"""
    ).fetchone()[0]
    assert 0.01 < share < 0.15


# --------------------------------------------------------------------------------------------
# Manifests
# --------------------------------------------------------------------------------------------
def test_manifests_list_exactly_the_files_written(
    con: duckdb.DuckDBPyConnection, summary: SampleSummary
) -> None:
    cur_root = summary.out_dir / "cur"
    data_root = cur_root / sample_data.EXPORT_NAME / "data"
    on_disk = sorted(p for p in data_root.rglob("*") if p.is_file())
    assert on_disk == sorted(summary.cur_data_files)

    listed: list[Path] = []
    for manifest_path in summary.cur_manifest_files:
        manifest = json.loads(manifest_path.read_text())
        folder_period = manifest_path.parent.name.removeprefix("BILLING_PERIOD=")
        assert manifest["billingPeriod"]["start"] == f"{folder_period}-01T00:00:00.000Z"
        assert manifest["exportName"] == sample_data.EXPORT_NAME
        assert [c["name"] for c in manifest["columns"]] == [n for n, _ in sample_data.CUR_COLUMNS]
        for key in manifest["dataFiles"]:
            assert key.startswith(f"s3://{manifest['bucket']}/")
            relative = key.split("/cur/", 1)[1]
            local = cur_root / relative
            assert local.parent.name == f"BILLING_PERIOD={folder_period}"
            start = con.execute(
                f"""SELECT DISTINCT strftime(bill_billing_period_start_date, '%Y-%m')
                    FROM read_parquet('{local.as_posix()}')"""
            ).fetchall()
            assert start == [(folder_period,)]
            listed.append(local)
    assert sorted(listed) == on_disk


def test_large_periods_split_into_numbered_files(hourly: SampleSummary) -> None:
    for period in hourly.billing_periods:
        names = sorted(p.name for p in hourly.cur_data_files if p.parent.name.endswith(period))
        assert len(names) > 1
        assert names == [f"saas-cur-{i:05d}.snappy.parquet" for i in range(1, len(names) + 1)]


# --------------------------------------------------------------------------------------------
# ClickHouse query_log
# --------------------------------------------------------------------------------------------
def test_query_log_traps_present(con: duckdb.DuckDBPyConnection, daily: SampleSummary) -> None:
    con.execute(
        f"CREATE VIEW ql AS SELECT * FROM read_parquet('{daily.query_log_file.as_posix()}')"
    )
    types = dict(con.execute("SELECT type, count(*) FROM ql GROUP BY 1").fetchall())
    assert set(types) == {
        "QueryStart",
        "QueryFinish",
        "ExceptionBeforeStart",
        "ExceptionWhileProcessing",
    }
    missing_start, start_with_bytes = con.execute(
        """SELECT
               (SELECT count(*) FROM ql f WHERE f.type IN ('QueryFinish', 'ExceptionWhileProcessing')
                AND NOT EXISTS (SELECT 1 FROM ql s WHERE s.type = 'QueryStart'
                                AND s.query_id = f.query_id)),
               (SELECT count(*) FROM ql WHERE type = 'QueryStart' AND read_bytes > 0)"""
    ).fetchone()
    assert (missing_start, start_with_bytes) == (0, 0)

    n_children, parents_short = con.execute(
        """WITH kids AS (SELECT initial_query_id, sum(read_bytes) AS b FROM ql
                         WHERE is_initial_query = 0 AND type = 'QueryFinish' GROUP BY 1)
           SELECT count(*), count(*) FILTER (WHERE p.read_bytes < kids.b)
           FROM kids JOIN ql p ON p.query_id = kids.initial_query_id
                              AND p.type = 'QueryFinish' AND p.is_initial_query = 1"""
    ).fetchone()
    assert n_children > 0 and parents_short == 0

    comments = dict(
        con.execute(
            """SELECT CASE WHEN log_comment = '' THEN 'empty'
                           WHEN try(json_extract_string(log_comment, '$.product')) IS NOT NULL
                                AND json_valid(log_comment) THEN 'json'
                           WHEN NOT json_valid(log_comment) THEN 'malformed'
                           ELSE 'other' END, count(*)
               FROM ql GROUP BY 1"""
        ).fetchall()
    )
    assert comments["json"] > comments["empty"] > comments["malformed"] > 0
    users = {u for (u,) in con.execute("SELECT DISTINCT user FROM ql").fetchall()}
    assert users == set(sample_data.CLICKHOUSE_USERS)
    hosts = {h for (h,) in con.execute("SELECT DISTINCT hostname FROM ql").fetchall()}
    assert hosts == set(sample_data.CLICKHOUSE_HOSTS)
    profile_keys = con.execute(
        """SELECT map_keys(ProfileEvents) FROM ql WHERE type = 'QueryFinish'
           AND query_kind = 'Select' LIMIT 1"""
    ).fetchone()[0]
    assert {"OSCPUVirtualTimeMicroseconds", "SelectedRows", "SelectedBytes"} <= set(profile_keys)
    span = con.execute(
        "SELECT strftime(min(event_date), '%Y-%m'), strftime(max(event_date), '%Y-%m') FROM ql"
    ).fetchone()
    assert span == (daily.billing_periods[0], daily.billing_periods[-1])


def test_query_log_types_match_clickhouse_parquet_export(
    con: duckdb.DuckDBPyConnection, daily: SampleSummary
) -> None:
    described = dict(
        (name, typ)
        for name, typ, *_ in con.execute(
            f"DESCRIBE SELECT * FROM read_parquet('{daily.query_log_file.as_posix()}')"
        ).fetchall()
    )
    assert described["event_time"] == "TIMESTAMP WITH TIME ZONE"
    assert described["event_date"] == "DATE"
    assert described["read_bytes"] == "UBIGINT"
    assert described["is_initial_query"] == "UTINYINT"
    assert described["exception_code"] == "INTEGER"
    assert described["tables"] == "VARCHAR[]"
    assert described["ProfileEvents"] == "MAP(VARCHAR, UBIGINT)"


# --------------------------------------------------------------------------------------------
# Drivers, revenue, customers
# --------------------------------------------------------------------------------------------
def test_zero_requests_day_exists(con: duckdb.DuckDBPyConnection, daily: SampleSummary) -> None:
    rows = con.execute(
        f"""SELECT product, sum(quantity), count(*)
            FROM read_parquet('{daily.usage_file.as_posix()}')
            WHERE metric = 'requests' AND date = DATE '{daily.zero_driver_date.isoformat()}'
            GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    assert [r[0] for r in rows] == sorted(sample_data.PRODUCTS)
    assert all(total == 0.0 and n > 0 for _, total, n in rows)
    assert daily.zero_driver_date.isoformat() == "2026-09-15"


def test_usage_metrics(con: duckdb.DuckDBPyConnection, daily: SampleSummary) -> None:
    metrics = dict(
        con.execute(
            f"""SELECT metric, count(DISTINCT product) FROM read_parquet('{daily.usage_file.as_posix()}')
                GROUP BY 1"""
        ).fetchall()
    )
    assert metrics == {
        "requests": 4,
        "events": 1,
        "recordings": 1,
        "flag_requests": 1,
        "ai_requests": 1,
        "gb_stored": 4,
        "active_tenants": 4,
        # the four products and the ClickHouse pool (pool:clickhouse)
        "monitored_series": 5,
    }
    ai_without_feature = con.execute(
        f"""SELECT count(*) FROM read_parquet('{daily.usage_file.as_posix()}')
            WHERE metric = 'ai_requests' AND (feature_id IS NULL OR customer_id IS NULL)"""
    ).fetchone()[0]
    assert ai_without_feature == 0


def test_revenue_for_named_customers(daily: SampleSummary) -> None:
    with daily.revenue_file.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert set(rows[0]) == {"month", "customer_id", "product", "amount", "currency"}
    expected = {
        "cust_001": Decimal(5000),
        "cust_002": Decimal(299),
        "cust_003": Decimal(49),
        "cust_004": Decimal(0),
    }
    totals: dict[tuple[str, str], Decimal] = {}
    for row in rows:
        assert row["currency"] == "USD"
        key = (row["month"], row["customer_id"])
        totals[key] = totals.get(key, Decimal(0)) + Decimal(row["amount"])
    months = sorted({m for m, _ in totals})
    assert months == [f"{p}-01" for p in daily.billing_periods]
    for month in months:
        for customer, mrr in expected.items():
            assert totals[(month, customer)] == mrr


def test_customers_file(daily: SampleSummary) -> None:
    with daily.customers_file.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 40
    names = {r["customer_id"]: r["name"] for r in rows}
    assert [names[f"cust_00{i}"] for i in range(1, 5)] == [
        "Acme Corp",
        "Beta Inc",
        "Gamma LLC",
        "Delta Co",
    ]
    assert {r["plan"] for r in rows} == set(sample_data.PLAN_PRICES)
    assert {r["status"] for r in rows} == {"active", "churned"}


def test_sample_modules_import_one_way() -> None:
    """company → sources → generator: a source never imports another source or the generator."""
    import ast

    package = Path(__file__).resolve().parents[1] / "sample"
    imports: dict[str, set[str]] = {}
    for path in package.glob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "ingest.sample":
                    names |= {alias.name for alias in node.names}
                elif node.module.startswith("ingest.sample."):
                    names.add(node.module.rpartition(".")[2])
            elif isinstance(node, ast.Import):
                names |= {
                    a.name.rpartition(".")[2] for a in node.names if a.name.startswith("ingest.")
                }
        imports[path.stem] = names
    sources = set(imports) - {"__init__", "company", "generator"}
    assert sources == {"cur", "query_log", "usage", "revenue", "customers", "otel"}
    assert imports["__init__"] == set()
    assert imports["company"] == set()
    for source in sources:
        assert imports[source] <= {"company"}, f"{source} imports {imports[source] - {'company'}}"
    assert imports["generator"] == {"company", *sources}
