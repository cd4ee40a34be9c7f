"""One product on three clouds in two currencies: one reporting-currency margin, by hand.

February 2024, the product `widget` (tag `product=widget`) runs on
- AWS, billed in USD (a FOCUS export): 100.00 USD;
- Azure, billed in EUR (a FOCUS export): 200.00 EUR;
- Google Cloud, billed in USD (its own BigQuery billing export): 50.00 USD of usage with a
  10.00 USD sustained-use credit, which lands as its own credit line: 40.00 USD net;
and earns 1,000.00 USD. Finance locked February's EUR → USD rate at 1.10.

By hand: cost = 100.00 + 200.00 × 1.10 + 40.00 = 360.00 USD; gross margin = (1,000.00 − 360.00)
/ 1,000.00 = 0.64. Natively the marts keep two rows (140.00 USD with the revenue, 200.00 EUR
without: margins 0.86 and −1), which is why a reporting currency is needed at all. The build
uses the shipped rules (seeds/rules) with only the product and the rate added; MetricFlow's
reporting-currency metrics and the growth report's "whole bill in USD" give the same figures.
"""

from __future__ import annotations

import csv
import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ingest import focus, gcp, report, revenue
from ingest.demo import run_dbt
from ingest.load.db import connect
from ingest.load.land import load_path
from ingest.tests.conftest import copy_project
from ingest.tests.test_gcp import _credit, _row, write_export
from ingest.tests.test_semantic_layer import mf_query

FOCUS_COLUMNS = [
    "ProviderName", "BillingAccountId", "BillingPeriodStart", "BillingPeriodEnd",
    "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory", "BilledCost", "EffectiveCost",
    "BillingCurrency", "ServiceName", "ResourceId", "Tags",
]  # fmt: skip


