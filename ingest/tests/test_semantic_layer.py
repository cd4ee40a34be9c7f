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
import shutil
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
CURRENCIES = ("USD", "EUR")
# Money metrics, defined once per currency (total_cost_usd, total_cost_eur, ...): money never
# adds across currencies, so there is no currency-less total_cost.
MONEY_BASES = (
    "total_cost",
    "direct_cost",
    "shared_cost",
    "revenue",
    "gross_profit",
    "cost_per_unit",
    "gross_margin",
    "mrr",
    "customer_cost",
    "customer_gross_margin",
)
MONEY_METRICS = {f"{base}_{c.lower()}" for base in MONEY_BASES for c in CURRENCIES}
# in the reporting currency (var reporting_currency): every row converted, no currency filter
REPORTING_METRICS = {
    "total_cost_reporting",
    "revenue_reporting",
    "gross_margin_reporting",
    "mrr_reporting",
    "customer_cost_reporting",
}
METRICS = MONEY_METRICS | REPORTING_METRICS | {"unit_volume"}


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
    project: Path, db: Path, out: Path, metrics: list[str], group_by: list[str]
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
        # Each money metric is one currency's: its own filter on billing_currency, or inputs
        # that are that currency's metrics (a ratio's volume filtered to the same currency).
        code = name.rsplit("_", 1)[1].upper()
        metric, params = metrics[name], metrics[name]["type_params"]
        assert f"({code})" in metric["label"], name
        if metric["type"] == "simple":
            assert f"billing_currency') }}}} = '{code}'" in json.dumps(metric["filter"]), name
            continue
        inputs = [params["numerator"], params["denominator"]] if params["numerator"] else []
        for used in inputs or params["metrics"]:
            if used["name"] != "unit_volume":
                assert used["name"].endswith(f"_{code.lower()}"), (name, used["name"])
            else:
                assert f"= '{code}'" in json.dumps(used["filter"]), (name, used)
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
        ["total_cost_usd", "revenue_usd", "gross_margin_usd"],
        ["metric_time__month", "product", "product__billing_currency"],
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
        assert_money(row["total_cost_usd"], cost, f"total_cost {key}")
        assert_money(row["revenue_usd"], revenue, f"revenue {key}")
        margin = ratio(revenue - cost, revenue)
        assert_ratio(row["gross_margin_usd"], margin, f"gross_margin {key}")


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
        ["cost_per_unit_usd"],
        [*group_by, "product__billing_currency"],
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
        assert_ratio(got[key]["cost_per_unit_usd"], ratio(cost, volume), f"cost_per_unit {key}")


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
        ["mrr_usd", "customer_cost_usd", "customer_gross_margin_usd"],
        [*group_by, "customer__billing_currency"],
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
        assert_money(row["mrr_usd"], mrr, f"mrr {key}")
        assert_money(row["customer_cost_usd"], cost, f"customer_cost {key}")
        assert_ratio(row["customer_gross_margin_usd"], ratio(mrr - cost, mrr), f"margin {key}")


