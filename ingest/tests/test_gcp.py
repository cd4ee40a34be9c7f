"""Google Cloud Billing export (BigQuery standard / detailed usage cost) loader.

The fixture follows Google's published schema of the billing export tables (nested records
service, sku, project, location, resource, usage, invoice, adjustment_info; repeated labels,
system_labels, tags and credits) and is written by DuckDB COPY as BigQuery exports it:
newline-delimited JSON and Parquet. The account, service and SKU ids are re-typed from
project-koku/koku's test export ``koku/masu/test/data/gcp/2024-03-01_5.csv`` (a flattened
export of a real billing account's schema); the rest is made up to cover every cost_type and
every credit type.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ingest import gcp
from ingest.demo import dbt_build
from ingest.load.db import connect
from ingest.load.spec import LoadError
from ingest.tests.conftest import ingest_cli, snapshot

ACCOUNT = "018984-D0AAA4-940B88"  # koku's sample billing account
COMPUTE = {"id": "6F81-5844-456A", "description": "Compute Engine"}
EGRESS = {"id": "DFA5-B5C6-36D6", "description": "Network Internet Egress from Americas to EMEA"}
VM_SKU = {"id": "6B8F-E63D-832B", "description": "N2 Instance Core running in Americas"}
INVOICE_SVC = {"id": "", "description": "Invoice"}

# BigQuery's export schema, as DuckDB types (FLOAT64 → DOUBLE, TIMESTAMP → TIMESTAMPTZ).
SCHEMA = {
    "billing_account_id": "VARCHAR",
    "service": "STRUCT(id VARCHAR, description VARCHAR)",
    "sku": "STRUCT(id VARCHAR, description VARCHAR)",
    "usage_start_time": "TIMESTAMPTZ",
    "usage_end_time": "TIMESTAMPTZ",
    "project": (
        "STRUCT(id VARCHAR, number VARCHAR, name VARCHAR, "
        "labels STRUCT(key VARCHAR, value VARCHAR)[], ancestry_numbers VARCHAR, "
        "ancestors STRUCT(resource_name VARCHAR, display_name VARCHAR)[])"
    ),
    "labels": "STRUCT(key VARCHAR, value VARCHAR)[]",
    "system_labels": "STRUCT(key VARCHAR, value VARCHAR)[]",
    "tags": "STRUCT(key VARCHAR, value VARCHAR, inherited BOOLEAN, namespace VARCHAR)[]",
    "location": "STRUCT(location VARCHAR, country VARCHAR, region VARCHAR, zone VARCHAR)",
    "resource": "STRUCT(name VARCHAR, global_name VARCHAR)",
    "export_time": "TIMESTAMPTZ",
    "cost": "DOUBLE",
    "cost_at_list": "DOUBLE",
    "currency": "VARCHAR",
    "currency_conversion_rate": "DOUBLE",
    "usage": (
        "STRUCT(amount DOUBLE, unit VARCHAR, amount_in_pricing_units DOUBLE, pricing_unit VARCHAR)"
    ),
    "credits": (
        "STRUCT(name VARCHAR, amount DOUBLE, full_name VARCHAR, id VARCHAR, type VARCHAR)[]"
    ),
    "invoice": "STRUCT(month VARCHAR)",
    "cost_type": "VARCHAR",
    "adjustment_info": "STRUCT(id VARCHAR, description VARCHAR, mode VARCHAR, type VARCHAR)",
}


def _kv(**labels: str) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in labels.items()]


def _credit(kind: str, amount: float, name: str = "") -> dict[str, object]:
    return {
        "name": name or kind.replace("_", " ").title(),
        "amount": amount,
        "full_name": f"{kind} credit",
        "id": f"credit-{kind.lower()}",
        "type": kind,
    }


def _row(
    month: str,
    day: int,
    cost: float,
    *,
    cost_type: str = "regular",
    credits: list[dict[str, object]] | None = None,
    labels: dict[str, str] | None = None,
    project_labels: dict[str, str] | None = None,
    service: dict[str, str] = COMPUTE,
    sku: dict[str, str] = VM_SKU,
    resource: str | None = "instance-1",
    adjustment: dict[str, str] | None = None,
) -> dict[str, object]:
    start = f"{month[:4]}-{month[4:]}-{day:02d} 03:00:00+00"
    return {
        "billing_account_id": ACCOUNT,
        "service": service,
        "sku": sku,
        "usage_start_time": start,
        "usage_end_time": start.replace("03:00", "04:00"),
        "project": {
            "id": "cloud-billing-292519",
            "number": "237691936840",
            "name": "cm_example",
            "labels": _kv(**(project_labels or {})),
            "ancestry_numbers": "/1234567/237691936840/",
            "ancestors": [
                {"resource_name": "projects/237691936840", "display_name": "cm_example"},
                {"resource_name": "organizations/1234567", "display_name": "example.com"},
            ],
        },
        "labels": _kv(**(labels or {})),
        "system_labels": _kv(**{"compute.googleapis.com/machine_spec": "n2-standard-4"}),
        "tags": [
            {"key": "env", "value": "prod", "inherited": True, "namespace": "1234567"},
        ],
        "location": {
            "location": "us-central1",
            "country": "US",
            "region": "us-central1",
            "zone": "us-central1-a",
        },
        "resource": None
        if resource is None
        else {"name": resource, "global_name": f"//compute.googleapis.com/{resource}"},
        "export_time": f"{month[:4]}-{month[4:]}-{day:02d} 09:00:00+00",
        "cost": cost,
        "cost_at_list": cost * 1.2 if cost_type == "regular" else None,
        "currency": "USD",
        "currency_conversion_rate": 1.0,
        "usage": {
            "amount": 14871.0,
            "unit": "seconds",
            "amount_in_pricing_units": 4.13,
            "pricing_unit": "hour",
        }
        if cost_type == "regular"
        else None,
        "credits": credits or [],
        "invoice": {"month": month},
        "cost_type": cost_type,
        "adjustment_info": adjustment,
    }


def export_rows(feb_first_cost: float = 100.0) -> list[dict[str, object]]:
    """Feb 2024: every cost_type and every credit type; Mar 2024: one row, fully credited."""
    return [
        _row(
            "202402",
            1,
            feb_first_cost,
            credits=[
                _credit("SUSTAINED_USAGE_DISCOUNT", -10.0),
                _credit("COMMITTED_USAGE_DISCOUNT", -20.0),
            ],
            labels={"product": "replay", "team": "replay-team"},
            project_labels={"product": "analytics", "environment": "prod"},
        ),
        _row(
            "202402",
            2,
            50.0,
            sku=EGRESS,
            credits=[
                _credit("COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE", -5.0),
                _credit("FREE_TIER", -1.0),
                _credit("PROMOTION", -2.5, "Free trial credit"),
                _credit("DISCOUNT", -3.0),
                _credit("SUBSCRIPTION_BENEFIT", -4.0),
                _credit("RESELLER_MARGIN", -1.5),
                _credit("FEE_UTILIZATION_OFFSET", -0.25),
            ],
            labels={"product": "analytics"},
        ),
        _row("202402", 3, 7.77, project_labels={"product": "analytics"}),
        _row(
            "202402",
            28,
            8.25,
            cost_type="tax",
            service=INVOICE_SVC,
            sku={"id": "", "description": "Tax"},
            resource=None,
        ),
        _row(
            "202402",
            28,
            -12.0,
            cost_type="adjustment",
            service=COMPUTE,
            resource=None,
            adjustment={
                "id": "adj-1",
                "description": "Goodwill credit for an outage",
                "mode": "MANUAL_ADJUSTMENTS",
                "type": "GENERAL_ADJUSTMENT",
            },
        ),
        _row(
            "202402",
            28,
            0.01,
            cost_type="rounding_error",
            service=INVOICE_SVC,
            sku={"id": "", "description": "Rounding error"},
            resource=None,
        ),
        _row(
            "202403",
            1,
            30.0,
            credits=[_credit("PROMOTION", -30.0)],
            labels={"product": "replay"},
        ),
    ]


def write_export(path: Path, rows: list[dict[str, object]], fmt: str) -> Path:
    """``rows`` as BigQuery exports them: DuckDB reads them with the export's schema and COPYs
    them to newline-delimited JSON or Parquet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(path.name + ".src.json")
    scratch.write_text(json.dumps(rows))
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in SCHEMA.items()) + "}"
        con.execute(
            f"COPY (SELECT * FROM read_json(?, format = 'array', columns = {columns})) "
            f"TO '{path}' (FORMAT {'parquet' if fmt == 'parquet' else 'json'})",
            [str(scratch)],
        )
    finally:
        con.close()
        scratch.unlink()
    return path


