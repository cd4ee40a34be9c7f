"""The MetricFlow semantic layer (models/marts/_semantic_layer.yml) answers what the marts say.

``mf`` runs as a child process against the session's built sample, like a user would run it.
Two things keep it off other tests' toes:

* ``mf`` always reads ``<project dir>/target/semantic_manifest.json`` (it ignores
  ``DBT_TARGET_PATH`` and ``target-path``), so it runs in a throwaway project directory that
  links the real ``dbt_project.yml`` and ``profiles.yml``, and ``dbt parse`` writes its target
  there; nothing is written to the shared ``target/``.
* dbt-duckdb locks the DuckDB file for the life of a process, so the test opens the warehouse
  (read-only) only between child processes, never while one runs.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingest.demo import PROJECT_DIR, run_dbt

MF = Path(sys.executable).parent / "mf"
CENT = Decimal("0.005")
PRODUCT_USD = "{{ Dimension('product__billing_currency') }} = 'USD'"
CUSTOMER_USD = "{{ Dimension('customer__billing_currency') }} = 'USD'"
METRICS = {
    "total_cost",
    "direct_cost",
    "shared_cost",
    "revenue",
    "gross_profit",
    "unit_volume",
    "cost_per_unit",
    "gross_margin",
    "mrr",
    "customer_cost",
    "customer_gross_margin",
}
# Metrics that are money, i.e. meaningless when summed over currencies.
MONEY_METRICS = METRICS - {"unit_volume", "cost_per_unit", "gross_margin", "customer_gross_margin"}


@pytest.fixture(scope="module")
def mf_project(built_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project directory for ``mf``: the real project's config, its own ``target/``."""
    project = tmp_path_factory.mktemp("mf_project")
    for name in ("dbt_project.yml", "profiles.yml"):
        (project / name).symlink_to(PROJECT_DIR / name)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DBT_TARGET_PATH", str(project / "target"))
        env.setenv("DBT_LOG_PATH", str(project / "logs"))
        parsed = run_dbt(built_sample, "parse", capture=True)
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    assert (project / "target" / "semantic_manifest.json").is_file()
    return project


