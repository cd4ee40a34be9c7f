"""``python -m ingest explain``: every target's parts tie to its mart; any amount reaches its lines."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ingest import explain
from ingest.tests.conftest import SHARED_DATA, ingest_cli

MARTS = {
    "product": ("fct_product_economics_monthly", "product"),
    "customer": ("fct_customer_economics_monthly", "customer_id"),
    "team": ("fct_team_showback_monthly", "team"),
}


@pytest.fixture(scope="module")
def con(built_sample: Path) -> duckdb.DuckDBPyConnection:
    c = duckdb.connect(str(built_sample), read_only=True)
    yield c
    c.close()


def _targets(con: duckdb.DuckDBPyConnection, kind: str) -> list[tuple]:
    mart, column = MARTS[kind]
    return con.execute(
        f"select {column}, cost_month, billing_currency, total_cost from marts.{mart} "
        f"where total_cost <> 0 order by all"
    ).fetchall()


def _check_parts(e: explain.Explanation) -> None:
    assert e.ties, e.target
    assert sum((d.cost for d in e.direct), Decimal(0)) == e.direct_cost
    assert sum((p.cost for p in e.pools), Decimal(0)) == e.shared_cost
    assert sum((u.cost for u in e.unallocated), Decimal(0)) == e.unallocated_cost


@pytest.mark.parametrize("kind", ["product", "customer", "team"])
def test_every_target_ties_to_its_mart(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    """Every product, customer and team of the sample, every month and currency: the parts add
    up to the mart's total_cost exactly (Decimal, not rounded)."""
    targets = _targets(con, kind)
    assert len(targets) >= (40 if kind == "customer" else 8)
    currencies = {t[2] for t in targets}
    for value, month, currency, mart_cost in targets:
        e = explain.explain(con, explain.Target(kind, value), month, currency, top=0)
        assert e.total_cost == mart_cost == e.mart_cost, (kind, value, month, currency)
        _check_parts(e)
    if kind == "team" and SHARED_DATA.is_dir():
        # the shared samples' bills (EUR among them) are untagged: the '(unallocated)' team
        assert len(currencies) > 1


def test_every_feature_ties_to_its_mart(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        "select feature_id, cost_month, billing_currency, sum(total_cost) "
        "from marts.fct_feature_economics_monthly where total_cost <> 0 group by all"
    ).fetchall()
    assert any(r[0] == "sql_assistant" for r in rows)
    for feature, month, currency, mart_cost in rows:
        e = explain.explain(con, explain.Target("feature", feature), month, currency, top=0)
        assert e.total_cost == mart_cost, (feature, month, currency)
        _check_parts(e)


def test_a_customer_is_explained_pool_by_pool_and_split_by_split(
    con: duckdb.DuckDBPyConnection,
) -> None:
    (customer, month, currency) = con.execute(
        "select customer_id, cost_month, billing_currency from marts.fct_customer_economics_monthly"
        " where not is_unallocated order by total_cost desc limit 1"
    ).fetchone()
    e = explain.explain(con, explain.Target("customer", customer), month, currency, top=5)
    _check_parts(e)
    assert e.direct and e.pools and e.customer_splits and len(e.top_lines) == 5
    # each pool part: the customer's share of its product's share of the pool
    for p in e.pools:
        assert p.description, p.pool_id
        assert Decimal(0) < abs(p.cost) <= abs(p.product_cost) <= abs(p.pool_cost)
        if p.method == "driver" and p.target_driver_quantity is None:
            # a product the pool reaches only through another pool (ClickHouse on EKS): no
            # own driver quantity; the hop path says how the money came
            assert p.service_path and f"→ {p.product} " in p.service_path, p
        elif p.method == "driver":
            assert 0 < p.target_driver_quantity <= p.pool_driver_quantity
    assert any(p.service_path for p in e.pools)
    # the customer split: the customer's part of each product it was split from
    for s in e.customer_splits:
        assert 0 < s.customer_quantity <= s.product_quantity
        assert abs(s.share - s.customer_quantity / s.product_quantity) < 0.05
    split = sum((s.cost for s in e.customer_splits), Decimal(0))
    (tagged,) = con.execute(
        "select coalesce(sum(allocated_effective_cost), 0) from marts.fct_cost_allocation "
        "where customer_id = ? and cost_month = ? and billing_currency = ? "
        "and customer_driver_name is null",
        [customer, month, currency],
    ).fetchone()
    assert split + tagged == e.total_cost
    # the top lines are real bill lines, largest first
    keys = [b.cost_line_key for b in e.top_lines]
    (found,) = con.execute(
        "select count(*) from marts.fct_cost_line_items where cost_line_key in "
        "(select unnest(?::varchar[]))",
        [keys],
    ).fetchone()
    assert found == len(keys)
    costs = [abs(b.cost_to_target) for b in e.top_lines]
    assert costs == sorted(costs, reverse=True)


