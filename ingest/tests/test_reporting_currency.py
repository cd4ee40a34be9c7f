"""Reporting currency (var reporting_currency, exchange_rates.csv; docs/unit-economics.md).

Checked on a copy of the built sample, rebuilding only the reporting rates and what reads them,
with the sample company's exchange_rates.csv plus a rate of 0.75 for every other currency and
month the warehouse holds (the shared samples bring CAD):
- without the var the *_reporting columns are null; with USD every USD row's reporting money is
  its native money rounded to the cent, every other row's its native money × 0.75 rounded to the
  cent, and each margin the native one where the row's month has one currency;
- a EUR revenue row in a month exchange_rates.csv has a rate for converts at that rate, and the
  product-month's rows sum to one USD figure;
- a EUR row in a month without a rate fails the build naming EUR, the month and the seed file,
  and no mart is rebuilt with the unconverted row.

COST_MODEL_TEST_BUILT_SAMPLE names an already built sample warehouse to copy (quick local runs);
otherwise the session's built_sample fixture is built and copied.
"""

from __future__ import annotations

import os
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingest.demo import run_dbt
from ingest.project import SAMPLE_RULES
from ingest.tests.conftest import copy_project, seed_file

PREBUILT_ENV = "COST_MODEL_TEST_BUILT_SAMPLE"
# the reporting rates and everything reading them, except the cost-range marts, which read other
# intermediate models and never reporting columns
SELECT = [
    "--select",
    "exchange_rates int_unit_economics__reporting_rates+",
    "--exclude",
    "fct_cost_ranges_monthly+ fct_margin_robustness_monthly+",
]
USD = ["--vars", "{reporting_currency: USD}"]
OTHER_RATE = "0.75"
# mart → (key within a month, native money → reporting twin, native margin → reporting twin)
MARTS: dict[str, tuple[str, dict[str, str], dict[str, str]]] = {
    "fct_product_economics_monthly": (
        "product",
        {
            "total_cost": "total_cost_reporting",
            "revenue": "revenue_reporting",
            "gross_profit": "gross_profit_reporting",
        },
        {"gross_margin": "gross_margin_reporting"},
    ),
    "fct_customer_economics_monthly": (
        "customer_id",
        {
            "total_cost": "total_cost_reporting",
            "mrr": "mrr_reporting",
            "gross_profit": "gross_profit_reporting",
        },
        {"gross_margin": "gross_margin_reporting"},
    ),
    "fct_feature_economics_monthly": (
        "product, feature_id",
        {
            "total_cost": "total_cost_reporting",
            "revenue_attributed": "revenue_attributed_reporting",
        },
        {"cost_per_feature_margin": "cost_per_feature_margin_reporting"},
    ),
    "fct_team_showback_monthly": (
        "team",
        {"total_cost": "total_cost_reporting", "budget": "budget_reporting"},
        {},
    ),
}


@pytest.fixture
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    prebuilt = os.environ.get(PREBUILT_ENV)
    source = Path(prebuilt) if prebuilt else request.getfixturevalue("built_sample")
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(source, db)
    return db


@pytest.fixture
def project(warehouse: Path, tmp_path: Path) -> Path:
    """The project with a rate to USD for every non-USD month and currency of the warehouse."""
    project = copy_project(tmp_path / "project")
    others = _query(
        warehouse,
        """select distinct strftime(cost_month, '%Y-%m-%d'), billing_currency
           from marts.fct_cost_allocation where billing_currency <> 'USD'
           union
           select distinct strftime(revenue_month, '%Y-%m-%d'), currency
           from staging.stg_revenue__revenue where currency <> 'USD'""",
    )
    with seed_file(project, "exchange_rates.csv").open("a") as f:
        f.writelines(f"{m},{c},USD,{OTHER_RATE},test rate\n" for m, c in others)
    return project


def _build(db: Path, project: Path, *args: str) -> tuple[int, str]:
    done = run_dbt(
        db, "build", *SELECT, *args, capture=True, project_dir=project, rules=SAMPLE_RULES
    )
    return done.returncode, done.stdout + done.stderr


def _query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def _add_revenue(db: Path, month: str, amount: str, currency: str) -> None:
    """One more revenue line for replay, copying the lineage of a loaded line."""
    with duckdb.connect(str(db)) as con:
        con.execute(
            f"""insert into raw.revenue
                select date '{month}', 'cust_fx', 'replay', {amount}, '{currency}',
                       _load_id, _source_file, -1, _loaded_at, _export_name,
                       _billing_account_id, date '{month}', false, 1, null
                from raw.revenue limit 1"""
        )


