"""AWS Cost Explorer as a cost source: the API path against a real HTTP server (moto, seeded
with GetCostAndUsage results), saved responses incl. the real public samples, and the dbt
build (CE lines in the marts, superseded where CUR covers the same account-day)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ingest.cli import main
from ingest.demo import run_dbt
from ingest.load.db import connect
from ingest.tests.conftest import snapshot

EC2 = "Amazon Elastic Compute Cloud - Compute"
S3 = "Amazon Simple Storage Service"


# --------------------------------------------------------------------------- helpers


def metrics(unblended: str, amortized: str | None = None, quantity: str = "1") -> dict:
    out = {
        "UnblendedCost": {"Amount": unblended, "Unit": "USD"},
        "UsageQuantity": {"Amount": quantity, "Unit": "N/A"},
    }
    if amortized is not None:
        out["AmortizedCost"] = {"Amount": amortized, "Unit": "USD"}
    return out


def response(
    definitions: list[tuple[str, str]] | None,
    periods: list[tuple[str, str, list[tuple[list[str], dict]]]],
    token: str | None = None,
    estimated: bool = False,
) -> dict:
    doc: dict = {
        "ResultsByTime": [
            {
                "TimePeriod": {"Start": start, "End": end},
                "Total": {},
                "Groups": [{"Keys": keys, "Metrics": m} for keys, m in groups],
                "Estimated": estimated,
            }
            for start, end, groups in periods
        ],
        "DimensionValueAttributes": [],
    }
    if definitions is not None:
        doc["GroupDefinitions"] = [{"Type": t, "Key": k} for t, k in definitions]
    if token:
        doc["NextPageToken"] = token
    return doc


def rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


# --------------------------------------------------------------------------- moto server


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def ce_api(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Fake credentials, a clean moto, and ``seed(results)`` queueing GetCostAndUsage answers
    in request order (moto keys them by request body: each new page pops the next one)."""
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    _post(moto_url + "/moto-api/reset", {})

    def seed(*results: dict) -> None:
        _post(moto_url + "/moto-api/static/ce/cost-and-usage-results", {"results": list(results)})

    yield seed


def _post(url: str, body: dict) -> None:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status in (200, 201)


def api(db: Path, url: str, *extra: str) -> int:
    return main(["cost-explorer", "--db", str(db), "--endpoint-url", url, "--quiet", *extra])


DAY = ("2026-10-01", "2026-10-02")


# --------------------------------------------------------------------------- the API path


def test_api_pages_metrics_tags_and_credits_kept_apart(
    ce_api, moto_url: str, db_path: Path
) -> None:
    ce_api(
        # the usage query, 2 pages: AWS splits a period's groups across pages
        response(
            [("DIMENSION", "SERVICE"), ("TAG", "team")],
            [(*DAY, [([EC2, "team$platform"], metrics("100.1234567891", "80.5", "24"))])],
            token="page-2",
            estimated=True,
        ),
        response(
            [("DIMENSION", "SERVICE"), ("TAG", "team")],
            [
                (
                    *DAY,
                    [
                        ([EC2, "team$"], metrics("10", "9", "3")),
                        ([S3, "team$data"], metrics("5.25", "5.25", "1000")),
                    ],
                )
            ],
            estimated=True,
        ),
        # the credits / refunds query: RECORD_TYPE + the first group-by
        response(
            [("DIMENSION", "RECORD_TYPE"), ("DIMENSION", "SERVICE")],
            [
                (
                    *DAY,
                    [
                        (["Credit", EC2], metrics("-12.5", "-12.5", "0")),
                        (["Refund", S3], metrics("-0.25", "-0.25", "0")),
                    ],
                )
            ],
        ),
    )
    db = db_path
    assert (
        api(
            db,
            moto_url,
            "--start",
            DAY[0],
            "--end",
            DAY[1],
            "--group-by",
            "SERVICE",
            "--group-by",
            "TAG:team",
        )
        == 0
    )
    got = rows(
        db,
        """select record_type, dimensions['SERVICE'], tags, unblended_cost, amortized_cost,
                  usage_quantity, is_estimated, granularity, billing_account_id, account_source
           from raw.aws_cost_explorer order by _source_file, _source_row""",
    )
    acct = "123456789012"  # moto's STS GetCallerIdentity
    assert got == [
        ("Credit", EC2, {}, Decimal("-12.5"), Decimal("-12.5"), Decimal(0), False, "DAILY", acct, "sts"),
        ("Refund", S3, {}, Decimal("-0.25"), Decimal("-0.25"), Decimal(0), False, "DAILY", acct, "sts"),
        ("Usage", EC2, {"team": "platform"}, Decimal("100.1234567891"), Decimal("80.5"), Decimal(24), True, "DAILY", acct, "sts"),
        ("Usage", EC2, {}, Decimal("10"), Decimal("9"), Decimal(3), True, "DAILY", acct, "sts"),
        ("Usage", S3, {"team": "data"}, Decimal("5.25"), Decimal("5.25"), Decimal(1000), True, "DAILY", acct, "sts"),
    ]  # fmt: skip
    # the two queries add up to the account's total: nothing filtered away, nothing twice
    assert rows(db, "select sum(unblended_cost) from raw.aws_cost_explorer") == [
        (Decimal("102.6234567891"),)
    ]
    # one row per page and group, with lineage naming the page
    files = rows(db, "select distinct _source_file from raw.aws_cost_explorer order by 1")
    assert [f[0].split(" ", 3)[-1] for f in files] == [
        "credits page 1",
        "usage page 1",
        "usage page 2",
    ]


