"""Unallocated guardrails: product cost no customer driver reached is the `no_customer` reason
and the '(unallocated)' customer of the customer marts (customer totals tie to product totals
to the cent); thresholds per reason warn or fail the build with the reason and the numbers;
the build summary lists every reason with its threshold status.

One warehouse for the module: the bundled sample (small) built on a copy of the project where
  - `flags` has no row in seeds/examples/sample_company/customer_drivers.csv       → its cost reaches no customer,
  - the `ai_requests` usage rows carry no customer_id          → neither does ai_assistant's,
  - the `requests` usage of October is missing and ingress_alb falls back to `unallocated`
                                                               → October's ALB cost is no_driver.
"""

from __future__ import annotations

import re
import subprocess
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ingest import report, sample_data
from ingest.demo import load_sample, run_dbt
from ingest.load.db import connect
from ingest.tests.conftest import copy_project, seed_file

REASONS = (
    "no_driver",
    "no_customer",
    "untagged",
    "unused_commitment",
    "unattributed_queries",
    "unattributed_workloads",
    "idle_capacity",
)
THRESHOLD_TEST = ("--select", "assert_unallocated_within_thresholds")


def _project_copy(root: Path) -> Path:
    project = copy_project(root / "project")
    drivers = seed_file(project, "customer_drivers.csv")
    drivers.write_text(
        "".join(line for line in drivers.read_text().splitlines(True) if "flags," not in line)
    )
    pools = seed_file(project, "allocation_pools.csv")
    pools.write_text(
        pools.read_text().replace(
            "ingress_alb,10,tag:service,ingress-alb,driver,requests,day,previous_period,",
            "ingress_alb,10,tag:service,ingress-alb,driver,requests,day,unallocated,",
        )
    )
    assert "requests,day,unallocated," in pools.read_text()
    return project


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """(project, warehouse, build output) of the build described in the module docstring."""
    root = tmp_path_factory.mktemp("unallocated")
    project = _project_copy(root)
    sample_data.generate(root / "sample", cur_lines=5_000)
    db = root / "warehouse.duckdb"
    con = connect(db)
    load_sample(con, root / "sample")
    con.execute("update raw.usage_metrics set customer_id = null where metric = 'ai_requests'")
    con.execute(
        "delete from raw.usage_metrics where metric = 'requests' and date >= date '2026-10-01'"
    )
    con.close()
    build = run_dbt(db, "build", capture=True, project_dir=project)
    return project, db, build.stdout + build.stderr + f"\nexit {build.returncode}"


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _test_run(project: Path, db: Path, *vars_: str) -> subprocess.CompletedProcess[str]:
    return run_dbt(db, "test", *THRESHOLD_TEST, *vars_, capture=True, project_dir=project)


# --------------------------------------------------------------------- (a) no_customer


def test_product_cost_without_a_customer_is_no_customer_not_lost(
    guarded: tuple[Path, Path, str],
) -> None:
    _, db, output = guarded
    assert output.endswith("exit 0"), output[-3000:]
    by_product = dict(
        _rows(
            db,
            """
        select product, sum(allocated_effective_cost) from marts.fct_cost_allocation
        where unallocated_reason = 'no_customer' group by 1
        """,
        )
    )
    assert set(by_product) == {"flags", "ai_assistant"}
    # the cost stays the product's: nothing of flags or ai_assistant reached a customer
    assert _rows(
        db,
        """
        select count(*) from marts.fct_cost_allocation
        where product in ('flags', 'ai_assistant') and customer_id is not null
          and source_kind = 'pool_group'
        """,
    ) == [(0,)]
    assert _rows(
        db,
        "select count(*) from marts.fct_cost_allocation "
        "where unallocated_reason = 'no_customer' and (is_unallocated or product is null)",
    ) == [(0,)]


def test_customer_marts_carry_the_unallocated_customer(guarded: tuple[Path, Path, str]) -> None:
    _, db, _ = guarded
    fact = dict(
        _rows(
            db,
            """
        select cost_month, sum(allocated_effective_cost) from marts.fct_cost_allocation
        where unallocated_reason = 'no_customer' group by 1
        """,
        )
    )
    economics = _rows(
        db,
        """
        select cost_month, total_cost, mrr, gross_margin, is_negative_margin,
               margin_rank, is_unallocated, customer_name
        from marts.fct_customer_economics_monthly where customer_id = '(unallocated)'
        """,
    )
    assert {m: cost for m, cost, *_ in economics} == fact
    for _, _, mrr, margin, negative, rank, flag, name in economics:
        assert (mrr, margin, negative, rank, flag) == (0, None, None, None, True)
        assert name == "(unallocated: no customer driver)"
    breakdown = dict(
        _rows(
            db,
            """
        select product, sum(total_cost) from marts.fct_customer_cost_breakdown_monthly
        where customer_id = '(unallocated)' group by 1
        """,
        )
    )
    assert set(breakdown) == {"flags", "ai_assistant"}
    assert _rows(
        db,
        "select count(*) from marts.rpt_negative_margin_customers "
        "where customer_id = '(unallocated)'",
    ) == [(0,)]


