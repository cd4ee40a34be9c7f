"""Usage drivers, revenue, customers and ClickHouse query_log: real exports, restatement, errors.

Expected figures are computed here straight from each file with DuckDB, independently of the
loader's column mapping, so a mapping, type or skipped-row error shows up as a mismatch.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ingest import clickhouse_query_log, revenue, sample_data, usage
from ingest.cli import build_parser, main
from ingest.load.db import connect
from ingest.load.land import load_path
from ingest.load.spec import Guards, LoadError, TableSpec
from ingest.tests.conftest import snapshot

QL = "raw.clickhouse_query_log"
QUERY_LOG_TYPES = {"QueryStart", "QueryFinish", "ExceptionBeforeStart", "ExceptionWhileProcessing"}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- ClickHouse exports

# One row per data row of the file, read without the loader: (type, read_bytes, is_initial,
# cpu_us, n_events, query_hash, log_comment). Text formats print ProfileEvents as
# {'Key':value,...}, so the CPU counter and the key count come out of that text by regex.
_TEXT_COLUMNS = r"""
    type,
    cast(read_bytes as hugeint) as read_bytes,
    cast(is_initial_query as integer) as is_initial,
    cast(nullif(regexp_extract("ProfileEvents", '\x27OSCPUVirtualTimeMicroseconds\x27:(\d+)', 1),
                '') as hugeint) as cpu_us,
    len(regexp_extract_all("ProfileEvents", '\x27[^\x27]+\x27:')) as n_events,
    cast(normalized_query_hash as hugeint) as query_hash,
    log_comment
