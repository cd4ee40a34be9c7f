"""Drivers per currency and scoped drivers, hand-computed on a fixture bill (docs/drivers.md).

August 2026, two bills: payer 111 in USD, payer 222 in EUR. Direct cost of the month:

    product     USD   EUR
    replay       60    35
    analytics   100    17
    flags        40     8

A EUR credit of −6.00 (pool `credits`, cost_proportional on direct cost, month) goes back over
the EUR direct cost only (60): replay −3.50, analytics −1.70, flags −0.80. Adding the two
currencies (replay 95 of 260) gave replay −2.19, analytics −2.70, flags −1.11.

September: a EUR EKS node line of 9.00 on a day without pods' split cost falls back to `even`
over the products with EUR direct cost that day (replay, analytics, flags: 3.00 each), not over
ai_assistant too, whose only direct cost is USD (2.25 each).

Scopes. Two ClickHouse clusters on 7 August: ch_prod ($100, hostname:ch-prod-%) is split by the
bytes read on ch-prod-1 only (replay 300, analytics 100 → 75 / 25); ch_dev ($10,
hostname:ch-dev-%) by ch-dev-1's (flags 500 → 10). Unscoped, each split both clusters' 900.
October, USD: an AWS credit of −8.00 (pool aws_credits, provider:aws|service:AmazonEC2) goes
back over AWS direct cost only (replay EC2 30, analytics RDS 10 → −6.00 / −2.00), not over
ai_assistant's $60 of OpenAI requests; replay's EC2 line matches both terms and counts once.

AI rate card currency: a `mistral` row in EUR prices 10 M input tokens at €0.20 per M → an
ai_assistant cost line of €2.00 that allocates in EUR.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from ingest.cli import main
from ingest.demo import run_dbt
from ingest.tests.conftest import copy_project, seed_file

CUR_HEADER = (
    "bill/BillingPeriodStartDate",
    "bill/PayerAccountId",
    "lineItem/UsageAccountId",
    "lineItem/LineItemType",
    "lineItem/UsageStartDate",
    "lineItem/ProductCode",
    "lineItem/UsageType",
    "lineItem/ResourceId",
    "lineItem/CurrencyCode",
    "lineItem/UnblendedCost",
    "resourceTags/user:service",
    "resourceTags/user:Product",
)

USD, EUR = ("111111111111", "USD"), ("222222222222", "EUR")


def _line(
    bill: tuple[str, str],
    day: str,
    cost: str,
    *,
    product: str = "",
    service: str = "",
    code: str = "AmazonEC2",
    kind: str = "Usage",
    resource: str = "",
) -> list[str]:
    payer, currency = bill
    month = day[:8] + "01T00:00:00Z"
    return [
        month,
        payer,
        payer,
        kind,
        f"{day}T00:00:00Z",
        code,
        "BoxUsage:m5.large" if kind == "Usage" else "",
        resource or f"r-{product or service or kind}-{currency}-{day}",
        currency,
        cost,
        service,
        product,
    ]


CUR_LINES = [
    # August direct cost, per currency
    _line(USD, "2026-08-05", "60.00", product="replay"),
    _line(USD, "2026-08-05", "100.00", product="analytics"),
    _line(USD, "2026-08-05", "40.00", product="flags"),
    _line(EUR, "2026-08-05", "35.00", product="replay"),
    _line(EUR, "2026-08-05", "17.00", product="analytics"),
    _line(EUR, "2026-08-05", "8.00", product="flags"),
    _line(EUR, "2026-08-20", "-6.00", kind="Credit"),
    # two ClickHouse clusters
    _line(USD, "2026-08-07", "100.00", service="clickhouse-prod"),
    _line(USD, "2026-08-07", "10.00", service="clickhouse-dev"),
    # September: even fallback per currency
    _line(EUR, "2026-09-06", "1.00", product="replay"),
    _line(EUR, "2026-09-06", "1.00", product="analytics"),
    _line(EUR, "2026-09-06", "1.00", product="flags"),
    _line(USD, "2026-09-06", "5.00", product="ai_assistant"),
    _line(EUR, "2026-09-06", "9.00", service="eks-cluster"),
    # October: an AWS credit over AWS spend only
    _line(USD, "2026-10-03", "30.00", product="replay"),
    _line(USD, "2026-10-03", "10.00", product="analytics", code="AmazonRDS"),
    _line(USD, "2026-10-20", "-8.00", kind="Credit", service="aws-credit"),
]

QUERY_LOG_HEADER = (
    "hostname",
    "type",
    "event_date",
    "event_time",
    "query_duration_ms",
    "read_bytes",
    "is_initial_query",
    "user",
    "query_id",
)
QUERY_LOG = [
    ("ch-prod-1", "replay_svc", "q1", 300),
    ("ch-prod-1", "analytics_svc", "q2", 100),
    ("ch-dev-1", "flags_svc", "q3", 500),
]

AI_REQUESTS = """\
timestamp,request_id,customer_id,feature_id,product,provider,model,input_tokens,output_tokens
2026-10-05T10:00:00,r-openai,cust_001,assistant,ai_assistant,openai,gpt-4o,24000000,0
2026-10-05T11:00:00,r-mistral,cust_001,assistant,ai_assistant,mistral,mistral-small,10000000,0
"""

EXTRA_POOLS = """\
ch_prod,9,tag:service,clickhouse-prod,query_log,read_bytes,day,unallocated,Prod cluster,hostname:ch-prod-%
ch_dev,9,tag:service,clickhouse-dev,query_log,read_bytes,day,unallocated,Dev cluster,hostname:ch-dev-%
aws_credits,25,tag:service,aws-credit,cost_proportional,direct_effective_cost,month,unallocated,AWS credits,provider:aws|service:AmazonEC2
"""

EXTRA_RATE = "mistral,mistral-small,2024-01-01,,0.20,0.60,,0.5,Invoiced in EUR,EUR\n"


def _write_csv(path: Path, header: tuple[str, ...], rows: list[list[str]]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("driver_scopes")
    project = copy_project(root / "project")
    pools = seed_file(project, "allocation_pools.csv")
    pools.write_text(pools.read_text() + EXTRA_POOLS)
    rates = seed_file(project, "ai_model_rates.csv")
    rates.write_text(rates.read_text() + EXTRA_RATE)

    _write_csv(root / "cur.csv", CUR_HEADER, CUR_LINES)
    _write_csv(
        root / "query_log.csv",
        QUERY_LOG_HEADER,
        [
            [host, "QueryFinish", "2026-08-07", "2026-08-07 12:00:00", "10", str(b), "1", user, q]
            for host, user, q, b in QUERY_LOG
        ],
    )
    (root / "ai.csv").write_text(AI_REQUESTS)
    db = root / "w.duckdb"
    for command, name in (
        ("cur", "cur.csv"),
        ("query-log", "query_log.csv"),
        ("ai-requests", "ai.csv"),
    ):
        assert main([command, str(root / name), "--db", str(db), "--quiet"]) == 0, command
    proc = run_dbt(db, "build", capture=True, project_dir=project)
    assert proc.returncode == 0, proc.stdout[-4000:]
    return db


def allocated(db: Path, rule_id: str) -> list[tuple]:
    """(billing_currency, product, cost) of one rule in fct_cost_allocation, summed."""
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            """
            select billing_currency, product, cast(sum(allocated_effective_cost) as double)
            from marts.fct_cost_allocation
            where rule_id = ?
            group by all
            order by all
            """,
            [rule_id],
        ).fetchall()


def test_a_eur_credit_is_split_by_eur_direct_cost_only(warehouse: Path) -> None:
    assert allocated(warehouse, "credits") == [
        ("EUR", "analytics", -1.70),
        ("EUR", "flags", -0.80),
        ("EUR", "replay", -3.50),
    ]


def test_even_fallback_uses_the_products_of_the_groups_currency(warehouse: Path) -> None:
    assert allocated(warehouse, "eks_cluster") == [
        ("EUR", "analytics", 3.0),
        ("EUR", "flags", 3.0),
        ("EUR", "replay", 3.0),
    ]


def test_each_clickhouse_cluster_is_split_by_its_own_hosts(warehouse: Path) -> None:
    assert allocated(warehouse, "ch_prod") == [
        ("USD", "analytics", 25.0),
        ("USD", "replay", 75.0),
    ]
    assert allocated(warehouse, "ch_dev") == [("USD", "flags", 10.0)]


def test_an_aws_credit_goes_back_over_aws_spend_only(warehouse: Path) -> None:
    assert allocated(warehouse, "aws_credits") == [
        ("USD", "analytics", -2.0),
        ("USD", "replay", -6.0),
    ]


def test_a_eur_rate_card_row_yields_eur_ai_cost(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        costs = con.execute(
            """
            select provider, billing_currency, cast(cost as double)
            from intermediate.int_ai__request_costs order by provider
            """
        ).fetchall()
        allocation = con.execute(
            """
            select billing_currency, product, cast(sum(allocated_effective_cost) as double)
            from marts.fct_cost_allocation
            where service_code = 'ai_requests'
            group by all order by all
            """
        ).fetchall()
    assert costs == [("mistral", "EUR", 2.0), ("openai", "USD", 60.0)]
    assert allocation == [("EUR", "ai_assistant", 2.0), ("USD", "ai_assistant", 60.0)]


def test_the_assumptions_mart_states_each_scope(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        statements = dict(
            con.execute(
                "select subject, statement from marts.fct_allocation_assumptions "
                "where topic = 'shared_pool' and subject in ('ch_prod', 'aws_credits', 'credits')"
            ).fetchall()
        )
    assert "read_bytes (counting only hostname:ch-prod-%) per day" in statements["ch_prod"]
    assert "(counting only provider:aws|service:AmazonEC2)" in statements["aws_credits"]
    assert "counting only" not in statements["credits"]


BAD_SCOPES = {
    "clickhouse": "hostnme:ch-%",
    "shared_postgres": "hostname:db-%",
    "credits": "provider:",
    "tax": "provider:aws|",
}


def test_an_invalid_scope_fails_the_build_naming_pool_and_value(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    root = tmp_path_factory.mktemp("bad_scopes")
    project = copy_project(root / "project")
    pools = seed_file(project, "allocation_pools.csv")
    lines = pools.read_text().splitlines()
    fixed = [lines[0]]
    for line in lines[1:]:
        pool_id = line.split(",", 1)[0]
        fixed.append(line + BAD_SCOPES.get(pool_id, ""))
    pools.write_text("\n".join(fixed) + "\n")
    proc = run_dbt(
        root / "w.duckdb",
        "build",
        "--select",
        "allocation_pools",
        "int_allocation__pool_scopes",
        "assert_pool_scopes_are_valid",
        "--indirect-selection",
        "cautious",
        capture=True,
        project_dir=project,
    )
    assert proc.returncode != 0
    out = " ".join(proc.stdout.split())
    assert "seeds/examples/sample_company/allocation_pools.csv: invalid driver_scope: " in out, out[
        -3000:
    ]
    for message in (
        'pool clickhouse driver_scope "hostnme:ch-%": term "hostnme:ch-%" is not hostname:, '
        "provider:, account: or service: followed by a value",
        'pool credits driver_scope "provider:": term "provider:" has no value after the colon',
        'pool shared_postgres driver_scope "hostname:db-%": hostname: scopes only a query_log '
        "pool, not method cost_proportional",
        'pool tax driver_scope "provider:aws|": term "" is not hostname:, provider:, account: '
        "or service: followed by a value",
    ):
        assert message in out, out[-3000:]