def test_customer_totals_tie_to_product_totals_to_the_cent(
    guarded: tuple[Path, Path, str],
) -> None:
    _, db, output = guarded
    differences = _rows(
        db,
        """
        with products as (
            select cost_month, billing_currency, product, sum(total_cost) as cost
            from marts.fct_product_economics_monthly group by all
        ),
        customers as (
            select cost_month, billing_currency, product, sum(total_cost) as cost
            from marts.fct_customer_cost_breakdown_monthly where product is not null
            group by all
        )
        select * from products full join customers using (cost_month, billing_currency, product)
        where products.cost is distinct from customers.cost
        """,
    )
    assert differences == []
    ((products, customers),) = _rows(
        db,
        """
        select (select sum(total_cost) from marts.fct_product_economics_monthly),
               (select sum(total_cost) from marts.fct_customer_economics_monthly)
        """,
    )
    assert products == customers and products > Decimal(10_000)
    assert re.search(r"PASS assert_customer_totals_tie_to_products", output)


# --------------------------------------------------------------------- (b) thresholds


def test_above_warn_the_build_warns_with_reason_and_numbers(
    guarded: tuple[Path, Path, str],
) -> None:
    _, db, output = guarded
    ((amount, pct),) = _rows(
        db,
        """
        select sum(allocated_effective_cost) filter (where unallocated_reason = 'no_driver'),
               100 * sum(allocated_effective_cost) filter (where unallocated_reason = 'no_driver')
                   / sum(allocated_effective_cost)
        from marts.fct_cost_allocation where billing_currency = 'USD'
        """,
    )
    assert 1 < pct < 50  # between no_driver's default warn_pct and error_pct
    warning = next(
        line
        for line in output.splitlines()
        if "above its warning threshold" in line and "'no_driver'" in line
    )
    assert f"USD {amount:,.2f} = {pct:.1f} % of the USD cost" in warning
    assert "warn above 1 %, fail above 50 %" in warning
    assert "seeds/examples/sample_company/allocation_pools.csv" in warning
    # no_customer (flags + ai_assistant, above its 5 %) warns too; untagged is quiet
    assert re.search(r"above its warning threshold: reason 'no_customer': USD [\d,.]+ = ", output)
    assert "WARN 2 assert_unallocated_within_thresholds" in output
    assert output.endswith("exit 0")


def test_above_error_the_build_fails_with_reason_and_numbers(
    guarded: tuple[Path, Path, str],
) -> None:
    project, db, _ = guarded
    strict = _test_run(
        project,
        db,
        "--vars",
        "{unallocated_thresholds: {no_driver: {warn_pct: 0.5, error_pct: 1}}}",
    )
    out = strict.stdout + strict.stderr
    assert strict.returncode == 1, out[-3000:]
    assert "Unallocated cost above its error threshold:" in out
    assert re.search(
        r"reason 'no_driver': USD [\d,]+\.\d\d = \d+\.\d % of the USD cost [\d,]+\.\d\d "
        r"\(warn above 0\.5 %, fail above 1 %; var unallocated_thresholds\.no_driver\)",
        out,
    ), out[-3000:]
    # the replaced block leaves the other reasons on `default` (warn 5 %, fail 50 %):
    # no_customer (flags + ai_assistant, about a third of the bill) only warns
    assert "reason 'no_customer'" not in out.split("error threshold:")[1]


def test_thresholds_from_vars_can_silence_a_reason(guarded: tuple[Path, Path, str]) -> None:
    project, db, _ = guarded
    lenient = _test_run(
        project,
        db,
        "--vars",
        "{unallocated_thresholds: {default: {warn_pct: null, error_pct: null}}}",
    )
    out = lenient.stdout + lenient.stderr
    assert lenient.returncode == 0, out[-3000:]
    assert "threshold" not in out.replace("assert_unallocated_within_thresholds", "")
    assert "PASS=1" in out or "PASS assert_unallocated_within_thresholds" in out


# --------------------------------------------------------------------- (c) the summary


def test_build_summary_lists_every_reason_with_its_status(
    guarded: tuple[Path, Path, str],
) -> None:
    _, _, output = guarded
    summary = output[output.index("Cost allocation (effective cost):") :]
    lines = summary.splitlines()[1 : len(REASONS) + 2]
    statuses = {}
    for line in lines:
        match = re.search(r"USD (\S+)\s+-?[\d.]+\s+-?[\d.]+ %\s*(ok|WARN|FAIL)?", line)
        assert match, line
        statuses[match.group(1)] = match.group(2)
    assert set(statuses) == {"(allocated)", *REASONS}
    assert statuses["no_driver"] == "WARN" and statuses["no_customer"] == "WARN"
    assert statuses["idle_capacity"] == "ok" and statuses["untagged"] == "ok"
    assert "(warn above 1 %, fail above 50 %)" in summary


# --------------------------------------------------------------------- the report


def test_report_labels_the_unallocated_customer_and_does_not_count_it(
    guarded: tuple[Path, Path, str],
) -> None:
    _, db, _ = guarded
    data = report.collect(db)
    ((unassigned, customers),) = _rows(
        db,
        f"""
        select sum(total_cost) filter (where customer_id = '(unallocated)'),
               count(*) filter (where customer_id <> '(unallocated)')
        from marts.fct_customer_economics_monthly
        where cost_month = date '{data.month}' and billing_currency = '{data.currency}'
        """,
    )
    assert data.unassigned_customer_cost == unassigned > 0
    assert data.customer_count == customers
    assert all(c.customer_id != "(unallocated)" for c in data.customers)
    text = report.format_text(data)
    assert (
        f"(unallocated): {report.money(unassigned)} {data.currency} of product cost reached "
        "no customer" in text
    )
