"""A usage, revenue, customers or AI requests file whose header misspells an expected column is
refused with "did you mean", never landed as a column of nulls; an optional column missing from
the whole file is a warning that says what is lost; ignored columns are listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest import ai_requests, aws_cur, revenue, usage
from ingest.load.land import load_path
from ingest.load.spec import LoadError, TableSpec
from ingest.tests.conftest import ingest_cli, snapshot

USAGE_HEADER = "date,metric,product,customer_id,feature_id,quantity\n"
USAGE_ROWS = (
    "2026-10-01,requests,replay,maple,,100\n"
    "2026-10-01,requests,replay,gamma,,50\n"
    "2026-10-02,requests,replay,maple,,80\n"
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def refused(con, spec: TableSpec, path: Path) -> str:
    """The load's error; the raw tables exactly as they were before it."""
    before = snapshot(con)
    with pytest.raises(LoadError) as err:
        load_path(con, spec, path, export_name=spec.source)
    assert snapshot(con) == before
    return str(err.value)


@pytest.fixture
def loaded(tmp_path: Path, con):
    """Two days of usage with customers, as the observed case had before the bad delivery."""
    load_path(
        con,
        usage.SPEC,
        write(tmp_path / "v1/usage.csv", USAGE_HEADER + USAGE_ROWS),
        export_name="usage",
    )
    return con


def test_customerid_is_refused_and_the_database_is_unchanged(tmp_path: Path, loaded) -> None:
    # The observed case: `customerid` replaced two days of rows with rows carrying no customer.
    path = write(
        tmp_path / "v2/usage.csv",
        USAGE_HEADER.replace("customer_id", "customerid") + USAGE_ROWS,
    )
    message = refused(loaded, usage.SPEC, path)
    assert message == (
        f"usage file {path}: column 'customerid' looks like 'customer_id' "
        "(did you mean `customer_id`?) — rename the column in the file and load again"
    )
    customers = loaded.execute("select count(customer_id) from raw.usage_metrics").fetchone()
    assert customers == (3,)


@pytest.mark.parametrize(
    "header",
    ["Customer ID", "customerid", "customer", "tenant", "tenant_id", "custmer_id"],
)
def test_near_misses_of_customer_id(header: str, tmp_path: Path, loaded) -> None:
    path = write(
        tmp_path / "v2/usage.csv", USAGE_HEADER.replace("customer_id", header) + USAGE_ROWS
    )
    message = refused(loaded, usage.SPEC, path)
    assert f"column {header!r} looks like 'customer_id' (did you mean `customer_id`?)" in message


def test_every_near_miss_is_named_in_one_error(tmp_path: Path, con) -> None:
    path = write(
        tmp_path / "usage.csv",
        "date,metric,products,customerid,feature,quantity\n2026-10-01,r,replay,c1,f1,1\n",
    )
    message = refused(con, usage.SPEC, path)
    for header, column in (("products", "product"), ("customerid", "customer_id")):
        assert f"column {header!r} looks like {column!r}" in message
    assert "column 'feature' looks like 'feature_id'" in message


@pytest.mark.parametrize(
    "header", ["CUSTOMER_ID", "Customer_Id", "customerId", "customer-id", "customer id"]
)
def test_the_same_name_in_another_case_is_the_column(header: str, tmp_path: Path, con) -> None:
    # Only case and separators differ from the name: the column loads, no warning.
    path = write(tmp_path / "usage.csv", USAGE_HEADER.replace("customer_id", header) + USAGE_ROWS)
    result = load_path(con, usage.SPEC, path, export_name="usage")
    assert result.warnings == []
    assert con.execute("select count(customer_id) from raw.usage_metrics").fetchone() == (3,)


def test_revenue_near_miss(tmp_path: Path, con) -> None:
    path = write(
        tmp_path / "revenue.csv",
        "month,customerid,product,amount,currency\n2026-10,maple,replay,100.00,USD\n",
    )
    message = refused(con, revenue.REVENUE, path)
    assert message.startswith(f"revenue file {path}: column 'customerid' looks like 'customer_id'")
    assert message.endswith("rename the column in the file and load again")


