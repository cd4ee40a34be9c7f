"""Every real public sample loads, and Σ billed per period and currency ties to the raw file.

The expected totals are computed here straight from the file with DuckDB, independently of the
loader's column mapping, so a mapping or type error shows up as a mismatch.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ingest import aws_cur, azure, focus, oci
from ingest.load.land import load_path
from ingest.load.spec import LoadError, TableSpec

CASES = [
    # (loader, relative path, how to read it independently, period expr, currency, cost)
    (
        "cur",
        "aws_cur/focus_converters_sample-anonymous-aws-export-dataset.csv",
        "read_csv({f}, all_varchar=true)",
        '"bill/BillingPeriodStartDate"',
        '"lineItem/CurrencyCode"',
        '"lineItem/UnblendedCost"',
    ),
    (
        "cur",
        "aws_cur/well_architected_labs/Nov2018-WorkshopCUR-00001.snappy.parquet",
        "read_parquet({f})",
        "bill_billing_period_start_date",
        "line_item_currency_code",
        "line_item_unblended_cost",
    ),
    (
        "cur",
        "aws_cur/well_architected_labs/Oct2018-WorkshopCUR-00001.snappy.parquet",
        "read_parquet({f})",
        "bill_billing_period_start_date",
        "line_item_currency_code",
        "line_item_unblended_cost",
    ),
    (
        "cur",
        "aws_cur/well_architected_labs/CostOpt_Step1CUR.gz",
        "read_csv({f}, all_varchar=true, delim='\x01', nullstr='\\N')",
        "bill_billing_period_start_date",
        "line_item_currency_code",
        "line_item_unblended_cost",
    ),
    (
        "cur",
        "aws_cur/koku/2023-06-01.csv",
        "read_csv({f}, all_varchar=true)",
        '"bill/BillingPeriodStartDate"',
        '"lineItem/CurrencyCode"',
        '"lineItem/UnblendedCost"',
    ),
    (
        "cur",
        "aws_cur/koku/2022-07-01-alt-columns.csv",
        "read_csv({f}, all_varchar=true)",
        "bill_billing_period_start_date",
        "line_item_currency_code",
        "line_item_unblended_cost",
    ),
    (
        "cur",
        "aws_cur/koku/koku-local-1.csv.gz",
        "read_csv({f}, all_varchar=true)",
        '"bill/BillingPeriodStartDate"',
        '"lineItem/CurrencyCode"',
        '"lineItem/UnblendedCost"',
    ),
    (
        "cur",
        "aws_cur/synthetic_mocks_keboola/MockTestReportV2-00001.csv.gz",
        "read_csv({f}, all_varchar=true)",
        "bill_billing_period_start_date",
        "line_item_currency_code",
        "line_item_unblended_cost",
    ),
    (
        "focus",
        "focus/focus_1.0_sample_1000.csv",
        "read_csv({f}, all_varchar=true, nullstr='NULL')",
        "BillingPeriodStart",
        "BillingCurrency",
        "BilledCost",
    ),
    (
        "focus",
        "focus_converter_output/focus_converter_1.0.0_aws-cur_to_focus_only.parquet",
        "read_parquet({f})",
        "BillingPeriodStart",
        "BillingCurrency",
        "BilledCost",
    ),
    (
        "azure",
        "other_providers/focus_converters_azure_sample-anonymous-ea-export-dataset.csv",
        "read_csv({f}, all_varchar=true)",
        "strptime(BillingPeriodStartDate, '%m/%d/%Y')",
        "BillingCurrencyCode",
        "CostInBillingCurrency",
    ),
    (
        "oci",
        "other_providers/focus_converters_oci_reports_cost-csv_0000000030000269.csv",
        "read_csv({f}, all_varchar=true)",
        "\"lineItem/intervalUsageStart\"[:7] || '-01'",
        '"cost/currencyCode"',
        '"cost/myCost"',
    ),
]

SPECS: dict[str, TableSpec] = {
    "cur": aws_cur.SPEC,
    "focus": focus.SPEC,
    "azure": azure.SPEC,
    "oci": oci.SPEC,
}


def expected_totals(path: Path, reader: str, period: str, currency: str, cost: str):
    con = duckdb.connect()
    sql = f"""
        select strftime(cast({period} as timestamp), '%Y-%m'), upper({currency}),
               count(*), round(sum(cast({cost} as decimal(38, 12))), 2)
        from {reader.format(f="?")} group by all order by all
    """
    return con.execute(sql, [str(path)]).fetchall()


def load(con, kind: str, path: Path, **kw):
    if kind == "cur":
        return aws_cur.load(con, path, export_name=path.name, **kw)
    return [load_path(con, SPECS[kind], path, export_name=path.name, **kw)]


@pytest.mark.parametrize("case", CASES, ids=[c[1].rsplit("/", 1)[-1] for c in CASES])
def test_sample_loads_and_ties_to_file(shared_data: Path, con, case) -> None:
    kind, rel, reader, period, currency, cost = case
    path = shared_data / rel
    load(con, kind, path)
    spec = SPECS[kind]
    got = con.execute(
        f"""
        select strftime(_billing_period, '%Y-%m'), upper({spec.currency_column}), count(*),
               round(sum({spec.billed_column}), 2)
        from {spec.table} group by all order by all
        """
    ).fetchall()
    assert got == expected_totals(path, reader, period, currency, cost)


def test_headerless_hive_export_loads_with_header_file(shared_data: Path, con) -> None:
    folder = shared_data / "aws_cur/well_architected_labs"
    names = (folder / "HEADER_Step4-5_155cols_INFERRED.txt").read_text().split()
    (result,) = aws_cur.load(con, folder / "CostOpt_Step5CUR.gz", header_names=names)
    assert result.rows == 5941
    types = dict(
        con.execute(
            "select line_item_line_item_type, count(*) from raw.aws_cur_line_items group by 1"
        ).fetchall()
    )
    assert types["SavingsPlanCoveredUsage"] == 360
    assert types["SavingsPlanNegation"] == 120
    assert types["SavingsPlanRecurringFee"] == 48


def test_manifest_decides_which_files_load(shared_data: Path, con) -> None:
    # koku/ holds a legacy manifest listing only koku-local-1.csv.gz; the other CSVs are not
    # part of that delivery and must not be loaded with it.
    results = aws_cur.load(con, shared_data / "aws_cur/koku")
    assert [r.export_name for r in results] == ["koku-local"]
    assert con.execute("select count(*) from raw.aws_cur_line_items").fetchone() == (13380,)


def test_cur2_manifest_and_zip_legacy(shared_data: Path, con) -> None:
    results = aws_cur.load(con, shared_data / "aws_cur/synthetic_mocks_keboola")
    assert sorted(r.rows for r in results) == [3, 4]


def test_malformed_koku_header_is_a_clear_error(shared_data: Path, con) -> None:
    with pytest.raises(LoadError, match=r"test_cur\.csv: .*header"):
        aws_cur.load(con, shared_data / "aws_cur/koku/test_cur.csv")


def test_tags_land_from_every_spelling(shared_data: Path, con) -> None:
    aws_cur.load(
        con, shared_data / "aws_cur/well_architected_labs/Nov2018-WorkshopCUR-00001.snappy.parquet"
    )
    keys = con.execute(
        "select distinct unnest(map_keys(resource_tags)) from raw.aws_cur_line_items order by 1"
    ).fetchall()
    assert ("user_environment",) in keys
    load_path(
        con,
        azure.SPEC,
        shared_data
        / "other_providers/focus_converters_azure_sample-anonymous-ea-export-dataset.csv",
        export_name="azure",
    )
    assert con.execute("select tags['tagA'] from raw.azure_cost_details limit 1").fetchone() == (
        "valueA",
    )


@pytest.mark.parametrize("case", CASES, ids=[c[1].rsplit("/", 1)[-1] for c in CASES])
def test_every_loader_three_times_is_identical(shared_data: Path, con, case) -> None:
    kind, rel, *_ = case
    spec = SPECS[kind]
    totals = []
    for attempt in range(3):
        load(con, kind, shared_data / rel, force=attempt > 0)
        totals.append(
            con.execute(
                f"select count(*), sum({spec.billed_column}), count(distinct _load_id) "
                f"from {spec.table}"
            ).fetchone()
        )
    assert totals[0] == totals[1] == totals[2]
    assert totals[0][2] == 1  # the last delivery replaced the earlier ones
