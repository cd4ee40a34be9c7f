"""Pools that serve pools: the service graph solve (int_allocation__service_shares) and its split
to the cent (int_allocation__shared), on hand-computed graphs.

The models are compiled by dbt and run in DuckDB on fixture tables put in place of their
inputs, so the SQL under test is the project's own, row for row.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import duckdb
import pytest

from ingest.tests.conftest import PROJECT_DIR, dbt_target

MODELS = (
    "int_allocation__service_nodes",
    "int_allocation__service_shares",
    "int_allocation__shared",
)

# pool_id, day, own cost, shares (target → share); `pool:<id>` targets another pool.
# Each day is one graph.
GRAPHS: list[tuple[str, str, str, dict[str, str]]] = [
    # two-service cycle: A serves B 20 %, B serves A 10 %, both serve P1 and P2
    ("a", "2026-01-01", "100.00", {"pool:b": "0.2", "p1": "0.5", "p2": "0.3"}),
    ("b", "2026-01-01", "50.00", {"pool:a": "0.1", "p1": "0.4", "p2": "0.5"}),
    # three-level chain: eks → clickhouse → monitoring → products
    ("eks", "2026-01-02", "90.00", {"pool:ch": "0.5", "p1": "0.5"}),
    ("ch", "2026-01-02", "30.00", {"pool:mon": "0.4", "p2": "0.6"}),
    ("mon", "2026-01-02", "10.00", {"p1": "1"}),
    # a cycle through a pool whose driver is zero (fallback unallocated: no shares)
    ("x", "2026-01-03", "100.00", {"pool:y": "0.5", "p1": "0.5"}),
    ("y", "2026-01-03", "20.00", {}),
    # a service that consumes only itself
    ("s", "2026-01-03", "10.00", {"pool:s": "1"}),
    # a closed cycle with no way out, and a pool half feeding it
    ("d", "2026-01-04", "40.00", {"pool:e": "1"}),
    ("e", "2026-01-04", "60.00", {"pool:d": "1"}),
    ("f", "2026-01-04", "10.00", {"pool:d": "0.5", "p1": "0.5"}),
    # partial self-service: the own share is taken out
    ("g", "2026-01-05", "100.00", {"pool:g": "0.2", "p1": "0.4", "p2": "0.4"}),
    # no service link at all: shares kept row for row
    ("plain", "2026-01-05", "10.00", {"p1": "0.75", "p2": "0.25"}),
]


def _compiled_sql(tmp_path: Path) -> dict[str, str]:
    """The compiled SQL of MODELS, their inputs renamed to fixture tables."""
    done = subprocess.run(
        [sys.executable, "-m", "dbt.cli.main", "compile", "-q", "-s", *MODELS],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "COST_MODEL_DB": str(tmp_path / "compile.duckdb")},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    manifest = json.loads((dbt_target() / "manifest.json").read_text())
    compiled = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["name"] in MODELS:
            path = dbt_target() / "compiled" / node["package_name"] / node["original_file_path"]
            sql = path.read_text()
            compiled[node["name"]] = re.sub(
                r'"[^"]+"\."[^"]+"\."(int_allocation__\w+|allocation_pools)"', r"fx_\1", sql
            )
    return compiled


def _load_fixtures(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """create table fx_int_allocation__pool_costs (
            pool_group_key varchar, pool_id varchar, share_grain varchar, period_start date,
            billing_currency varchar, billing_period date, billing_account_id varchar,
            service_code varchar, component varchar, n_lines bigint,
            pool_effective_cost decimal(38, 12), pool_billed_cost decimal(38, 12))"""
    )
    con.execute(
        """create table fx_int_allocation__pool_shares (
            pool_group_key varchar, share_basis varchar, driver_name varchar, product varchar,
            driver_quantity double, share double)"""
    )
    con.execute(
        """create table fx_allocation_pools (
            pool_id varchar, method varchar, driver varchar)"""
    )
    for pool_id, day, cost, shares in GRAPHS:
        key = f"{pool_id}:{day}"
        con.execute(
            "insert into fx_int_allocation__pool_costs values "
            "(?, ?, 'day', ?, 'USD', '2026-01-01', '1', 'svc', 'other', 1, ?, ?)",
            [key, pool_id, day, cost, cost],
        )
        con.execute("insert into fx_allocation_pools values (?, 'driver', 'units')", [pool_id])
        for target, share in shares.items():
            con.execute(
                "insert into fx_int_allocation__pool_shares values (?, 'driver', 'units', ?, ?, ?)",
                [key, target, float(share) * 100, float(share)],
            )


@pytest.fixture(scope="module")
def solved(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    sql = _compiled_sql(tmp_path_factory.mktemp("service_graph"))
    con = duckdb.connect()
    _load_fixtures(con)
    con.execute(f"create table fx_int_allocation__service_nodes as {sql[MODELS[0]]}")
    con.execute(f"create table fx_int_allocation__service_shares as {sql[MODELS[1]]}")
    con.execute(f"create table shared as {sql[MODELS[2]]}")
    return con


def _cents(con: duckdb.DuckDBPyConnection, pool_id: str) -> dict[str, Decimal]:
    rows = con.execute(
        """select coalesce(product, unallocated_reason), sum(allocated_effective_cost)
        from shared where pool_id = ? group by all""",
        [pool_id],
    ).fetchall()
    return {target: Decimal(amount).quantize(Decimal("0.000001")) for target, amount in rows}


def test_two_service_cycle_ties_to_the_exact_cents(solved: duckdb.DuckDBPyConnection) -> None:
    # T_a = 100 + 0.1 T_b, T_b = 50 + 0.2 T_a. A unit at a reaches p1 with
    # x_a = 0.5 + 0.2 x_b, x_b = 0.4 + 0.1 x_a → x_a = 0.58 / 0.98, x_b = 0.45 / 0.98.
    x_a, x_b = Fraction(58, 98), Fraction(45, 98)
    assert float(x_a * 100) == pytest.approx(59.1836734, abs=1e-6)
    assert float(x_b * 50) == pytest.approx(22.9591836, abs=1e-6)
    assert _cents(solved, "a") == {"p1": Decimal("59.18"), "p2": Decimal("40.82")}
    assert _cents(solved, "b") == {"p1": Decimal("22.96"), "p2": Decimal("27.04")}
    # products: 82.14 + 67.86 = 150.00; the reciprocal totals T_a = 105 / 0.98, T_b = 50 + 0.2 T_a
    # give p1 0.5 T_a + 0.4 T_b = 82.142857…, so each hop's money arrives to the cent
    t_a = Fraction(105) / Fraction(98, 100)
    t_b = 50 + Fraction(2, 10) * t_a
    products = dict(
        solved.execute(
            "select product, sum(allocated_effective_cost) from shared "
            "where pool_id in ('a', 'b') group by all"
        ).fetchall()
    )
    exact_p1 = Fraction(1, 2) * t_a + Fraction(4, 10) * t_b
    assert products == {"p1": Decimal("82.14"), "p2": Decimal("67.86")}
    assert abs(Fraction(products["p1"]) - exact_p1) < Fraction(1, 100)
    shares = dict(
        solved.execute(
            """select product, share from fx_int_allocation__service_shares
            where pool_group_key = 'a:2026-01-01'"""
        ).fetchall()
    )
    assert shares["p1"] == pytest.approx(float(x_a), abs=1e-12)
    assert shares["p2"] == pytest.approx(float(1 - x_a), abs=1e-12)


def test_three_level_chain(solved: duckdb.DuckDBPyConnection) -> None:
    assert _cents(solved, "eks") == {"p1": Decimal("63.00"), "p2": Decimal("27.00")}
    assert _cents(solved, "ch") == {"p1": Decimal("12.00"), "p2": Decimal("18.00")}
    assert _cents(solved, "mon") == {"p1": Decimal("10.00")}
    path = solved.execute(
        """select service_path from shared where pool_id = 'eks' and product = 'p1'"""
    ).fetchone()[0]
    assert path == "eks → p1 50.0%; eks → ch → mon → p1 20.0%"


def test_cycle_path_is_named(solved: duckdb.DuckDBPyConnection) -> None:
    path = solved.execute(
        "select service_path from shared where pool_id = 'a' and product = 'p1'"
    ).fetchone()[0]
    # direct 50 %, via b 0.2 · 0.4 = 8 %, back through a 0.2 · 0.1 · 0.5 = 1 %, then the rest
    # of the walk round the cycle: 59.18 % in all, x_a
    assert path == (
        "a → p1 50.0%; a → b → p1 8.0%; a → b → a → p1 1.0%; a → b → … → b → p1 0.16%; "
        "a → b → … → a → p1 0.02%"
    )


def test_residual_cases_are_rows_with_a_reason(solved: duckdb.DuckDBPyConnection) -> None:
    # the zero-driver pool keeps its own cost as no_driver; what x sent it is no_service_driver
    assert _cents(solved, "x") == {"p1": Decimal("50.00"), "no_service_driver": Decimal("50.00")}
    assert _cents(solved, "y") == {"no_driver": Decimal("20.00")}
    assert _cents(solved, "s") == {"self_service_only": Decimal("10.00")}
    assert _cents(solved, "d") == {"no_path_to_product": Decimal("40.00")}
    assert _cents(solved, "e") == {"no_path_to_product": Decimal("60.00")}
    assert _cents(solved, "f") == {"p1": Decimal("5.00"), "no_path_to_product": Decimal("5.00")}
    assert _cents(solved, "g") == {"p1": Decimal("50.00"), "p2": Decimal("50.00")}


def test_money_is_conserved_per_source_and_period(solved: duckdb.DuckDBPyConnection) -> None:
    per_source = solved.execute(
        """select pool_group_key, max(source_effective_cost) - sum(allocated_effective_cost),
            sum(share)
        from shared group by pool_group_key"""
    ).fetchall()
    assert len(per_source) == len(GRAPHS)
    for key, gap, share in per_source:
        assert gap == 0, key
        assert share == pytest.approx(1, abs=1e-12), key
    per_period = solved.execute(
        """select period_start, sum(allocated_effective_cost) from shared group by all"""
    ).fetchall()
    expected: dict[str, Decimal] = {}
    for _, day, cost, _ in GRAPHS:
        expected[day] = expected.get(day, Decimal(0)) + Decimal(cost)
    assert {str(day): amount for day, amount in per_period} == expected
    assert solved.execute(
        "select count(*) from shared where product like 'pool:%' or product like '(%'"
    ).fetchone() == (0,)


def test_pools_without_service_links_keep_their_shares(solved: duckdb.DuckDBPyConnection) -> None:
    for key in ("plain:2026-01-05", "mon:2026-01-02", "y:2026-01-03"):
        before = solved.execute(
            """select product, share, driver_quantity, null from fx_int_allocation__pool_shares
            where pool_group_key = ? order by product""",
            [key],
        ).fetchall()
        after = solved.execute(
            """select product, share, driver_quantity, service_path
            from fx_int_allocation__service_shares where pool_group_key = ? order by product""",
            [key],
        ).fetchall()
        assert after == before, key