def mf(project: Path, db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``mf <args>`` in ``project`` against the warehouse ``db``."""
    return subprocess.run(
        [str(MF), *args],
        cwd=project,
        env={
            **os.environ,
            "COST_MODEL_DB": str(db.resolve()),
            "DBT_PROJECT_DIR": str(project),
            "DBT_PROFILES_DIR": str(project),
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def mf_query(
    project: Path, db: Path, out: Path, metrics: list[str], group_by: list[str], where: str
) -> list[dict[str, str | None]]:
    """Rows of ``mf query`` (via ``--csv``); empty cells (SQL null) become None."""
    result = mf(
        project,
        db,
        "query",
        "--metrics",
        ",".join(metrics),
        "--group-by",
        ",".join(group_by),
        "--where",
        where,
        "--csv",
        str(out),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    with out.open(newline="") as f:
        return [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(f)]


def warehouse(db: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` on ``db``, opened read-only and closed before any child process runs."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def month(value: object) -> str:
    """'2026-08-01' from a date or from mf's '2026-08-01 00:00:00'."""
    return str(value)[:10]


def mart_key(values: list[object]) -> tuple[object, ...]:
    """A group key of a mart row, months as 'YYYY-MM-DD'."""
    return tuple(month(v) if isinstance(v, date) else v for v in values)


def mf_key(row: dict[str, str | None], group_by: list[str]) -> tuple[object, ...]:
    """The same key of an mf row."""
    return tuple(month(row[g]) if g.startswith("metric_time") else row[g] for g in group_by)


def assert_money(got: str | None, expected: object, what: str) -> None:
    assert got is not None, f"{what}: mf returned null, mart says {expected}"
    assert abs(Decimal(got) - Decimal(str(expected))) <= CENT, f"{what}: mf {got} != {expected}"


def assert_ratio(got: str | None, expected: float | None, what: str) -> None:
    if expected is None:
        assert got is None, f"{what}: mf {got}, expected null"
    else:
        assert got is not None, f"{what}: mf returned null, expected {expected}"
        assert float(got) == pytest.approx(expected, rel=1e-9), what


def ratio(numerator: object, denominator: object) -> float | None:
    """numerator / denominator in exact decimals; None when the denominator is 0."""
    n, d = Decimal(str(numerator)), Decimal(str(denominator))
    return None if d == 0 else float(n / d)


def test_validate_configs(mf_project: Path, built_sample: Path) -> None:
    """Semantic validation and the data-warehouse checks (every column and metric queries)."""
    result = mf(mf_project, built_sample, "validate-configs")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Successfully validated metrics against data warehouse" in result.stdout

    manifest = json.loads((mf_project / "target" / "semantic_manifest.json").read_text())
    metrics = {m["name"]: m for m in manifest["metrics"]}
    assert set(metrics) == METRICS
    for name in MONEY_METRICS:
        # A money metric summed over currencies is meaningless: each one says so.
        assert "billing_currency" in metrics[name]["description"], name
    spines = manifest["project_configuration"]["time_spines"]
    assert [s["node_relation"]["alias"] for s in spines] == ["metricflow_time_spine"]


def test_time_spine_has_every_day(built_sample: Path) -> None:
    [(n, first, last, days)] = warehouse(
        built_sample,
        "select count(*), min(date_day), max(date_day), count(distinct date_day) "
        "from marts.metricflow_time_spine",
    )
    assert (str(first), str(last)) == ("2020-01-01", "2030-12-31")
    assert n == days == 4018  # 11 years, 3 of them leap years


def test_product_metrics_match_the_mart(
    mf_project: Path, built_sample: Path, tmp_path: Path
) -> None:
    """total_cost, revenue and gross_margin per month × product equal a direct mart query."""
    rows = mf_query(
        mf_project,
        built_sample,
        tmp_path / "product.csv",
        ["total_cost", "revenue", "gross_margin"],
        ["metric_time__month", "product", "product__billing_currency"],
        PRODUCT_USD,
    )
    expected = {
        mart_key(key): (cost, revenue)
        for *key, cost, revenue in warehouse(
            built_sample,
            """
            select cost_month, product, sum(total_cost), sum(revenue)
            from marts.fct_product_economics_monthly
            where billing_currency = 'USD'
            group by cost_month, product
            """,
        )
    }
    assert expected, "the sample has no USD product economics: this test would prove nothing"
    assert any(revenue for _, revenue in expected.values())
    got = {mf_key(r, ["metric_time__month", "product"]): r for r in rows}
    assert len(got) == len(rows), "mf returned a month × product twice"
    assert set(got) == set(expected)
    assert {r["product__billing_currency"] for r in rows} == {"USD"}
    for key, (cost, revenue) in expected.items():
        row = got[key]
        assert_money(row["total_cost"], cost, f"total_cost {key}")
        assert_money(row["revenue"], revenue, f"revenue {key}")
        assert_ratio(row["gross_margin"], ratio(revenue - cost, revenue), f"gross_margin {key}")


@pytest.mark.parametrize(
    ("group_by", "key_sql"),
    [
        (["metric_time__month", "product"], "cost_month, product"),
        # Over all months: a ratio of sums, not the mean of the monthly cost_per_unit.
        (["product"], "product"),
    ],
    ids=["product-month", "product"],
)
def test_cost_per_unit_is_a_ratio_of_sums(
    mf_project: Path, built_sample: Path, tmp_path: Path, group_by: list[str], key_sql: str
) -> None:
    rows = mf_query(
        mf_project,
        built_sample,
        tmp_path / "cost_per_unit.csv",
        ["cost_per_unit"],
        [*group_by, "product__billing_currency"],
        PRODUCT_USD,
    )
    expected = {
        mart_key(key): (cost, volume)
        for *key, cost, volume in warehouse(
            built_sample,
            f"""
            select {key_sql}, sum(total_cost), sum(unit_volume)
            from marts.fct_product_economics_monthly
            where billing_currency = 'USD'
            group by {key_sql}
            """,
        )
    }
    assert any(volume for _, volume in expected.values())
    got = {mf_key(r, group_by): r for r in rows}
    assert len(got) == len(rows)
    assert set(got) == set(expected)
    for key, (cost, volume) in expected.items():
        assert_ratio(got[key]["cost_per_unit"], ratio(cost, volume), f"cost_per_unit {key}")


@pytest.mark.parametrize(
    ("group_by", "key_sql"),
    [
        (["metric_time__month", "customer"], "cost_month, customer_id"),
        (["metric_time__month"], "cost_month"),
    ],
    ids=["customer-month", "month"],
)
def test_customer_metrics_match_the_mart(
    mf_project: Path, built_sample: Path, tmp_path: Path, group_by: list[str], key_sql: str
) -> None:
    """mrr, customer_cost and customer_gross_margin per customer and in total per month."""
    rows = mf_query(
        mf_project,
        built_sample,
        tmp_path / "customer.csv",
        ["mrr", "customer_cost", "customer_gross_margin"],
        [*group_by, "customer__billing_currency"],
        CUSTOMER_USD,
    )
    expected = {
        mart_key(key): (mrr, cost)
        for *key, mrr, cost in warehouse(
            built_sample,
            f"""
            select {key_sql}, sum(mrr), sum(total_cost)
            from marts.fct_customer_economics_monthly
            where billing_currency = 'USD'
            group by {key_sql}
            """,
        )
    }
    assert expected, "the sample has no USD customer economics: this test would prove nothing"
    got = {mf_key(r, group_by): r for r in rows}
    assert len(got) == len(rows)
    assert set(got) == set(expected)
    for key, (mrr, cost) in expected.items():
        row = got[key]
        assert_money(row["mrr"], mrr, f"mrr {key}")
        assert_money(row["customer_cost"], cost, f"customer_cost {key}")
        assert_ratio(row["customer_gross_margin"], ratio(mrr - cost, mrr), f"margin {key}")