@pytest.fixture(scope="module")
def two_currencies(built_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built sample plus EUR rows for the same products, customers and months (each EUR
    amount is twice its USD twin), so any metric that adds currencies shows it."""
    db = tmp_path_factory.mktemp("two_currencies") / "warehouse.duckdb"
    shutil.copy(built_sample, db)
    con = duckdb.connect(str(db))
    try:
        for mart, money in (
            ("fct_product_economics_monthly", ("total_cost", "revenue")),
            ("fct_customer_economics_monthly", ("total_cost", "mrr")),
        ):
            doubled = ", ".join(f"{c} * 2 as {c}" for c in money)
            con.execute(
                f"insert into marts.{mart} select * replace ('EUR' as billing_currency, "
                f"{doubled}) from marts.{mart} where billing_currency = 'USD'"
            )
    finally:
        con.close()
    return db


def test_money_metrics_never_add_currencies(
    mf_project: Path, two_currencies: Path, tmp_path: Path
) -> None:
    """The query that used to add USD and EUR (``--metrics total_cost --group-by product``)
    now fails and names the per-currency metrics; those return each currency on its own."""
    failed = mf(
        mf_project, two_currencies, "query", "--metrics", "total_cost", "--group-by", "product"
    )
    assert failed.returncode != 0
    assert "total_cost_usd" in failed.stdout + failed.stderr
    rows = mf_query(
        mf_project,
        two_currencies,
        tmp_path / "by_currency.csv",
        ["total_cost_usd", "total_cost_eur", "mrr_usd", "mrr_eur"],
        ["metric_time__month"],
    )
    expected = {
        (month(m), c): (cost, mrr)
        for m, c, cost, mrr in warehouse(
            two_currencies,
            """
            select p.cost_month, p.billing_currency, p.cost, c.mrr
            from (select cost_month, billing_currency, sum(total_cost) as cost
                  from marts.fct_product_economics_monthly group by all) as p
            join (select cost_month, billing_currency, sum(mrr) as mrr
                  from marts.fct_customer_economics_monthly group by all) as c
                using (cost_month, billing_currency)
            """,
        )
    }
    assert {c for _, c in expected} >= {"USD", "EUR"}
    assert len(rows) == len({m for m, _ in expected})
    for row in rows:
        m = month(row["metric_time__month"])
        for code in ("USD", "EUR"):
            cost, mrr = expected[(m, code)]
            assert_money(row[f"total_cost_{code.lower()}"], cost, f"total_cost {m} {code}")
            assert_money(row[f"mrr_{code.lower()}"], mrr, f"mrr {m} {code}")
        assert Decimal(str(row["total_cost_eur"])) != Decimal(str(row["total_cost_usd"]))
    per_product = mf_query(
        mf_project,
        two_currencies,
        tmp_path / "per_product.csv",
        ["total_cost_eur", "cost_per_unit_eur", "gross_margin_eur"],
        ["product"],
    )
    eur = {
        p: (cost, volume, revenue)
        for p, cost, volume, revenue in warehouse(
            two_currencies,
            """select product, sum(total_cost), sum(unit_volume), sum(revenue)
               from marts.fct_product_economics_monthly where billing_currency = 'EUR'
               group by product""",
        )
    }
    assert {r["product"] for r in per_product} == set(eur)
    for row in per_product:
        cost, volume, revenue = eur[row["product"]]
        assert_money(row["total_cost_eur"], cost, f"total_cost_eur {row['product']}")
        # the ratio's volume is the EUR rows' only, not the volume of every currency's rows
        assert_ratio(row["cost_per_unit_eur"], ratio(cost, volume), f"cpu {row['product']}")
        assert_ratio(row["gross_margin_eur"], ratio(revenue - cost, revenue), "margin")


def test_a_currency_without_metrics_warns_naming_it(two_currencies: Path, tmp_path: Path) -> None:
    """A GBP bill has no GBP metrics until someone copies the EUR block: dbt build says so
    (warn, naming the currency) instead of `mf` silently leaving GBP out."""
    test = "assert_every_currency_has_money_metrics"
    # one copy checked before and after the change: the second dbt command on the same file
    # reuses the first one's parse (dbt parses from scratch for each new warehouse path)
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(two_currencies, db)
    passed = run_dbt(db, "test", "--select", test, capture=True)
    assert passed.returncode == 0 and " WARN=0 " in passed.stdout, passed.stdout[-2000:]
    con = duckdb.connect(str(db))
    try:
        con.execute(
            "update marts.fct_product_economics_monthly set billing_currency = 'GBP' "
            "where billing_currency = 'EUR'"
        )
    finally:
        con.close()
    warned = run_dbt(db, "test", "--select", test, capture=True)
    assert warned.returncode == 0 and " WARN=1 " in warned.stdout, warned.stdout[-2000:]
    assert (
        "billing currency GBP has no MetricFlow money metrics (only USD, EUR), so `mf query` "
        "leaves it out: copy the EUR block of models/marts/_semantic_layer.yml"
    ) in " ".join(warned.stdout.split())