def _focus_bill(path: Path, provider: str, account: str, cost: str, currency: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(FOCUS_COLUMNS)
        out.writerow([
            provider, account, "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z",
            "2024-02-05T00:00:00Z", "2024-02-06T00:00:00Z", "Usage", cost, cost, currency,
            "Virtual Machines", f"{provider.lower()}-vm-1", json.dumps({"product": "widget"}),
        ])  # fmt: skip
    return path


def _rules(project: Path) -> str:
    """The shipped rule folder, copied, with the product and February's EUR rate added."""
    folder = project / "seeds" / "rules"
    for name, row in (
        (
            "products.csv",
            "widget,Widget,widget-team,requests,request,requests,one product on three clouds",
        ),
        ("exchange_rates.csv", "2024-02-01,EUR,USD,1.10,February close"),
    ):
        seed = folder / name
        seed.write_text(seed.read_text().rstrip("\n") + "\n" + row + "\n")
    return "seeds/rules"


def test_one_product_three_clouds_one_reporting_margin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = copy_project(tmp_path / "project")
    rules = _rules(project)
    db = tmp_path / "w.duckdb"
    con = connect(db)
    load_path(
        con,
        focus.SPEC,
        _focus_bill(tmp_path / "aws" / "aws.csv", "AWS", "111", "100.00", "USD"),
        export_name="aws-focus",
    )
    load_path(
        con,
        focus.SPEC,
        _focus_bill(tmp_path / "azure" / "azure.csv", "Microsoft", "sub-1", "200.00", "EUR"),
        export_name="azure-focus",
    )
    google = [
        _row(
            "202402",
            5,
            50.0,
            labels={"product": "widget"},
            credits=[_credit("SUSTAINED_USAGE_DISCOUNT", -10.0)],
        )
    ]
    gcp.load(con, write_export(tmp_path / "gcp" / "billing.parquet", google, "parquet").parent)
    income = tmp_path / "revenue.csv"
    income.write_text(
        "month,customer_id,product,amount,currency\n2024-02-01,acme,widget,1000.00,USD\n"
    )
    load_path(con, revenue.REVENUE, income, export_name="revenue")
    con.close()

    # the build writes the project copy's target/ (semantic_manifest.json for `mf`), so the
    # parse below reuses its parse (dbt's partial parse) instead of parsing again from scratch
    monkeypatch.setenv("DBT_TARGET_PATH", str(project / "target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(project / "logs"))
    built = run_dbt(
        db, "build", "--vars", "{reporting_currency: USD}", project_dir=project, rules=rules,
        capture=True,
    )  # fmt: skip
    failed = [line for line in built.stdout.splitlines() if "ERROR" in line or "FAIL" in line]
    assert built.returncode == 0, "\n".join(failed[:30])

    with duckdb.connect(str(db), read_only=True) as c:
        rows = c.execute(
            "select billing_currency, total_cost, revenue, gross_margin, reporting_currency, "
            "total_cost_reporting, revenue_reporting, gross_margin_reporting "
            "from marts.fct_product_economics_monthly "
            "where product = 'widget' and cost_month = date '2024-02-01' order by 1"
        ).fetchall()
    native = {r[0]: (r[1], r[2], r[3]) for r in rows}
    assert native["USD"][:2] == (Decimal("140"), Decimal("1000"))
    assert native["EUR"][:2] == (Decimal("200"), Decimal("0"))
    assert {r[4] for r in rows} == {"USD"}
    assert sum(r[5] for r in rows) == Decimal("360.00")
    assert sum(r[6] for r in rows) == Decimal("1000.00")
    assert {round(r[7], 9) for r in rows} == {0.64}, "one margin, whichever row a tool reads"
    # the growth report: the reporting currency first (though EUR is the larger native bill),
    # the whole bill in USD as its headline
    data = report.collect(db)
    assert (data.month, data.currency, data.other_currencies) == (date(2024, 2, 1), "USD", ("EUR",))
    assert report.collect(db, currency="EUR").reporting == data.reporting, "same headline"
    rep = data.reporting
    assert rep is not None and rep.currency == "USD"
    assert [(r.from_currency, r.rate, r.native_cost, r.reporting_cost) for r in rep.rates] == [
        ("EUR", Decimal("1.1"), Decimal("200"), Decimal("220.00")),
        ("USD", Decimal("1"), Decimal("140"), Decimal("140.00")),
    ]
    [widget] = rep.products
    assert (widget.product, widget.billing_currencies) == ("widget", "EUR, USD")
    assert (widget.total_cost, widget.revenue) == (Decimal("360.00"), Decimal("1000.00"))
    assert widget.gross_margin == pytest.approx(0.64, abs=1e-12)
    assert (rep.total_cost, rep.unallocated_cost) == (Decimal("360.00"), Decimal("0.00"))
    assert rep.gross_margin == pytest.approx(0.64, abs=1e-12)
    text = report.format_text(data)
    assert "whole bill in USD, 2024-02" in text
    assert "total cost 360.00 USD = products 360.00 + unallocated 0.00; revenue 1,000.00" in text
    assert "EUR 200.00 × 1.1 = USD 220.00; USD 140.00 × 1 = USD 140.00" in text
    page = report.render_html(data)
    assert 'data-table="reporting"' in page and "The whole bill in USD" in page
    assert '<td class="num" data-field="total_cost_reporting" data-value="360.00">' in page
    doc = json.loads(report.report_json(data, tmp_path / "r.html"))
    assert doc["reporting"]["products"][0]["total_cost"] == "360.00"
    assert doc["reporting"]["gross_margin"] == pytest.approx(0.64, abs=1e-12)
    # MetricFlow answers the same, one currency: `mf query` in the project copy
    assert run_dbt(db, "parse", project_dir=project, rules=rules).returncode == 0
    [row] = mf_query(
        project,
        db,
        tmp_path / "mf.csv",
        ["total_cost_reporting", "revenue_reporting", "gross_margin_reporting"],
        ["metric_time__month"],
    )
    assert Decimal(row["total_cost_reporting"]) == Decimal("360")
    assert Decimal(row["revenue_reporting"]) == Decimal("1000")
    assert float(row["gross_margin_reporting"]) == pytest.approx(0.64, abs=1e-12)
    shutil.rmtree(project)