def test_api_monthly_linked_account_is_the_account(ce_api, moto_url: str, db_path: Path) -> None:
    month = ("2026-09-01", "2026-10-01")
    ce_api(
        response(
            [("DIMENSION", "LINKED_ACCOUNT"), ("DIMENSION", "SERVICE")],
            [
                (
                    *month,
                    [
                        (["444455556666", EC2], metrics("300", "250")),
                        (["777788889999", EC2], metrics("30", "30")),
                    ],
                )
            ],
        ),
        response(
            [("DIMENSION", "RECORD_TYPE"), ("DIMENSION", "LINKED_ACCOUNT")],
            [(*month, [(["Credit", "444455556666"], metrics("-3", "-3"))])],
        ),
    )
    assert (
        api(db_path, moto_url, "--start", month[0], "--end", month[1], "--granularity",
            "MONTHLY", "--group-by", "LINKED_ACCOUNT", "--group-by", "SERVICE") == 0
    )  # fmt: skip
    got = rows(
        db_path,
        """select billing_account_id, account_source, granularity, record_type,
                  sum(unblended_cost)
           from raw.aws_cost_explorer group by all order by all""",
    )
    assert got == [
        ("444455556666", "LINKED_ACCOUNT", "MONTHLY", "Credit", Decimal(-3)),
        ("444455556666", "LINKED_ACCOUNT", "MONTHLY", "Usage", Decimal(300)),
        ("777788889999", "LINKED_ACCOUNT", "MONTHLY", "Usage", Decimal(30)),
    ]


def test_api_reload_replaces_restated_days_without_duplicates(
    ce_api, moto_url: str, db_path: Path
) -> None:
    days = ("2026-10-01", "2026-10-03")

    def answer(amount: str) -> dict:
        return response(
            [("DIMENSION", "SERVICE")],
            [
                ("2026-10-01", "2026-10-02", [([EC2], metrics("10", "10"))]),
                ("2026-10-02", "2026-10-03", [([EC2], metrics(amount, amount))]),
            ],
            estimated=True,
        )

    ce_api(answer("7"), response([("DIMENSION", "RECORD_TYPE")], []))
    args = ("--start", days[0], "--end", days[1], "--account-id", "111122223333")
    assert api(db_path, moto_url, *args) == 0
    _post(moto_url + "/moto-api/reset", {})
    ce_api(answer("7.5"), response([("DIMENSION", "RECORD_TYPE")], []))  # Oct 2 restated
    assert api(db_path, moto_url, *args) == 0
    assert rows(
        db_path,
        "select time_period_start, count(*), sum(unblended_cost) from raw.aws_cost_explorer "
        "group by 1 order by 1",
    ) == [
        (dt.date(2026, 10, 1), 1, Decimal(10)),
        (dt.date(2026, 10, 2), 1, Decimal("7.5")),
    ]
    assert rows(
        db_path,
        "select action, count(*) from raw._load_partitions where source = 'aws_cost_explorer' "
        "group by 1 order by 1",
    ) == [("inserted", 2), ("replaced", 2)]


