"""Billing hard cases from DOMAIN.md that the loaders and the unified table must get right."""

from __future__ import annotations

import gzip
from pathlib import Path

from ingest import aws_cur, focus
from ingest.load.land import load_path


def test_mixed_currencies_are_never_summed(tmp_path: Path, con) -> None:
    f = tmp_path / "cur.csv"
    f.write_text(
        "bill/BillingPeriodStartDate,bill/PayerAccountId,lineItem/LineItemType,"
        "lineItem/UsageStartDate,lineItem/CurrencyCode,lineItem/UnblendedCost\n"
        "2026-08-01T00:00:00Z,1,Usage,2026-08-02T00:00:00Z,USD,10\n"
        "2026-08-01T00:00:00Z,1,Usage,2026-08-02T00:00:00Z,eur,7\n"
        "2026-08-01T00:00:00Z,1,Tax,2026-08-01T00:00:00Z,EUR,1.33\n"
    )
    (result,) = aws_cur.load(con, f)
    totals = {(currency, round(total, 2)) for _, currency, total in result.totals}
    assert totals == {("USD", 10.0), ("EUR", 8.33)}


def test_cur2_csv_with_json_maps(tmp_path: Path, con) -> None:
    # CUR 2.0 CSV exports write the resource_tags / cost_category maps as JSON text.
    f = tmp_path / "export-00001.csv.gz"
    body = (
        "bill_payer_account_id,bill_billing_period_start_date,line_item_line_item_type,"
        "line_item_usage_start_date,line_item_currency_code,line_item_unblended_cost,"
        "resource_tags,cost_category\n"
        "111122223333,2026-08-01T00:00:00Z,Usage,2026-08-02T00:00:00Z,USD,2.5,"
        '"{""user_product"": ""replay"", ""user_team"": ""core""}","{""bu"": ""saas""}"\n'
        "111122223333,2026-08-01T00:00:00Z,Usage,2026-08-02T00:00:00Z,USD,1,,\n"
    )
    f.write_bytes(gzip.compress(body.encode()))
    aws_cur.load(con, f)
    rows = con.execute(
        "select resource_tags['user_product'], cost_category['bu'], cardinality(resource_tags) "
        "from raw.aws_cur_line_items order by line_item_unblended_cost desc"
    ).fetchall()
    assert rows == [("replay", "saas", 2), (None, None, 0)]


def focus12(path: Path, cost: str, invoice: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "BilledCost,EffectiveCost,ListCost,BillingAccountId,BillingAccountType,BillingCurrency,"
        "BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,"
        "ChargeClass,ProviderName,InvoiceId,ServiceName,ServiceSubcategory,Tags,x_Custom\n"
        f"{cost},{cost},{cost},acct,Billing Account,USD,2026-08-01T00:00:00Z,"
        "2026-09-01T00:00:00Z,2026-08-05T00:00:00Z,2026-08-06T00:00:00Z,Usage,,Google Cloud,"
        f'{invoice},Compute Engine,Virtual Machines,"{{""team"": ""a""}}",ignored\n'
    )
    return path


def test_focus_12_closed_invoice_gets_corrections(tmp_path: Path, con) -> None:
    load_path(con, focus.SPEC, focus12(tmp_path / "v1/f.csv", "10", "INV-9"), export_name="gcp")
    (r,) = [
        load_path(con, focus.SPEC, focus12(tmp_path / "v2/f.csv", "12", "INV-9"), export_name="gcp")
    ]
    assert r.partitions[0].action == "closed: corrections appended"
    rows = con.execute(
        "select billed_cost, _correction_sign, _is_correction from raw.focus_line_items "
        "order by _is_correction, billed_cost"
    ).fetchall()
    assert rows == [(10, 1, False), (10, -1, True), (12, 1, True)]
    assert con.execute(
        "select service_subcategory, tags['team'] from raw.focus_line_items limit 1"
    ).fetchone() == ("Virtual Machines", "a")