"""
RAW_QUERY_LOG = {
    "parquet": """
        select type, cast(read_bytes as hugeint), cast(is_initial_query as integer),
            cast("ProfileEvents"['OSCPUVirtualTimeMicroseconds'] as hugeint),
            cardinality("ProfileEvents"), cast(normalized_query_hash as hugeint), log_comment
        from read_parquet(?)
    """,
    "csv": f"select {_TEXT_COLUMNS} from read_csv(?, all_varchar = true)",
    # TSVWithNamesAndTypes: line 1 names, line 2 ClickHouse types, then data.
    "tsv": f"""
        select {_TEXT_COLUMNS}
        from read_csv(?, delim = '\t', quote = '', header = false, skip = 2, names = ?,
                      all_varchar = true)
    """,
    "jsonl": """
        select json ->> 'type', cast(json ->> 'read_bytes' as hugeint),
            cast(json ->> 'is_initial_query' as integer),
            cast(json -> 'ProfileEvents' ->> 'OSCPUVirtualTimeMicroseconds' as hugeint),
            len(json_keys(json, '$.ProfileEvents')), cast(json ->> 'normalized_query_hash' as hugeint),
            json ->> 'log_comment'
        from read_ndjson_objects(?)
    """,
}
FORMATS = list(RAW_QUERY_LOG)


def raw_query_log(con: duckdb.DuckDBPyConnection, path: Path, fmt: str) -> str:
    """Read ``path`` without the loader into temp table ``raw_file`` (RAW_QUERY_LOG columns)."""
    params: list[object] = [str(path)]
    if fmt == "tsv":
        params.append(path.read_text(encoding="utf-8").split("\n", 1)[0].split("\t"))
    rows = con.execute(RAW_QUERY_LOG[fmt], params).fetchall()
    con.execute(
        "create or replace temp table raw_file (type varchar, read_bytes hugeint, "
        "is_initial integer, cpu_us hugeint, n_events bigint, query_hash hugeint, "
        "log_comment varchar)"
    )
    con.executemany("insert into raw_file values (?, ?, ?, ?, ?, ?, ?)", rows)
    return "raw_file"


def load_chdb(con: duckdb.DuckDBPyConnection, shared_data: Path, fmt: str) -> Path:
    path = shared_data / "clickhouse" / f"chdb_query_log_sample.{fmt}"
    load_path(con, clickhouse_query_log.SPEC, path, export_name=f"chdb-{fmt}")
    return path


@pytest.mark.parametrize("fmt", FORMATS)
def test_query_log_export_ties_to_file(fmt: str, con, shared_data: Path) -> None:
    path = shared_data / "clickhouse" / f"chdb_query_log_sample.{fmt}"
    result = load_path(con, clickhouse_query_log.SPEC, path, export_name=f"chdb-{fmt}")
    src = raw_query_log(con, path, fmt)
    by_type = "select type, count(*) from {t} group by 1 order by 1"
    totals = (
        "select count(*), sum(read_bytes), count_if(is_initial = 1), sum(cpu_us), "
        "sum(n_events), sum(query_hash) from {t}"
    )
    landed = f"""(select type, read_bytes, is_initial_query as is_initial,
                         cast("ProfileEvents"['OSCPUVirtualTimeMicroseconds'] as hugeint) as cpu_us,
                         cardinality("ProfileEvents") as n_events,
                         normalized_query_hash as query_hash
                  from {QL})"""
    expected_types = con.execute(by_type.format(t=src)).fetchall()
    assert con.execute(by_type.format(t=landed)).fetchall() == expected_types
    assert {t for t, _ in expected_types} <= QUERY_LOG_TYPES  # the reading itself is sane
    expected = con.execute(totals.format(t=src)).fetchone()
    assert con.execute(totals.format(t=landed)).fetchone() == expected
    assert result.rows == expected[0]
    assert expected[1] > 0 and expected[3] > 0  # the sums really compare something


def test_tsv_types_row_does_not_land(con, shared_data: Path) -> None:
    path = load_chdb(con, shared_data, "tsv")
    data_lines = len(path.read_text(encoding="utf-8").splitlines()) - 2  # names + types
    assert con.execute(f"select count(*) from {QL}").fetchone() == (data_lines,)
    leaked = con.execute(
        f"select count(*) from {QL} where type like 'Enum8(%' or hostname like 'LowCardinality%' "
        "or event_date is null"
    ).fetchone()
    assert leaked == (0,)


@pytest.mark.parametrize("fmt", FORMATS)
def test_query_log_log_comment_survives_verbatim(fmt: str, con, shared_data: Path) -> None:
    path = load_chdb(con, shared_data, fmt)
    src = raw_query_log(con, path, fmt)
    comments = "select log_comment, count(*) from {t} where log_comment <> '' group by 1 order by 1"
    landed = con.execute(comments.format(t=QL)).fetchall()
    assert landed == con.execute(comments.format(t=src)).fetchall()
    assert '{"team":"platform","job":"daily_rollup"}' in {c for c, _ in landed}
    teams = con.execute(
        f"select distinct json_extract_string(log_comment, '$.team') from {QL} "
        "where log_comment like '{%' order by 1"
    ).fetchall()
    assert teams == [("data",), ("ml",), ("platform",), ("web",)]


def test_profile_events_land_as_numbers(con, sample) -> None:
    """ProfileEvents are UInt64 counters: kept as MAP(VARCHAR, UBIGINT), because casting the
    parquet map's values to text cost more than reading the rest of the file."""
    load_path(con, clickhouse_query_log.SPEC, sample.query_log_file, export_name="ql")
    kind = con.execute(
        "select data_type from information_schema.columns "
        "where table_name = 'clickhouse_query_log' and column_name = 'ProfileEvents'"
    ).fetchone()
    assert kind == ("MAP(VARCHAR, UBIGINT)",)


def test_jsoneachrow_profile_events_have_no_null_values(con, shared_data: Path) -> None:
    # JSON objects of all rows share one inferred STRUCT: a key absent from a row must not
    # come back as a NULL-valued map entry.
    path = load_chdb(con, shared_data, "jsonl")
    nulls, empty = con.execute(
        f"""select sum(len(list_filter(map_values("ProfileEvents"), lambda v: v is null))),
                   count_if(cardinality("ProfileEvents") = 0)
            from {QL}"""
    ).fetchone()
    assert nulls == 0 and empty > 0
    assert con.execute(
        "select count_if(len(json_keys(json, '$.ProfileEvents')) = 0) from read_ndjson_objects(?)",
        [str(path)],
    ).fetchone() == (empty,)


# --------------------------------------------------------------------------- generated sample


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> sample_data.SampleSummary:
    return sample_data.generate(tmp_path_factory.mktemp("sample"), cur_lines=5000, months=2)