def test_api_failure_is_a_clear_error_and_writes_nothing(
    ce_api, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["cost-explorer", "--db", str(db_path), "--quiet", "--endpoint-url",
         "http://127.0.0.1:9", "--start", "2026-10-01", "--end", "2026-10-02",
         "--account-id", "111122223333"]
    )  # fmt: skip
    assert code == 1
    assert "GetCostAndUsage (usage query, page 1) failed" in capsys.readouterr().err
    with duckdb.connect(str(db_path)) as con:
        assert con.execute(
            "select count(*) from information_schema.tables where table_name = 'aws_cost_explorer'"
        ).fetchone() == (0,)


def test_three_group_bys_is_a_usage_error(db_path: Path) -> None:
    code = main(
        ["cost-explorer", "--db", str(db_path), "--start", "2026-10-01", "--end", "2026-10-02",
         "--group-by", "SERVICE", "--group-by", "TAG:a", "--group-by", "TAG:b"]
    )  # fmt: skip
    assert code == 2


# --------------------------------------------------------------------------- saved responses


def load_file(db: Path, path: Path, *extra: str) -> int:
    return main(["cost-explorer-file", str(path), "--db", str(db), "--quiet", *extra])


def test_file_reload_is_idempotent(tmp_path: Path, db_path: Path) -> None:
    doc = response([("DIMENSION", "SERVICE")], [(*DAY, [([EC2], metrics("1.5", "1"))])])
    (tmp_path / "r.json").write_text(json.dumps(doc))
    for extra in ((), (), ("--force",)):
        assert load_file(db_path, tmp_path / "r.json", "--account-id", "1", *extra) == 0
    assert rows(db_path, "select count(*), sum(unblended_cost) from raw.aws_cost_explorer") == [
        (1, Decimal("1.5"))
    ]
    assert rows(db_path, "select count(*) from raw._loads") == [(2,)]  # the 2nd was skipped


GOOD = response([("DIMENSION", "SERVICE")], [(*DAY, [([EC2], metrics("1", "1"))])])

