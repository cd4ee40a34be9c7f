"""AI request costs: the loader, and the rate card's arithmetic on a million real rows.

The issue's seed numbers are reproduced end to end: request logs written as parquet, loaded by
`python -m ingest ai-requests`' loader, priced by dbt from seeds/common/ai_model_rates.csv. Each
scenario is 1 M requests (one feature id each), so the sums are the issue's figures exactly.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ingest import ai_requests
from ingest.demo import run_dbt
from ingest.load.db import connect
from ingest.load.land import load_path
from ingest.load.spec import LoadError
from ingest.registry import ensure_all_tables
from ingest.tests.conftest import snapshot

# only the pricing: tests that also read later models (the raw tie-out) are left out
SELECT = (
    "+int_ai__request_costs",
    "ai_model_rates",
    "assert_ai_requests_have_one_rate",
    "--indirect-selection",
    "cautious",
)

# feature: (input tokens, output tokens, cached input tokens, batch) per request, and the
# issue's total for 1 M such requests on gpt-4o-mini ($0.15 / $0.60 per M, cached blank = 10 %)
SCENARIOS = {
    "tickets": (300, 100, 0, False, Decimal("105")),
    "three_regenerations": (300, 300, 0, False, Decimal("225")),
    "batch": (300, 100, 0, True, Decimal("52.5")),
    "two_thirds_cached": (300, 100, 200, False, Decimal("78")),
}


def _write_requests(path: Path, n: int = 1_000_000) -> None:
    selects = [
        f"""select timestamp '2026-10-01 00:00:00' + to_seconds(i % 86400) as timestamp,
                   'req-{feature}-' || i as request_id,
                   'cust_' || lpad(cast(i % 36 as varchar), 3, '0') as tenant_id,
                   '{feature}' as feature_id, 'openai' as provider, 'gpt-4o-mini' as model,
                   {inp} as input_tokens, {out} as output_tokens,
                   {cached} as cached_input_tokens, {str(batch).lower()} as is_batch
            from range({n}) as t(i)"""
        for feature, (inp, out, cached, batch, _) in SCENARIOS.items()
    ]
    with duckdb.connect() as con:
        con.execute(f"copy ({' union all '.join(selects)}) to '{path}' (format parquet)")


@pytest.fixture(scope="module")
def priced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ai")
    _write_requests(root / "requests.parquet")
    db = root / "warehouse.duckdb"
    con = connect(db)
    try:
        ensure_all_tables(con)
        result = load_path(con, ai_requests.SPEC, root / "requests.parquet", export_name="gateway")
        assert result.rows == 4_000_000
    finally:
        con.close()
    build = run_dbt(db, "build", "--select", *SELECT, capture=True)
    assert build.returncode == 0, build.stdout[-3000:]
    return db


def test_the_issue_seed_arithmetic_on_a_million_requests_each(priced: Path) -> None:
    with duckdb.connect(str(priced), read_only=True) as con:
        totals = dict(
            con.execute(
                "select feature_id, sum(cost) from intermediate.int_ai__request_costs "
                "group by feature_id"
            ).fetchall()
        )
    assert totals == {feature: expected[-1] for feature, expected in SCENARIOS.items()}


def test_tenant_id_lands_as_customer_and_every_request_once(priced: Path) -> None:
    with duckdb.connect(str(priced), read_only=True) as con:
        row = con.execute(
            "select count(*), count(distinct ai_request_key), count(distinct customer_id) "
            "from intermediate.int_ai__request_costs where customer_id like 'cust_%'"
        ).fetchone()
    assert row == (4_000_000, 4_000_000, 36)


def test_a_request_without_a_rate_fails_the_build(tmp_path: Path) -> None:
    """An unknown model would price at null and drop its cost: the rate test stops it."""
    path = tmp_path / "unknown.csv"
    path.write_text(
        "timestamp,customer_id,feature_id,provider,model,input_tokens,output_tokens\n"
        "2026-10-01 10:00:00,cust_001,summaries,openai,gpt-9-imaginary,10,10\n"
    )
    db = tmp_path / "w.duckdb"
    con = connect(db)
    try:
        ensure_all_tables(con)
        load_path(con, ai_requests.SPEC, path, export_name="gateway")
    finally:
        con.close()
    build = run_dbt(db, "build", "--select", *SELECT, capture=True)
    assert build.returncode != 0
    assert "assert_ai_requests_have_one_rate" in build.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "timestamp,provider,input_tokens,output_tokens\n2026-10-01,openai,1,1\n",
            r"bad\.csv: required column 'model' is missing",
        ),
        (
            "timestamp,provider,model,input_tokens,output_tokens\n"
            "2026-10-01,openai,gpt-4o-mini,many,1\n",
            r"bad\.csv: row 1, column 'input_tokens': cannot read 'many'",
        ),
    ],
    ids=["no-model", "text-tokens"],
)
def test_bad_request_log_names_file_and_place_and_changes_nothing(
    tmp_path: Path, content: str, message: str
) -> None:
    good = tmp_path / "good.csv"
    good.write_text(
        "timestamp,provider,model,input_tokens,output_tokens\n2026-10-01,openai,gpt-4o-mini,1,1\n"
    )
    con = connect(tmp_path / "w.duckdb")
    try:
        load_path(con, ai_requests.SPEC, good, export_name="gateway")
        before = snapshot(con)
        bad = tmp_path / "bad.csv"
        bad.write_text(content)
        with pytest.raises(LoadError, match=message):
            load_path(con, ai_requests.SPEC, bad, export_name="gateway")
        assert snapshot(con) == before
        load_path(con, ai_requests.SPEC, good, export_name="gateway")  # again: no duplicates
        assert con.execute("select count(*) from raw.ai_requests").fetchone() == (1,)
    finally:
        con.close()


# ------------------------------------------------------------------ AI cost in the allocation

AI_LOG = (
    "timestamp,request_id,tenant_id,feature_id,product,provider,model,"
    "input_tokens,output_tokens,cached_input_tokens,is_batch\n"
    # cust_003 asks the assistant twice in October: 1 M in + 1 M out tokens each = $0.75 each
    "2026-10-05 09:00:00,r1,cust_003,sql_assistant,ai_assistant,openai,gpt-4o-mini,"
    "1000000,1000000,0,false\n"
    "2026-10-06 09:00:00,r2,cust_003,sql_assistant,ai_assistant,openai,gpt-4o-mini,"
    "1000000,1000000,0,false\n"
    # a nightly batch for cust_008 on claude-haiku at the October price, half off: $3.00
    "2026-10-07 02:00:00,r3,cust_008,session_summary,ai_assistant,anthropic,claude-haiku,"
    "1000000,1000000,0,true\n"
    # no product: allocated nowhere, but visible as untagged ($2.50 input + $10 output)
    "2026-10-07 03:00:00,r4,cust_008,,,openai,gpt-4o,1000000,1000000,0,false\n"
)


@pytest.fixture(scope="module")
def with_ai(built_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ai-sample")
    db = root / "warehouse.duckdb"
    shutil.copy(built_sample, db)
    (root / "requests.csv").write_text(AI_LOG)
    con = connect(db)
    try:
        load_path(con, ai_requests.SPEC, root / "requests.csv", export_name="gateway")
    finally:
        con.close()
    build = run_dbt(db, "build", capture=True)  # every conservation test included
    assert build.returncode == 0, build.stdout[-3000:]
    return db


def _one(db: Path, sql: str) -> tuple:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchone()


def test_ai_requests_are_bill_lines_once(with_ai: Path, built_sample: Path) -> None:
    lines = _one(
        with_ai,
        "select count(*), sum(effective_cost), sum(billed_cost) from marts.fct_cost_line_items "
        "where source_system = 'ai'",
    )
    assert lines == (4, Decimal("17"), Decimal("17"))  # 0.75 + 0.75 + 3.00 + 12.50
    # the allocation grows by exactly the AI cost: nothing counted twice, nothing lost
    before = _one(
        built_sample, "select sum(allocated_effective_cost) from marts.fct_cost_allocation"
    )
    after = _one(with_ai, "select sum(allocated_effective_cost) from marts.fct_cost_allocation")
    assert after[0] - before[0] == Decimal("17")


def test_ai_cost_is_direct_to_its_customer_product_and_feature(with_ai: Path) -> None:
    direct = _one(
        with_ai,
        """select sum(allocated_effective_cost) from marts.fct_cost_allocation
           where service_code = 'ai_requests' and method = 'direct' and component = 'ai'
             and product = 'ai_assistant' and customer_id = 'cust_003'
             and feature_id = 'sql_assistant'""",
    )
    assert direct == (Decimal("1.5"),)
    batch = _one(
        with_ai,
        """select sum(allocated_effective_cost) from marts.fct_cost_allocation
           where service_code = 'ai_requests' and customer_id = 'cust_008'
             and feature_id = 'session_summary'""",
    )
    assert batch == (Decimal("3"),)
    untagged = _one(
        with_ai,
        """select sum(allocated_effective_cost) from marts.fct_cost_allocation
           where service_code = 'ai_requests' and unallocated_reason = 'untagged'""",
    )
    assert untagged == (Decimal("12.5"),)


def test_ai_cost_reaches_the_customer_breakdown(with_ai: Path, built_sample: Path) -> None:
    sql = """select coalesce(sum(total_cost), 0) from marts.fct_customer_cost_breakdown_monthly
             where customer_id = 'cust_003' and cost_month = date '2026-10-01'
               and component = 'ai' and service_code = 'ai_requests'"""
    assert _one(with_ai, sql)[0] - _one(built_sample, sql)[0] == Decimal("1.5")