@pytest.mark.parametrize("source_kind", ["line_group", "pool_group"])
def test_a_traced_amount_reaches_its_bill_lines(
    con: duckdb.DuckDBPyConnection, source_kind: str
) -> None:
    """The largest allocation rows of each kind: their source's bill lines sum to the source's
    cost exactly, and the allocated amount is the row's share of it (within the cent the
    largest-remainder rounding moves)."""
    rows = con.execute(
        "select allocation_key from marts.fct_cost_allocation where source_kind = ? "
        "order by abs(allocated_effective_cost) desc, allocation_key limit 3",
        [source_kind],
    ).fetchall()
    unallocated = con.execute(
        "select allocation_key from marts.fct_cost_allocation where source_kind = ? "
        "and is_unallocated order by allocation_key limit 1",
        [source_kind],
    ).fetchall()
    for (key,) in rows + unallocated:
        t = explain.trace(con, key, top=500)
        a = t.allocation
        assert t.ties and t.source_lines > 0, key
        assert t.source_lines == len(t.lines) or len(t.lines) == 500
        if t.source_lines == len(t.lines):
            assert sum((b.line_cost for b in t.lines), Decimal(0)) == a["source_effective_cost"]
            expected = a["source_effective_cost"] * Decimal(repr(a["share"]))
            assert abs(a["allocated_effective_cost"] - expected) <= Decimal("0.01")


def test_cli_text_markdown_json_and_errors(built_sample: Path, tmp_path: Path) -> None:
    db = tmp_path / "copy.duckdb"
    shutil.copy(built_sample, db)
    text = ingest_cli(db, "explain", "--product", "analytics", "--month", "2026-10", "--top", "3")
    assert text.returncode == 0, text.stderr
    assert "Why product analytics cost" in text.stdout
    assert "to the cent" in text.stdout and "DOES NOT TIE" not in text.stdout
    assert "Shared pools" in text.stdout and "clickhouse" in text.stdout
    md = ingest_cli(db, "explain", "--customer", "cust_016", "--markdown")
    assert md.returncode == 0, md.stderr
    assert md.stdout.startswith("### Why customer cust_016")
    assert "| pool | product |" in md.stdout and "#### Customer split" in md.stdout
    as_json = ingest_cli(db, "explain", "--team", "(unallocated)", "--json")
    body = json.loads(as_json.stdout)
    assert body["ties"] and body["unallocated"] and not body["direct"]
    key = json.loads(ingest_cli(db, "explain", "--customer", "cust_016", "--json").stdout)["pools"][
        0
    ]["largest_allocation_key"]
    traced = ingest_cli(db, "explain", "--trace", key, "--top", "2")
    assert traced.returncode == 0 and "ties to the source to the cent" in traced.stdout
    listed = ingest_cli(db, "explain", "--list", "customer")
    assert listed.returncode == 0 and "cust_016" in listed.stdout
    # mistakes: a clear error, exit 2
    for args, says in [
        (("--customer", "cust_nobody"), "no allocated cost for customer cust_nobody"),
        (("--product", "analytics", "--month", "2019-01"), "no allocated cost in 2019-01"),
        (("--product", "analytics", "--currency", "XYZ"), "has no XYZ cost"),
        (("--trace", "no-such-key"), "no allocation row with key"),
        (("--customer", "cust_016", "--of-product", "flags"), "--of-product narrows --feature"),
    ]:
        result = ingest_cli(db, "explain", *args)
        assert result.returncode == 2 and says in result.stderr, (args, result.stderr)
    missing = ingest_cli(tmp_path / "none.duckdb", "explain", "--product", "analytics")
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_an_explanation_that_does_not_tie_says_so_and_fails(
    built_sample: Path, tmp_path: Path
) -> None:
    """If the fact and the mart ever disagree (a half-run build, a hand edit), explain says
    DOES NOT TIE and exits 1 instead of printing a plausible breakdown."""
    db = tmp_path / "tampered.duckdb"
    shutil.copy(built_sample, db)
    with duckdb.connect(str(db)) as c:
        c.execute(
            "update marts.fct_cost_allocation set allocated_effective_cost = "
            "allocated_effective_cost + 1 where allocation_key = (select min(allocation_key) "
            "from marts.fct_cost_allocation where product = 'analytics' "
            "and cost_month = date '2026-10-01' and billing_currency = 'USD')"
        )
    result = ingest_cli(db, "explain", "--product", "analytics", "--month", "2026-10")
    assert result.returncode == 1
    assert "DOES NOT TIE to marts.fct_product_economics_monthly" in result.stdout
