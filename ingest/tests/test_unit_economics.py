"""The unit-economics marts on the built sample: public contracts, tie-outs that can fail,
and numbers a reader can check by hand."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import yaml

from ingest.demo import run_dbt
from ingest.tests.conftest import PROJECT_DIR

MART_DIRS = [PROJECT_DIR / "models" / "marts"]


def _mart_specs() -> dict[str, dict]:
    specs: dict[str, dict] = {}
    for folder in MART_DIRS:
        for path in folder.rglob("*.yml"):
            for model in (yaml.safe_load(path.read_text()) or {}).get("models", []):
                specs[model["name"]] = model
    return specs


def _query(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_every_mart_has_an_enforced_contract_with_described_columns(built_sample: Path) -> None:
    specs = _mart_specs()
    tables = {
        name
        for (name,) in _query(
            built_sample,
            "select table_name from information_schema.tables where table_schema = 'marts'",
        )
    }
    marts = sorted(tables & set(specs))
    assert "fct_product_economics_monthly" in marts and len(marts) >= 10, marts
    for name in marts:
        spec = specs[name]
        if name == "metricflow_time_spine":
            continue
        assert spec.get("config", {}).get("contract", {}).get("enforced") is True, name
        declared = [c["name"] for c in spec["columns"]]
        for column in spec["columns"]:
            assert column.get("data_type"), f"{name}.{column['name']} has no data_type"
            assert column.get("description"), f"{name}.{column['name']} has no description"
        actual = [
            r[0]
            for r in _query(
                built_sample,
                "select column_name from information_schema.columns "
                f"where table_schema = 'marts' and table_name = '{name}' order by ordinal_position",
            )
        ]
        assert actual == declared, name


def test_tie_out_test_catches_one_lost_cent(built_sample: Path, tmp_path: Path) -> None:
    db = tmp_path / "copy.duckdb"
    shutil.copy(built_sample, db)
    check = "assert_unit_economics_tie_to_allocation"
    assert run_dbt(db, "test", "--select", check, capture=True).returncode == 0
    with duckdb.connect(str(db)) as con:
        con.execute(
            """update marts.fct_customer_economics_monthly set total_cost = total_cost - 0.01
               where customer_id = 'cust_003'"""
        )
    result = run_dbt(db, "test", "--select", check, capture=True)
    assert result.returncode != 0
    assert "assert_unit_economics_tie_to_allocation" in result.stdout


def test_component_and_direct_shared_splits_add_up(built_sample: Path) -> None:
    rows = _query(
        built_sample,
        """select count(*) from marts.fct_product_economics_monthly
           where compute_cost + storage_cost + network_cost + database_cost + clickhouse_cost
                 + ai_cost + other_cost <> total_cost
              or direct_cost + shared_cost <> total_cost""",
    )
    assert rows == [(0,)]


def test_named_customers_on_the_sample(built_sample: Path) -> None:
    rows = {
        r[0]: r[1:]
        for r in _query(
            built_sample,
            """select customer_id, mrr, total_cost, gross_margin, is_negative_margin
               from marts.fct_customer_economics_monthly
               where cost_month = date '2026-10-01' and billing_currency = 'USD'""",
        )
    }
    acme_mrr, acme_cost, acme_margin, _ = rows["cust_001"]
    assert acme_mrr == Decimal(5000)
    assert acme_margin == pytest.approx(round(float((acme_mrr - acme_cost) / acme_mrr), 4))
    delta_mrr, delta_cost, delta_margin, delta_negative = rows["cust_004"]
    assert delta_mrr == 0 and delta_cost > 0
    assert delta_margin == -1.0 and delta_negative  # the stated no-revenue convention
    gamma = rows["cust_003"]
    assert gamma[0] == Decimal(49)
    worst = _query(
        built_sample,
        """select customer_id from marts.rpt_negative_margin_customers
           where cost_month = date '2026-10-01' and billing_currency = 'USD' limit 1""",
    )
    assert worst, "the sample has loss-making customers to surface"


def test_company_ratios_are_cost_over_counts(built_sample: Path) -> None:
    rows = _query(
        built_sample,
        """select total_cost, active_tenants, requests, cost_per_tenant, cost_per_request
           from marts.fct_unit_cost_ratios_monthly where scope_type = 'all'
             and billing_currency = 'USD'""",
    )
    with_usage = [r for r in rows if r[1] > 0]
    assert len(with_usage) == 3  # the sample's three months; shared samples carry no usage
    for total_cost, tenants, requests, cpt, cpr in rows:
        if tenants == 0:
            assert cpt is None  # no tenants: no ratio rather than a division by zero
            continue
        assert cpt == pytest.approx(float(total_cost) / tenants)
        assert cpr == pytest.approx(float(total_cost) / requests)


def test_ranges_bracket_the_rule(built_sample: Path) -> None:
    rows = _query(
        built_sample,
        """select scope_type, scope, total_cost, low_cost, high_cost
           from marts.fct_cost_ranges_monthly where billing_currency = 'USD'""",
    )
    assert rows
    for _, _, cost, low, high in rows:
        assert low <= round(cost, 2) <= high
    widths = [high - low for scope_type, _, _, low, high in rows if scope_type == "product"]
    assert max(widths) > 0, "declared alternative drivers move some product's cost"


def test_revenue_never_meets_cost_in_another_currency(built_sample: Path) -> None:
    """The shared samples add non-USD bills; revenue (USD) must not be set against them."""
    rows = _query(
        built_sample,
        """select billing_currency, sum(revenue), sum(total_cost)
           from marts.fct_product_economics_monthly group by billing_currency""",
    )
    by_currency = {currency: (revenue, cost) for currency, revenue, cost in rows}
    assert by_currency["USD"][0] > 0
    for currency, (revenue, _) in by_currency.items():
        if currency != "USD":
            assert revenue == 0, currency


def test_anomaly_history_starts_at_each_scopes_first_cost(built_sample: Path) -> None:
    """The shared samples add USD bills from 2018-2024. The sample company's first days must not
    be compared with those far-off days as if they were the previous week."""
    rows = _query(
        built_sample,
        """select rule, scope, period_start from marts.fct_cost_anomalies
           where billing_currency = 'USD'
             and period_start between date '2026-08-01' and date '2026-08-07'""",
    )
    assert rows == []