BAD = {
    "amount_not_a_number": (
        [response([("DIMENSION", "SERVICE")], [(*DAY, [([EC2], metrics("1,5", "1"))])])],
        (),
        'period 2026-10-01, group ["Amazon Elastic Compute Cloud - Compute"]: UnblendedCost '
        "amount is not a number",
    ),
    "blended_only": (
        [
            response(
                [("TAG", "CreatedBy")],
                [(*DAY, [(["CreatedBy$u1"], {"BlendedCost": {"Amount": "2", "Unit": "USD"}})])],
            )
        ],
        (),
        "only BlendedCost",
    ),
    "keys_without_definitions": (
        [response(None, [(*DAY, [([EC2], metrics("1", "1"))])])],
        (),
        "no GroupDefinitions",
    ),
    "keys_do_not_match_definitions": (
        [response([("DIMENSION", "SERVICE")], [(*DAY, [([EC2, "x$y"], metrics("1", "1"))])])],
        (),
        "number of group keys differs",
    ),
    "hourly": (
        [
            response(
                [("DIMENSION", "SERVICE")],
                [("2026-10-01T00:00:00Z", "2026-10-01T01:00:00Z", [([EC2], metrics("1"))])],
            )
        ],
        (),
        "HOURLY results are not supported",
    ),
    "unknown_currency": (
        [
            response(
                [("DIMENSION", "SERVICE")],
                [(*DAY, [([EC2], {"UnblendedCost": {"Amount": "1", "Unit": "XXQ"}})])],
            )
        ],
        (),
        "unknown or missing currency",
    ),
    "ungrouped_total": (
        [
            {
                "ResultsByTime": [
                    {
                        "TimePeriod": {"Start": DAY[0], "End": DAY[1]},
                        "Total": {"UnblendedCost": {"Amount": "9", "Unit": "USD"}},
                        "Groups": [],
                    }
                ]
            }
        ],
        (),
        "non-zero Total but no Groups",
    ),
    "same_result_twice": ([GOOD, GOOD], (), "is also in"),
    "two_groupings_of_one_day": (
        [GOOD, response([("TAG", "team")], [(*DAY, [(["team$a"], metrics("1", "1"))])])],
        (),
        "two groupings of the same costs",
    ),
    "not_a_response": ([{"hello": "world"}], (), "not a GetCostAndUsage response"),
    "group_by_disagrees": ([GOOD], ("--group-by", "TAG:team"), "differ from --group-by"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_response_names_file_and_place_and_changes_nothing(
    case: str, tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = tmp_path / "base.json"
    base.write_text(json.dumps(response([("DIMENSION", "SERVICE")], [
        ("2026-09-01", "2026-09-02", [([S3], metrics("4", "4"))])])))  # fmt: skip
    assert load_file(db_path, base, "--account-id", "1") == 0
    with connect(db_path) as con:
        before = snapshot(con)
    docs, extra, message = BAD[case]
    folder = tmp_path / "bad"
    folder.mkdir()
    for i, doc in enumerate(docs):
        (folder / f"{i}.json").write_text(json.dumps(doc))
    capsys.readouterr()
    assert load_file(db_path, folder, "--account-id", "1", *extra) == 1
    err = capsys.readouterr().err
    assert message in err and str(folder) in err, err
    assert err.count("\n") == 1  # one line, no traceback
    with connect(db_path) as con:
        assert snapshot(con) == before


def test_not_json_and_missing_account(tmp_path: Path, db_path: Path, capsys) -> None:
    (tmp_path / "broken.json").write_text('{"ResultsByTime": [')
    assert load_file(db_path, tmp_path / "broken.json", "--account-id", "1") == 1
    assert "broken.json: not readable JSON" in capsys.readouterr().err
    (tmp_path / "ok.json").write_text(json.dumps(GOOD))
    assert load_file(db_path, tmp_path / "ok.json") == 1
    assert "no account: pass --account-id" in capsys.readouterr().err


def test_daily_rows_cannot_cut_a_loaded_month(tmp_path: Path, db_path: Path, capsys) -> None:
    month = response([("DIMENSION", "SERVICE")], [("2026-10-01", "2026-11-01", [([EC2], metrics("300", "300"))])])  # fmt: skip
    (tmp_path / "m.json").write_text(json.dumps(month))
    (tmp_path / "d.json").write_text(json.dumps(GOOD))
    assert load_file(db_path, tmp_path / "m.json", "--account-id", "1") == 0
    assert load_file(db_path, tmp_path / "d.json", "--account-id", "1") == 1
    assert "covers only part of that period" in capsys.readouterr().err
    assert rows(db_path, "select sum(unblended_cost) from raw.aws_cost_explorer") == [
        (Decimal(300),)
    ]


# --------------------------------------------------------------------------- real samples


def _file_totals(path: Path, metric: str) -> tuple[int, Decimal]:
    """Rows and Σ amount of ``metric`` as the file says, read independently with json."""
    doc = json.loads(path.read_text())
    groups = [g for r in doc["ResultsByTime"] for g in r.get("Groups", [])]
    return len(groups), sum((Decimal(g["Metrics"][metric]["Amount"]) for g in groups), Decimal(0))


SAMPLES = {
    # file: (extra args, rows, periods, metric that lands as billed cost)
    "awscli_example_getcostandusage_groupby_service_and_tag_environment.json": (
        (), 2, 1, "UnblendedCost"),
    "cloudscape_getcostandusage_groupby_service_monthly.json": ((), 160, 6, "UnblendedCost"),
    "cloudtoolbox_resultsbytime_groupby_service_daily.json": (
        ("--group-by", "SERVICE"), 945, 86, "UnblendedCost"),
    "hms-dbmi_getcostandusage_byUser.json": (("--allow-blended",), 14, 9, "BlendedCost"),
    "hms-dbmi_getcostandusage_none.json": ((), 0, 0, "BlendedCost"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_real_sample_lands_every_group_once(name: str, shared_data: Path, db_path: Path) -> None:
    path = shared_data / "aws_cost_explorer" / name
    if not path.exists():
        pytest.skip(f"{name} not present")
    extra, n_rows, n_periods, metric = SAMPLES[name]
    assert load_file(db_path, path, "--account-id", "111122223333", *extra) == 0
    want_rows, want_total = _file_totals(path, metric)
    assert want_rows == n_rows
    column = "unblended_cost" if metric == "UnblendedCost" else "blended_cost"
    got = rows(
        db_path,
        f"select count(*), coalesce(sum({column}), 0), count(distinct time_period_start) "
        "from raw.aws_cost_explorer",
    )
    assert got == [(n_rows, want_total, n_periods)]


def test_real_samples_tags_tax_estimated_and_blended_refusal(
    shared_data: Path, db_path: Path, capsys
) -> None:
    folder = shared_data / "aws_cost_explorer"
    awscli = folder / "awscli_example_getcostandusage_groupby_service_and_tag_environment.json"
    toolbox = folder / "cloudtoolbox_resultsbytime_groupby_service_daily.json"
    hms = folder / "hms-dbmi_getcostandusage_byUser.json"
    if not (awscli.exists() and toolbox.exists() and hms.exists()):
        pytest.skip("samples not present")
    assert load_file(db_path, awscli, "--account-id", "1") == 0
    # "Environment$" is the untagged group: no tag at all; "Environment$Dev" → Environment=Dev
    assert rows(db_path, "select tags from raw.aws_cost_explorer order by tags") == [
        ({},),
        ({"Environment": "Dev"},),
    ]
    assert load_file(db_path, toolbox, "--account-id", "2") == 1
    assert "no GroupDefinitions" in capsys.readouterr().err
    assert load_file(db_path, toolbox, "--account-id", "2", "--group-by", "SERVICE") == 0
    assert rows(
        db_path,
        "select count(*), count(*) filter (where is_estimated) from raw.aws_cost_explorer "
        "where billing_account_id = '2' and dimensions['SERVICE'] = 'Tax'",
    ) == [(3, 1)]  # one of them still Estimated
    assert (
        rows(
            db_path,
            "select count(distinct time_period_start) from raw.aws_cost_explorer "
            "where billing_account_id = '2' and is_estimated",
        )[0][0]
        > 0
    )
    assert load_file(db_path, hms, "--account-id", "3") == 1
    err = capsys.readouterr().err
    assert "hms-dbmi_getcostandusage_byUser.json: period 2023-12-12" in err
    assert "--allow-blended" in err


# --------------------------------------------------------------------------- dbt build


ACCOUNT = "999900001111"  # not in the sample's CUR
PAYER = "111122223333"  # the sample CUR's payer
LATE = "555566667777"  # its CUR arrives after the first build

LATE_CUR = (
    "identity/LineItemId,bill/PayerAccountId,bill/BillingPeriodStartDate,lineItem/UsageAccountId,"
    "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UsageEndDate,lineItem/ProductCode,"
    "lineItem/UsageType,lineItem/UnblendedCost,lineItem/CurrencyCode,lineItem/UsageAmount\n"
    f"n1,{LATE},2026-11-01T00:00:00Z,{LATE},Usage,2026-11-02T00:00:00Z,2026-11-02T01:00:00Z,"
    "AmazonEC2,BoxUsage:m5.large,12.5,USD,1\n"
)


@pytest.fixture(scope="module")
def with_ce(built_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built sample plus Cost Explorer results, built once (incrementally)."""
    root = tmp_path_factory.mktemp("ce-sample")
    db = root / "warehouse.duckdb"
    shutil.copy(built_sample, db)
    own = root / "own"
    own.mkdir()
    day5, day6, day7 = ("2026-10-05", "2026-10-06"), ("2026-10-06", "2026-10-07"), (
        "2026-10-07", "2026-10-08")  # fmt: skip
    docs = {
        "usage.json": response(
            [("DIMENSION", "SERVICE"), ("TAG", "product")],
            [
                (
                    *day5,
                    [
                        ([EC2, "product$replay"], metrics("100", "80")),
                        ([S3, "product$analytics"], metrics("50", "50")),
                        ([EC2, "product$"], metrics("10", "10")),
                        (["Tax", "product$"], metrics("5", "5")),
                        (["Some New Service", "product$flags"], metrics("3")),  # no Amortized
                    ],
                )
            ],
        ),
        "credits.json": response(
            [("DIMENSION", "RECORD_TYPE"), ("DIMENSION", "SERVICE")],
            [(*day5, [(["Credit", EC2], metrics("-7", "-7"))])],
        ),
        "customer.json": response(
            [("TAG", "product"), ("TAG", "customer")],
            [(*day6, [(["product$replay", "customer$cust_003"], metrics("40", "40"))])],
        ),
        "feature.json": response(
            [("TAG", "product"), ("TAG", "feature")],
            [(*day7, [(["product$flags", "feature$flag_eval"], metrics("30", "30"))])],
        ),
    }
    for name, doc in docs.items():
        (own / name).write_text(json.dumps(doc))
    payer = root / "payer.json"  # the CUR covers this account-day: superseded
    payer.write_text(json.dumps(response([("DIMENSION", "SERVICE")], [(*day5, [([EC2], metrics("1000", "900"))])])))  # fmt: skip
    late = root / "late.json"  # no bill for this account yet: CE lines, until a CUR arrives
    late.write_text(json.dumps(response([("DIMENSION", "SERVICE")], [
        ("2026-11-02", "2026-11-03", [([EC2], metrics("12.5", "12.5"))]),
        ("2026-11-03", "2026-11-04", [([EC2], metrics("4", "4"))]),
    ])))  # fmt: skip
    assert load_file(db, own, "--account-id", ACCOUNT) == 0
    assert load_file(db, payer, "--account-id", PAYER) == 0
    assert load_file(db, late, "--account-id", LATE) == 0
    build = run_dbt(db, "build", capture=True)  # incremental, every conservation test included
    assert build.returncode == 0, build.stdout[-3000:]
    return db


def _one(db: Path, sql: str) -> tuple:
    return rows(db, sql)[0]


def test_ce_lines_once_and_superseded_visible(with_ce: Path, built_sample: Path) -> None:
    lines = _one(
        with_ce,
        "select count(*), sum(billed_cost), sum(effective_cost) from marts.fct_cost_line_items "
        "where source_system = 'aws_ce' and charge_billing_period = date '2026-10-01'",
    )
    # 100+50+10+5+3-7+40+30 billed; effective 80 instead of 100
    assert lines == (8, Decimal(231), Decimal(211))
    superseded = rows(
        with_ce,
        "select billing_account_id, billed_cost, superseded_by, superseded_reason "
        "from intermediate.int_aws_ce__superseded_costs",
    )
    assert len(superseded) == 1
    assert superseded[0][:3] == (PAYER, Decimal(1000), "aws_cur")
    assert "CUR has lines for account 111122223333" in superseded[0][3]
    # the allocation grows by exactly the CE money not superseded: no dollar twice
    total = "select sum(allocated_effective_cost), sum(allocated_billed_cost) from marts.fct_cost_allocation"  # noqa: E501
    before, after = _one(built_sample, total), _one(with_ce, total)
    # October's 211 / 231 plus November's 16.5 (account 555566667777, no bill yet)
    assert (after[0] - before[0], after[1] - before[1]) == (Decimal("227.5"), Decimal("247.5"))


def test_ce_lines_reach_components_products_customers_features(with_ce: Path) -> None:
    by_line = dict(
        ((r[0], r[1]), r[2:])
        for r in rows(
            with_ce,
            """select service_name, charge_category, service_code, charge_description
               from marts.fct_cost_line_items where source_system = 'aws_ce'
               and service_name is not null""",
        )
    )
    assert by_line[(EC2, "Usage")][0] == "AmazonEC2"
    assert by_line[(EC2, "Credit")][0] == "AmazonEC2"
    assert by_line[("Tax", "Tax")][0] == "Tax"
    assert by_line[("Some New Service", "Usage")] == (
        "Some New Service",
        "Cost Explorer daily DIMENSION:SERVICE, TAG:product; effective = UnblendedCost "
        "(no AmortizedCost in the response)",
    )

    def allocated(where: str) -> Decimal:
        return _one(
            with_ce,
            "select coalesce(sum(allocated_effective_cost), 0) from marts.fct_cost_allocation "
            f"where method = 'direct' and {where}",
        )[0]

    # component from the service mapping, product from the tag, directly
    day5 = "period_start = date '2026-10-05'"
    assert allocated(
        f"{day5} and service_code = 'AmazonS3' and component = 'storage' and product = 'analytics'"
    ) >= Decimal(50)  # noqa: E501
    assert allocated(
        "service_code = 'Some New Service' and component = 'other' and product = 'flags'"
    ) == Decimal(3)  # noqa: E501
    # customer and feature tags reach the allocation directly
    assert allocated(
        "period_start = date '2026-10-06' and product = 'replay' and customer_id = 'cust_003' and service_code is null"
    ) == Decimal(40)  # noqa: E501
    assert allocated(
        "period_start = date '2026-10-07' and product = 'flags' and feature_id = 'flag_eval' and service_code is null"
    ) == Decimal(30)  # noqa: E501
    # untagged EC2 stays visible as unallocated; tax and the credit go through their pools
    assert (
        _one(
            with_ce,
            "select count(*) from marts.fct_cost_allocation where rule_id in ('tax', 'credits') "
            "and cost_month = date '2026-10-01'",
        )[0]
        > 0
    )


def test_ce_reaches_the_monthly_marts(with_ce: Path, built_sample: Path) -> None:
    sql = """select coalesce(sum(total_cost), 0) from marts.fct_customer_cost_breakdown_monthly
             where customer_id = 'cust_003' and cost_month = date '2026-10-01'"""
    grown = _one(with_ce, sql)[0] - _one(built_sample, sql)[0]
    assert grown >= Decimal(40)  # its direct $40, plus shares of pools the CE lines feed


def test_a_bill_loaded_later_supersedes_ce_lines_already_built(
    with_ce: Path, tmp_path: Path
) -> None:
    """The incremental path: CE lines of Nov 2-3 are in the table; a CUR for Nov 2 arrives;
    the next run must take Nov 2 out (superseded) and keep Nov 3."""
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(with_ce, db)
    (tmp_path / "cur").mkdir()
    (tmp_path / "cur" / "nov.csv").write_text(LATE_CUR)
    assert main(["cur", str(tmp_path / "cur"), "--db", str(db), "--quiet", "--export", "late"]) == 0
    total = "select sum(allocated_billed_cost) from marts.fct_cost_allocation"
    before = _one(db, total)[0]
    build = run_dbt(db, "build", capture=True)  # incremental; the counted-once tests included
    assert build.returncode == 0, build.stdout[-3000:]
    ce_nov = (
        "select charge_date, billed_cost from marts.fct_cost_line_items "
        "where source_system = 'aws_ce' and charge_billing_period = date '2026-11-01'"
    )
    assert rows(with_ce, ce_nov + " order by 1") == [
        (dt.date(2026, 11, 2), Decimal("12.5")),
        (dt.date(2026, 11, 3), Decimal(4)),
    ]
    assert rows(db, ce_nov) == [(dt.date(2026, 11, 3), Decimal(4))]
    assert _one(
        db,
        "select count(*) from intermediate.int_aws_ce__superseded_costs "
        f"where billing_account_id = '{LATE}'",
    ) == (1,)
    # the CUR's 12.5 replaced CE's 12.5 for the same day: the total did not move
    assert _one(db, total)[0] == before