def test_usd_reporting_is_the_native_money_to_the_cent(warehouse: Path, project: Path) -> None:
    # the copy as the sample built it: without the var (its exchange_rates.csv has rates)
    for mart, (_, money, _) in MARTS.items():
        [(rows, unconverted)] = _query(
            warehouse,
            f"""select count(*), count(*) filter (where reporting_currency is not null
                    or {" or ".join(f"{c} is not null" for c in money.values())})
                from marts.{mart}""",
        )
        assert rows > 0 and unconverted == 0, (mart, rows, unconverted)

    code, out = _build(warehouse, project, *USD)
    assert code == 0, out[-3000:]
    rate = f"case when billing_currency = 'USD' then 1 else {OTHER_RATE} end"
    for mart, (key, money, margins) in MARTS.items():
        rounded = [
            f"{twin} is not distinct from round({native} * {rate}, 2)"
            for native, twin in money.items()
            if native != "gross_profit"
        ]
        # gross_profit_reporting is the difference of the rounded amounts, as on the row
        if "gross_profit" in money:
            revenue = "revenue" if "revenue" in money else "mrr"
            rounded.append(f"gross_profit_reporting = {revenue}_reporting - total_cost_reporting")
        # the reporting margin is computed from the cent-rounded money: within one 4-place
        # step (plus 0.1 % of a ratio far from 0, which a half cent moves more) of the native
        # margin where the month has the key in one currency only
        same = [
            f"""(n_currencies > 1 or coalesce(
                 abs({twin} - {native}) <= 0.0001 + 0.001 * abs({native}),
                 {twin} is null and {native} is null))"""
            for native, twin in margins.items()
        ]
        [(rows, usd_rows, wrong)] = _query(
            warehouse,
            f"""select count(*),
                       count(*) filter (where billing_currency = 'USD'),
                       count(*) filter (where not (reporting_currency = 'USD'
                           and {" and ".join(rounded + same)}))
                from (select *, count(*) over (partition by cost_month, {key}) as n_currencies
                      from marts.{mart})""",
        )
        assert rows > 0 and usd_rows > 0, mart
        assert wrong == 0, (mart, key, wrong)
    [(exact, reported)] = _query(
        warehouse,
        """select round(sum(total_cost), 2), sum(total_cost_reporting)
           from marts.fct_customer_economics_monthly where billing_currency = 'USD'""",
    )
    [(rows,)] = _query(
        warehouse,
        "select count(*) from marts.fct_customer_economics_monthly where billing_currency = 'USD'",
    )
    assert abs(exact - reported) <= Decimal("0.005") * rows, (exact, reported, rows)
    [(bi_rows,)] = _query(
        warehouse,
        """select count(*) from bi.product_economics_monthly as v
           join marts.fct_product_economics_monthly as m
               using (cost_month, product, billing_currency)
           where v.total_cost_reporting = m.total_cost_reporting
               and v.reporting_currency = 'USD'""",
    )
    assert bi_rows == len(_query(warehouse, "select 1 from marts.fct_product_economics_monthly"))


def test_a_eur_row_converts_at_its_month_rate(warehouse: Path, project: Path) -> None:
    """September 2026 has EUR→USD 1.0790 in the sample's exchange_rates.csv."""
    _add_revenue(warehouse, "2026-09-01", "1000.005", "EUR")
    code, out = _build(warehouse, project, *USD)
    assert code == 0, out[-3000:]
    [(revenue, revenue_reporting)] = _query(
        warehouse,
        """select revenue, revenue_reporting from marts.fct_product_economics_monthly
           where cost_month = date '2026-09-01' and product = 'replay'
               and billing_currency = 'EUR'""",
    )
    # 1000.005 × 1.0790 = 1079.005395 → 1079.01
    assert (revenue, revenue_reporting) == (Decimal("1000.005"), Decimal("1079.01"))
    [(usd_revenue, all_rows, margins)] = _query(
        warehouse,
        """select sum(revenue) filter (where billing_currency = 'USD'),
                  sum(revenue_reporting), count(distinct gross_margin_reporting)
           from marts.fct_product_economics_monthly
           where cost_month = date '2026-09-01' and product = 'replay'""",
    )
    assert all_rows == round(usd_revenue, 2) + Decimal("1079.01")
    assert margins == 1, "the product-month's rows disagree on its one margin"


def test_a_eur_row_without_a_rate_fails_naming_eur_and_the_month(
    warehouse: Path, project: Path
) -> None:
    _add_revenue(warehouse, "2026-11-01", "10.00", "EUR")
    code, out = _build(warehouse, project, *USD)
    assert code != 0, "a EUR row without a November rate built green"
    assert "no exchange rate EUR → USD for month 2026-11-01" in out, out[-3000:]
    assert f"{SAMPLE_RULES}/exchange_rates.csv" in out, out[-3000:]
    eur = _query(
        warehouse,
        "select count(*) from marts.fct_product_economics_monthly where billing_currency = 'EUR'",
    )
    assert eur == [(0,)], "a mart was rebuilt with the unconverted row"