# name: (spec, summary attribute, how to read the file, digest of {t}, partitions of {t})
GENERATED: dict[str, tuple[TableSpec, str, str, str, str]] = {
    "usage": (
        usage.SPEC,
        "usage_file",
        "read_parquet('{f}')",
        "select metric, count(*), sum(quantity) from {t} group by 1 order by 1",
        "select count(distinct (metric, date)) from {t}",
    ),
    "revenue": (
        revenue.REVENUE,
        "revenue_file",
        "read_csv('{f}', all_varchar = true)",
        "select strftime(cast(month as date), '%Y-%m'), currency, count(*), "
        "sum(cast(amount as decimal(38, 12))) from {t} group by 1, 2 order by 1, 2",
        "select count(distinct cast(month as date)) from {t}",
    ),
    "customers": (
        revenue.CUSTOMERS,
        "customers_file",
        "read_csv('{f}', all_varchar = true)",
        "select status, plan, count(*), count(distinct customer_id), string_agg(customer_id, ',' "
        "order by customer_id) from {t} group by 1, 2 order by 1, 2",
        "select 1",
    ),
    "query_log": (
        clickhouse_query_log.SPEC,
        "query_log_file",
        "read_parquet('{f}')",
        "select hostname, type, count(*), sum(cast(read_bytes as hugeint)), "
        "sum(cast(\"ProfileEvents\"['OSCPUVirtualTimeMicroseconds'] as hugeint)) "
        "from {t} group by 1, 2 order by 1, 2",
        "select count(distinct (hostname, cast(event_time as date))) from {t}",
    ),
}


def digest(con: duckdb.DuckDBPyConnection, name: str, source: str) -> list[tuple]:
    return con.execute(GENERATED[name][3].format(t=source)).fetchall()


def file_source(name: str, s: sample_data.SampleSummary) -> str:
    path: Path = getattr(s, GENERATED[name][1])
    return GENERATED[name][2].format(f=path.as_posix())


@pytest.mark.parametrize("name", GENERATED)
def test_generated_file_loads_whole(name: str, con, sample) -> None:
    spec, attr, *_ = GENERATED[name]
    result = load_path(con, spec, getattr(sample, attr), export_name=spec.source)
    assert digest(con, name, spec.table) == digest(con, name, file_source(name, sample))
    (rows,) = con.execute(f"select count(*) from {file_source(name, sample)}").fetchone()
    assert result.rows == rows == sample.row_counts[name]
    (partitions,) = con.execute(GENERATED[name][4].format(t=file_source(name, sample))).fetchone()
    assert len(result.partitions) == partitions
    assert {p.action for p in result.partitions} == {"inserted"}


def test_generated_revenue_totals_per_month(con, sample) -> None:
    result = load_path(con, revenue.REVENUE, sample.revenue_file, export_name="revenue")
    expected = con.execute(
        f"""select cast(month as date), currency, cast(sum(amount) as double)
            from read_csv('{sample.revenue_file.as_posix()}', types = {{'amount': 'decimal(38, 2)'}})
            group by 1, 2 order by 1, 2"""
    ).fetchall()
    assert [(p, c, pytest.approx(t)) for p, c, t in expected] == result.totals
    assert len(expected) == 2  # months=2


@pytest.mark.parametrize("name", GENERATED)
def test_same_input_three_times_is_identical(name: str, con, sample) -> None:
    spec, attr, *_ = GENERATED[name]
    path = getattr(sample, attr)
    first = load_path(con, spec, path, export_name=spec.source)
    expected = digest(con, name, spec.table)
    for _ in range(2):  # force: really re-read the file, not skip it
        again = load_path(con, spec, path, export_name=spec.source, force=True)
        assert not again.skipped and again.rows == first.rows
        assert {p.action for p in again.partitions} == {"replaced"}
        assert digest(con, name, spec.table) == expected
        assert con.execute(
            f"select count(*), count(distinct _load_id) from {spec.table}"
        ).fetchone() == (first.rows, 1)
    assert load_path(con, spec, path, export_name=spec.source).skipped


# --------------------------------------------------------------------------- restatement

USAGE_HEADER = "date,metric,product,customer_id,feature_id,quantity\n"


def usage_totals(con) -> list[tuple]:
    return con.execute(
        "select metric, strftime(date, '%m-%d'), count(*), sum(quantity) "
        "from raw.usage_metrics group by 1, 2 order by 1, 2"
    ).fetchall()