def test_customers_near_miss(tmp_path: Path, con) -> None:
    path = write(
        tmp_path / "customers.csv",
        "Customer ID,name,plan,status\nmaple,Maple Finance,growth,active\n",
    )
    message = refused(con, revenue.CUSTOMERS, path)
    assert message.startswith(
        f"customers file {path}: column 'Customer ID' looks like 'customer_id' "
        "(did you mean `customer_id`?)"
    )


def test_ai_requests_near_miss_but_tenant_is_accepted(tmp_path: Path, con) -> None:
    header = "timestamp,{},feature_id,product,provider,model,input_tokens,output_tokens\n"
    row = "2026-10-01T10:00:00,maple,search,replay,openai,gpt-4o,100,20\n"
    bad = write(tmp_path / "bad/ai.csv", header.format("customerid") + row)
    assert "column 'customerid' looks like 'customer_id'" in refused(con, ai_requests.SPEC, bad)
    good = write(tmp_path / "good/ai.csv", header.format("tenant") + row)
    result = load_path(con, ai_requests.SPEC, good, export_name="ai")
    assert con.execute("select customer_id from raw.ai_requests").fetchall() == [("maple",)]
    assert result.warnings == [
        f"ai_requests file {good} has no cached_input_tokens column: "
        "no input token is priced at the cached rate",
        f"ai_requests file {good} has no is_batch column: no request is priced at the batch rate",
    ]


def test_missing_optional_column_warns_with_its_consequence(tmp_path: Path, con) -> None:
    path = write(
        tmp_path / "usage.csv",
        "date,metric,product,feature_id,quantity\n2026-10-01,requests,replay,,5\n",
    )
    result = load_path(con, usage.SPEC, path, export_name="usage")
    warning = (
        f"usage file {path} has no customer_id column: this metric cannot split cost to customers"
    )
    assert result.warnings == [warning]
    assert f"  warning: {warning}" in result.summary().splitlines()
    assert result.notices == []


def test_ignored_columns_are_listed_in_one_line(tmp_path: Path, con) -> None:
    path = write(
        tmp_path / "usage.csv",
        "date,metric,region,product,customer_id,feature_id,quantity,note\n"
        "2026-10-01,requests,eu,replay,maple,,5,x\n",
    )
    result = load_path(con, usage.SPEC, path, export_name="usage")
    assert result.notices == [f"usage file {path}: ignored columns: region, note"]
    assert f"  notice: usage file {path}: ignored columns: region, note" in result.summary()


def test_bills_do_not_list_their_many_ignored_columns(con, shared_data: Path) -> None:
    cur = shared_data / "aws_cur/focus_converters_sample-anonymous-aws-export-dataset.csv"
    (result,) = aws_cur.load(con, cur)
    assert result.rows > 0
    assert not [n for n in result.notices if "ignored columns" in n]


def test_cli_refuses_with_exit_1_and_the_message_on_stderr(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    good = write(tmp_path / "v1/usage.csv", USAGE_HEADER + USAGE_ROWS)
    assert ingest_cli(db, "usage", str(good)).returncode == 0
    bad = write(
        tmp_path / "v2/usage.csv", USAGE_HEADER.replace("customer_id", "customerid") + USAGE_ROWS
    )
    run = ingest_cli(db, "usage", str(bad))
    assert run.returncode == 1
    assert (
        "column 'customerid' looks like 'customer_id' (did you mean `customer_id`?)" in run.stderr
    )
    assert str(bad) in run.stderr
    missing = write(
        tmp_path / "v3/usage.csv",
        "date,metric,product,quantity\n2026-10-03,requests,replay,5\n",
    )
    run = ingest_cli(db, "usage", str(missing))
    assert run.returncode == 0
    assert "warning: usage file" in run.stdout
    assert "has no customer_id column: this metric cannot split cost to customers" in run.stdout


def test_one_warning_per_column_for_a_delivery_of_many_files(tmp_path: Path, con) -> None:
    for day in ("01", "02", "03"):
        write(
            tmp_path / f"usage/part-{day}.csv",
            f"date,metric,product,feature_id,quantity\n2026-10-{day},requests,replay,,5\n",
        )
    result = load_path(con, usage.SPEC, tmp_path / "usage", export_name="usage")
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("3 usage files (")
    assert result.warnings[0].endswith(
        "and 2 more) have no customer_id column: this metric cannot split cost to customers"
    )