def expected_by_month(rows: list[dict[str, object]]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for r in rows:
        month = r["invoice"]["month"]  # type: ignore[index]
        total = Decimal(str(r["cost"])) + sum(
            (Decimal(str(c["amount"])) for c in r["credits"]),  # type: ignore[attr-defined]
            Decimal(0),
        )
        out[month] = out.get(month, Decimal(0)) + total
    return out


def n_credits(rows: list[dict[str, object]]) -> int:
    return sum(len(r["credits"]) for r in rows)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_every_row_and_credit_lands_and_ties(tmp_path: Path, con, fmt: str) -> None:
    rows = export_rows()
    path = write_export(tmp_path / "export" / f"billing.{fmt}", rows, fmt)
    result = gcp.load(con, path.parent)
    assert result.rows == len(rows) + n_credits(rows)
    kinds = dict(
        con.execute("select line_kind, count(*) from raw.gcp_billing_export group by 1").fetchall()
    )
    assert kinds == {"cost": len(rows), "credit": n_credits(rows)}
    # every documented credit type, one line each, amount as Google gives it (negative)
    credit_types = con.execute(
        "select credit_type, cost from raw.gcp_billing_export where line_kind = 'credit' "
        "and invoice_month = date '2024-02-01' order by 1"
    ).fetchall()
    assert sorted(t for t, _ in credit_types) == sorted(gcp.CREDIT_TYPES)
    assert all(amount < 0 for _, amount in credit_types)
    # the cost rows: one per export row, row numbers those of the file
    assert con.execute(
        "select list(export_row order by export_row) = list(_source_row order by _source_row) "
        "from raw.gcp_billing_export where line_kind = 'cost'"
    ).fetchone() == (True,)
    assert sorted(
        r[0]
        for r in con.execute("select distinct cost_type from raw.gcp_billing_export").fetchall()
    ) == sorted(gcp.COST_TYPES)
    # tie per invoice month × account × currency: Σ cost + Σ credits
    got = dict(
        con.execute(
            "select strftime(invoice_month, '%Y%m'), sum(cost) from raw.gcp_billing_export "
            "where billing_account_id = ? and currency = 'USD' group by 1",
            [ACCOUNT],
        ).fetchall()
    )
    assert got == expected_by_month(rows)
    assert got["202402"] == Decimal("106.78")
    billed = {(p.isoformat(), c): round(t, 2) for p, c, t in result.totals}
    assert billed == {("2024-02-01", "USD"): 106.78, ("2024-03-01", "USD"): 0.0}
    # labels → tags, the resource's label over the project's; system labels apart
    tags, system = con.execute(
        "select tags, system_labels from raw.gcp_billing_export "
        "where line_kind = 'cost' and export_row = 1"
    ).fetchone()
    assert tags == {"product": "replay", "team": "replay-team", "environment": "prod"}
    assert system == {"compute.googleapis.com/machine_spec": "n2-standard-4"}
    # a credit carries its export row's labels, so it is allocated like the usage it discounts
    assert con.execute(
        "select distinct tags['product'] from raw.gcp_billing_export "
        "where line_kind = 'credit' and export_row = 1"
    ).fetchall() == [("replay",)]
    # the same files again: nothing to do, nothing doubled
    assert gcp.load(con, path.parent).skipped
    assert con.execute("select count(*) from raw.gcp_billing_export").fetchone() == (result.rows,)


def test_reexport_of_a_month_replaces_it(tmp_path: Path, con) -> None:
    first = write_export(tmp_path / "a" / "billing.parquet", export_rows(), "parquet")
    gcp.load(con, first.parent)
    # Google keeps adding to February until it closes: the next export holds February only,
    # with the first row's cost grown; March, not in it, stays as loaded.
    february = [r for r in export_rows(feb_first_cost=140.0) if r["invoice"]["month"] == "202402"]  # type: ignore[index]
    second = write_export(tmp_path / "b" / "billing.jsonl", february, "jsonl")
    result = gcp.load(con, second.parent)
    assert [(p.billing_period.isoformat(), p.action) for p in result.partitions] == [
        ("2024-02-01", "replaced")
    ]
    got = dict(
        con.execute(
            "select strftime(invoice_month, '%Y%m'), sum(cost) from raw.gcp_billing_export "
            "group by 1"
        ).fetchall()
    )
    assert got == {"202402": Decimal("146.78"), "202403": Decimal("0")}
    assert con.execute(
        "select count(*) from raw.gcp_billing_export where invoice_month = date '2024-02-01'"
    ).fetchone() == (len(february) + n_credits(february),)


def test_bad_value_names_file_row_and_google_column(tmp_path: Path, con) -> None:
    rows = export_rows()
    rows[2]["usage"]["amount"] = "lots"  # type: ignore[index]
    path = tmp_path / "x" / "billing.jsonl"
    path.parent.mkdir()
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(LoadError, match=r"billing\.jsonl: row 3, column 'usage\.amount'"):
        gcp.load(con, path.parent)
    rows = export_rows()
    rows[1]["credits"][0]["amount"] = "n/a"  # type: ignore[index]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(LoadError, match=r"row 2, column 'credits\.amount': cannot read 'n/a'"):
        gcp.load(con, path.parent)
    assert snapshot(con) == {}


def focus_export(path: Path) -> Path:
    """One line of a FOCUS export of the fixture's billing account, February 2024."""
    path.parent.mkdir(parents=True, exist_ok=True)
    c = duckdb.connect()
    c.execute(
        f"""COPY (SELECT 'Google Cloud' AS ProviderName, '{ACCOUNT}' AS BillingAccountId,
            TIMESTAMP '2024-02-01' AS BillingPeriodStart,
            TIMESTAMP '2024-03-01' AS BillingPeriodEnd,
            TIMESTAMP '2024-02-01' AS ChargePeriodStart,
            TIMESTAMP '2024-02-02' AS ChargePeriodEnd,
            1.5 AS BilledCost, 1.5 AS EffectiveCost, 1.5 AS ListCost, 1.5 AS ContractedCost,
            'USD' AS BillingCurrency, 'Usage' AS ChargeCategory) TO '{path}' (FORMAT parquet)"""
    )
    c.close()
    return path


def test_focus_export_of_the_same_bill_is_refused(tmp_path: Path) -> None:
    """Provider gcp: a FOCUS export of the same billing account and month is the same bill."""
    db = tmp_path / "w.duckdb"
    export = write_export(tmp_path / "export" / "billing.parquet", export_rows(), "parquet")
    assert ingest_cli(db, "gcp", str(export.parent), "--quiet").returncode == 0
    focus = focus_export(tmp_path / "focus" / "focus.parquet")
    proc = ingest_cli(db, "focus", str(focus), "--quiet")
    assert proc.returncode == 1
    assert f"GCP billing account {ACCOUNT}, billing period 2024-02 is already loaded" in (
        proc.stderr
    )


def test_non_gcp_files_are_refused_with_nothing_loaded(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    focus = focus_export(tmp_path / "focus" / "focus.parquet")
    proc = ingest_cli(db, "gcp", str(focus), "--quiet")
    assert proc.returncode == 1
    assert "required columns 'billing_account_id', 'cost', 'currency', 'invoice'" in proc.stderr
    assert "python -m ingest focus" in proc.stderr
    cur = tmp_path / "cur" / "cur.csv"
    cur.parent.mkdir()
    cur.write_text(
        "identity/LineItemId,lineItem/UsageAccountId,lineItem/UnblendedCost\nx,123,1.0\n"
    )
    proc = ingest_cli(db, "gcp", str(cur), "--quiet")
    assert proc.returncode == 1 and "Parquet or newline-delimited JSON" in proc.stderr
    avro = tmp_path / "avro" / "billing.avro"
    avro.parent.mkdir()
    avro.write_bytes(b"Obj\x01 an Avro export")
    proc = ingest_cli(db, "gcp", str(avro), "--quiet")
    assert proc.returncode == 1 and "--destination_format PARQUET" in proc.stderr
    con = connect(db)
    try:
        assert snapshot(con) == {}
    finally:
        con.close()


def test_export_given_to_another_loader_names_this_command(tmp_path: Path) -> None:
    export = write_export(tmp_path / "export" / "billing.parquet", export_rows(), "parquet")
    proc = ingest_cli(tmp_path / "w.duckdb", "focus", str(export), "--quiet")
    assert proc.returncode == 1
    assert "looks like a Google Cloud Billing export: load it with `python -m ingest gcp`" in (
        proc.stderr
    )


def test_cli_loads_and_labels_allocate_by_the_tag_rules(tmp_path: Path) -> None:
    """A `product` label reaches fct_cost_allocation through the existing tag rules."""
    rows = export_rows()
    path = write_export(tmp_path / "export" / "billing.parquet", rows, "parquet")
    db = tmp_path / "w.duckdb"
    proc = ingest_cli(db, "gcp", str(path.parent))
    assert proc.returncode == 0, proc.stderr
    assert "2024-02 billed USD 106.78" in proc.stdout
    assert "credit(s) landed as lines of their own" in proc.stdout
    assert dbt_build(db, "--quiet")
    con = duckdb.connect(str(db), read_only=True)
    try:
        lines = con.execute(
            """select charge_category, count(*), sum(billed_cost)
               from marts.fct_cost_line_items where provider = 'Google Cloud'
               and charge_billing_period = date '2024-02-01' group by 1"""
        ).fetchall()
        by_product = dict(
            con.execute(
                """select product, sum(allocated_billed_cost) from marts.fct_cost_allocation
                   where billing_period = date '2024-03-01' group by 1"""
            ).fetchall()
        )
        feb = dict(
            con.execute(
                """select product, sum(allocated_billed_cost) from marts.fct_cost_allocation
                   where billing_period = date '2024-02-01' group by 1"""
            ).fetchall()
        )
    finally:
        con.close()
    got = {cat: (n, total) for cat, n, total in lines}
    # the feb credits, each a line of its own, and the adjustment that lowers the bill
    assert got["Credit"] == (10, Decimal("-59.25"))
    assert got["Adjustment"] == (1, Decimal("0.01"))  # the rounding error
    assert got["Tax"] == (1, Decimal("8.25"))
    assert sum(t for _, t in got.values()) == Decimal("106.78")
    assert by_product.get("replay") == Decimal("0")  # 30.00 usage - 30.00 promotion
    # Directly tagged: replay 100 - 30 credits = 70.00 (its own label beats the project's
    # `analytics`); analytics 50 - 17.25 credits + 7.77 (project label only) = 40.52. The
    # sample rules spread tax + adjustment (8.25 - 12.00 = -3.75) by that spend:
    # replay 70 - 3.75 × 70 / 110.52 = 67.63, analytics 40.52 - 1.37 = 39.14 (to the cent).
    assert feb["replay"] == Decimal("67.63")
    assert feb["analytics"] == Decimal("39.14")
    assert sum(feb.values()) == Decimal("106.78")  # the invoice, nothing lost


def test_older_standard_export_without_optional_fields(tmp_path: Path, con) -> None:
    """BigQuery's own JSON extract of an older standard table: timestamps written `… UTC`, no
    resource, cost_at_list, cost_type, adjustment_info or tags, empty repeated fields."""
    line = {
        "billing_account_id": ACCOUNT,
        "service": COMPUTE,
        "sku": EGRESS,
        "usage_start_time": "2024-02-01 05:00:00 UTC",
        "usage_end_time": "2024-02-01 06:00:00 UTC",
        "project": {"id": "cloud-billing-292519", "name": "cm_example", "labels": []},
        "labels": [],
        "system_labels": [],
        "location": {"location": "us-central1", "country": "US", "region": "us-central1"},
        "export_time": "2024-02-02 01:11:12.066 UTC",
        "cost": 0.42,
        "currency": "USD",
        "currency_conversion_rate": 1,
        "usage": {"amount": 34598, "unit": "bytes"},
        "credits": [],
        "invoice": {"month": "202402"},
    }
    path = tmp_path / "x" / "billing.json"
    path.parent.mkdir()
    path.write_text(json.dumps(line) + "\n" + json.dumps({**line, "cost": 0.58}) + "\n")
    result = gcp.load(con, path.parent)
    assert result.rows == 2
    row = con.execute(
        "select sum(cost), min(usage_start_time), any_value(tags), any_value(cost_type), "
        "any_value(resource_name) from raw.gcp_billing_export"
    ).fetchone()
    assert row[0] == Decimal("1.00") and str(row[1]) == "2024-02-01 05:00:00"
    assert row[2] == {} and row[3] is None and row[4] is None