def test_usage_restatement_replaces_only_that_metric_day(tmp_path: Path, con) -> None:
    load_path(
        con,
        usage.SPEC,
        write(
            tmp_path / "v1/usage.csv",
            USAGE_HEADER + "2026-08-01,requests,replay,c1,,10\n"
            "2026-08-02,requests,replay,c1,,20\n"
            "2026-08-02,requests,flags,c2,,30\n"
            "2026-08-02,events,analytics,c1,,5\n",
        ),
        export_name="usage",
    )
    result = load_path(
        con,
        usage.SPEC,
        write(tmp_path / "v2/usage.csv", USAGE_HEADER + "2026-08-02,requests,replay,c1,,7\n"),
        export_name="usage",
    )
    assert [(p.billing_account_id, str(p.billing_period), p.action) for p in result.partitions] == [
        ("requests", "2026-08-02", "replaced")
    ]
    assert usage_totals(con) == [
        ("events", "08-02", 1, 5),  # same day, other metric: untouched
        ("requests", "08-01", 1, 10),  # same metric, other day: untouched
        ("requests", "08-02", 1, 7),  # the flags line of the old delivery is gone too
    ]


def test_query_log_reexport_replaces_only_that_host_day(tmp_path: Path, con, sample) -> None:
    src = f"read_parquet('{sample.query_log_file.as_posix()}')"
    load_path(con, clickhouse_query_log.SPEC, sample.query_log_file, export_name="ql")
    before = con.execute(
        f"select hostname, cast(event_time as date), count(*), sum(read_bytes) from {QL} "
        "group by 1, 2 order by 1, 2"
    ).fetchall()
    host, day = before[len(before) // 2][:2]
    # The re-export of that host-day holds only its first three queries' rows.
    patch = tmp_path / "reexport" / "query_log.parquet"
    patch.parent.mkdir()
    con.execute(
        f"""copy (select * from {src}
                  where hostname = '{host}' and cast(event_time as date) = '{day}'
                  order by event_time, query_id, type limit 3)
            to '{patch.as_posix()}' (format parquet)"""
    )
    (patched,) = con.execute(f"select sum(read_bytes) from read_parquet('{patch}')").fetchone()
    # Three rows where the day had dozens: the shrink guard would refuse it unless told.
    with pytest.raises(LoadError, match=r"this delivery has 3 rows .*--allow-shrink"):
        load_path(con, clickhouse_query_log.SPEC, patch, export_name="ql")
    result = load_path(
        con,
        clickhouse_query_log.SPEC,
        patch,
        export_name="ql",
        guards=Guards(allow_shrink=True),
    )
    assert [(p.billing_account_id, p.billing_period, p.action) for p in result.partitions] == [
        (host, day, "replaced")
    ]
    after = con.execute(
        f"select hostname, cast(event_time as date), count(*), sum(read_bytes) from {QL} "
        "group by 1, 2 order by 1, 2"
    ).fetchall()
    expected = [r if r[:2] != (host, day) else (host, day, 3, patched) for r in before]
    assert after == expected
    assert any(r[0] != host and r[1] == day for r in before)  # the other host had that day too


REVENUE_HEADER = "month,customer_id,product,amount,currency\n"


def revenue_totals(con) -> list[tuple]:
    return con.execute(
        "select strftime(month, '%Y-%m'), count(*), cast(sum(amount) as decimal(18, 2)) "
        "from raw.revenue group by 1 order by 1"
    ).fetchall()


def test_revenue_corrected_month_replaces_only_that_month(tmp_path: Path, con) -> None:
    load_path(
        con,
        revenue.REVENUE,
        write(
            tmp_path / "v1/revenue.csv",
            REVENUE_HEADER + "2026-08-01,c1,replay,100.10,USD\n"
            "2026-09-01,c1,replay,100.10,USD\n"
            "2026-09-01,c2,flags,50.00,USD\n",
        ),
        export_name="revenue",
    )
    result = load_path(
        con,
        revenue.REVENUE,
        write(tmp_path / "v2/revenue.csv", REVENUE_HEADER + "2026-09,c1,replay,80.05,usd\n"),
        export_name="revenue",
    )
    assert [(str(p.billing_period), p.action) for p in result.partitions] == [
        ("2026-09-01", "replaced")
    ]
    assert [(str(p), c, t) for p, c, t in result.totals] == [
        ("2026-09-01", "USD", pytest.approx(80.05))
    ]
    assert revenue_totals(con) == [
        ("2026-08", 1, Decimal("100.10")),
        ("2026-09", 1, Decimal("80.05")),
    ]


def test_customers_snapshot_replaces_whole_table(tmp_path: Path, con) -> None:
    header = "customer_id,name,plan,status\n"
    load_path(
        con,
        revenue.CUSTOMERS,
        write(
            tmp_path / "v1/customers.csv",
            header + "c1,Acme,growth,active\nc2,Beta,starter,active\nc3,Gamma,free,active\n",
        ),
        export_name="customers",
    )
    load_path(
        con,
        revenue.CUSTOMERS,
        write(
            tmp_path / "v2/customers.csv",
            header + "c1,Acme Corp,enterprise,active\nc3,Gamma,free,churned\n",
        ),
        export_name="customers",
    )
    assert con.execute(
        "select customer_id, name, plan, status from raw.customers order by 1"
    ).fetchall() == [
        ("c1", "Acme Corp", "enterprise", "active"),
        ("c3", "Gamma", "free", "churned"),
    ]


# --------------------------------------------------------------------------- bad input

QL_HEADER = (
    "hostname,type,event_date,event_time,is_initial_query,query_id,read_bytes,ProfileEvents\n"
)
QL_ROW = "ch-0,QueryFinish,2026-08-01,2026-08-01 10:00:00,1,q1,100,\"{'OSCPUVirtualTimeMicroseconds':5}\"\n"


def load_tiny_everything(con, root: Path) -> None:
    """One good delivery per source, so every raw table exists and has rows to protect."""
    for spec, name, text in [
        (usage.SPEC, "usage.csv", USAGE_HEADER + "2026-08-01,requests,replay,c1,,10\n"),
        (revenue.REVENUE, "revenue.csv", REVENUE_HEADER + "2026-08-01,c1,replay,9.99,USD\n"),
        (revenue.CUSTOMERS, "customers.csv", "customer_id,name\nc1,Acme\n"),
        (clickhouse_query_log.SPEC, "query_log.csv", QL_HEADER + QL_ROW),
    ]:
        load_path(con, spec, write(root / spec.source / name, text), export_name=spec.source)


@pytest.mark.parametrize(
    ("spec", "name", "content", "message"),
    [
        (
            usage.SPEC,
            "no_quantity.csv",
            "date,metric,product\n2026-08-01,requests,replay\n",
            r"no_quantity\.csv: required column 'quantity' is missing",
        ),
        (
            usage.SPEC,
            "lots.csv",
            USAGE_HEADER
            + "2026-08-01,requests,replay,c1,,10\n2026-08-02,requests,replay,c1,,lots\n",
            r"lots\.csv: row 2, column 'quantity': cannot read 'lots'",
        ),
        (
            revenue.REVENUE,
            "zzz.csv",
            REVENUE_HEADER + "2026-08-01,c1,replay,1.00,USD\n2026-08-01,c2,replay,2.00,ZZZ\n",
            r"zzz\.csv: row 2, column 'currency': unknown or missing currency \('ZZZ'\)",
        ),
        (
            clickhouse_query_log.SPEC,
            "no_query_id.csv",
            QL_HEADER.replace("query_id,", "") + QL_ROW.replace("q1,", ""),
            r"no_query_id\.csv: required column 'query_id' is missing",
        ),
        (
            clickhouse_query_log.SPEC,
            "text_counter.csv",
            QL_HEADER + QL_ROW.replace("':5}", "':'five'}"),
            r"text_counter\.csv: row 1, column 'ProfileEvents': cannot read",
        ),
        (usage.SPEC, "empty.csv", "", r"empty\.csv: file is empty"),
        (usage.SPEC, "header_only.csv", USAGE_HEADER, r"header_only\.csv: .*no data rows"),
    ],
    ids=[
        "usage-no-quantity",
        "usage-lots",
        "revenue-zzz",
        "ql-no-query-id",
        "ql-text-counter",
        "empty",
        "header",
    ],
)
def test_bad_input_names_file_and_place(
    tmp_path: Path, con, spec: TableSpec, name: str, content: str, message: str
) -> None:
    load_tiny_everything(con, tmp_path / "good")
    before = snapshot(con)
    with pytest.raises(LoadError, match=message):
        load_path(con, spec, write(tmp_path / "bad" / name, content), export_name=spec.source)
    assert snapshot(con) == before


# --------------------------------------------------------------------------- command line


@pytest.mark.parametrize("command", ["query-log", "usage", "revenue", "customers"])
def test_source_command_has_help(command: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "usage:" in out and "--db" in out and "--force" in out


def test_cli_usage_load_exits_0_and_reports(tmp_path: Path, capsys) -> None:
    f = write(
        tmp_path / "usage.csv",
        USAGE_HEADER + "2026-08-01,requests,replay,c1,,10\n2026-08-02,requests,replay,c1,,5\n",
    )
    db = tmp_path / "w.duckdb"
    assert main(["usage", str(f), "--db", str(db), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "usage: loaded 2 rows from 1 file(s)" in out and "export 'usage'" in out
    with duckdb.connect(str(db)) as check:
        assert check.execute("select sum(quantity) from raw.usage_metrics").fetchone() == (15,)


def test_cli_bad_usage_exits_1_naming_the_file(tmp_path: Path, capsys) -> None:
    f = write(tmp_path / "usage.csv", "date,metric\n2026-08-01,requests\n")
    assert main(["usage", str(f), "--db", str(tmp_path / "w.duckdb"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {f}: required column 'quantity' is missing")


# ------------------------------------------------ bugs found by these tests, now fixed


def test_tsv_backslash_escapes_are_undone(tmp_path: Path, con) -> None:
    # ClickHouse TabSeparated writes ' as \' and \ as \\ (the real chdb sample's `query`
    # column shows `team = \'platform\'`). The comment as sent: {"note":"it's a \"test\""}
    comment = '{"note":"it\\\'s a \\\\"test\\\\""}'
    f = write(
        tmp_path / "ql.tsv",
        "hostname\ttype\tevent_date\tevent_time\tis_initial_query\tquery_id\tlog_comment\n"
        f"vm\tQueryFinish\t2026-11-24\t2026-11-24 00:40:14\t1\tq1\t{comment}\n",
    )
    load_path(con, clickhouse_query_log.SPEC, f, export_name="tsv")
    (landed,) = con.execute(f"select log_comment from {QL}").fetchone()
    assert landed == '{"note":"it\'s a \\"test\\""}'


def test_tsv_with_types_but_without_event_date_loads(tmp_path: Path, con) -> None:
    f = write(
        tmp_path / "ql.tsv",
        "hostname\ttype\tevent_time\tis_initial_query\tquery_id\n"
        "LowCardinality(String)\tEnum8(\\'QueryStart\\' = 1, \\'QueryFinish\\' = 2)\tDateTime\t"
        "UInt8\tString\n"
        "vm\tQueryFinish\t2026-11-24 00:40:14\t1\tq1\n",
    )
    result = load_path(con, clickhouse_query_log.SPEC, f, export_name="tsv")
    assert result.rows == 1


def test_cli_summary_names_each_day_partition(tmp_path: Path, capsys) -> None:
    f = write(
        tmp_path / "usage.csv",
        USAGE_HEADER + "2026-08-01,requests,replay,c1,,10\n2026-08-02,requests,replay,c1,,5\n",
    )
    assert main(["usage", str(f), "--db", str(tmp_path / "w.duckdb"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "2026-08-01" in out and "2026-08-02" in out


def test_failed_first_load_creates_no_tables(tmp_path: Path, db_path: Path) -> None:
    f = write(tmp_path / "usage.csv", "date,metric\n2026-08-01,requests\n")
    con = connect(db_path)
    try:
        with pytest.raises(LoadError):
            load_path(con, usage.SPEC, f, export_name="usage")
        assert snapshot(con) == {}
    finally:
        con.close()


def test_customer_snapshot_is_one_list_whatever_the_export_name(tmp_path: Path, con) -> None:
    header = "customer_id,name,plan,status\n"
    load_path(
        con,
        revenue.CUSTOMERS,
        write(tmp_path / "a/c.csv", header + "c1,A,free,active\n"),
        export_name="crm",
    )
    load_path(
        con,
        revenue.CUSTOMERS,
        write(tmp_path / "b/c.csv", header + "c2,B,free,active\n"),
        export_name="billing",
    )
    assert con.execute("select customer_id from raw.customers").fetchall() == [("c2",)]
