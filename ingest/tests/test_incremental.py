"""Incremental builds give the same warehouse as a full refresh.

int_cost__tag_sets, fct_cost_line_items, int_allocation__signature_days and int_commitments__line_days
rewrite only the delivered cost
partitions (export × billing period) holding a load they have not seen;
int_allocation__query_work_users_daily does the same per query_log partition (hostname × day).
After a new day arrives (a new billing period's first delivery, and a new query_log day), after a month
is restated and after a query_log day is re-exported, an incremental `dbt build` must leave every
mart and incremental table exactly as `dbt build --full-refresh` of the same raw data would:
money to the exact decimal; ratios (doubles summed in parallel, so their last bit may differ) to
a relative 1e-9.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import duckdb
import pytest

from ingest.demo import dbt_build, run_dbt
from ingest.tests.conftest import PROJECT_DIR, copy_built

sys.path.insert(0, str(PROJECT_DIR / "bench"))
from new_day import write_new_day, write_query_log_new_day  # noqa: E402

# Each table and its key: non-double columns must match exactly (EXCEPT ALL both ways), doubles
# joined on the key to a relative 1e-9 (parallel sums may differ in their last bits).
TABLES = {
    "marts.fct_cost_line_items": ["cost_line_key"],
    "marts.fct_cost_allocation": ["allocation_key"],
    "marts.fct_product_economics_monthly": ["cost_month", "product", "billing_currency"],
    "marts.fct_customer_economics_monthly": ["cost_month", "customer_id", "billing_currency"],
    "intermediate.int_cost__tag_sets": [
        "export_name",
        "charge_billing_period",
        "load_id",
        "tag_set_id",
    ],
    "intermediate.int_allocation__signature_days": [
        "export_name",
        "charge_billing_period",
        "load_id",
        "billing_period",
        "billing_account_id",
        "charge_date",
        "billing_currency",
        "signature_id",
    ],
    "intermediate.int_allocation__query_work_users_daily": [
        "hostname",
        "event_date",
        "load_id",
        "clickhouse_user",
        "comment_product",
    ],
    "intermediate.int_allocation__query_work_daily": [
        "hostname",
        "event_date",
        "load_id",
        "product",
    ],
    "intermediate.int_commitments__line_days": [
        "export_name",
        "charge_billing_period",
        "load_id",
        "charge_date",
        "billing_account_id",
        "service_code",
        "usage_type",
        "operation",
        "charge_description",
        "commitment_discount_id",
        "commitment_role",
    ],
    "intermediate.int_commitments__lines": ["line_group_key"],
}
INCREMENTAL_MODELS = (
    "intermediate.int_cost__tag_sets",
    "marts.fct_cost_line_items",
    "intermediate.int_allocation__signature_days",
    "intermediate.int_allocation__query_work_users_daily",
    "intermediate.int_commitments__line_days",
)


def _differences(incremental: Path, full: Path) -> dict[str, tuple[int, int, int, int]]:
    """Per mart: (rows, rows only in incremental, rows only in full, doubles that differ)."""
    out: dict[str, tuple[int, int, int, int]] = {}
    with duckdb.connect(str(incremental), read_only=True) as con:
        con.execute(f"attach '{full}' as full_refresh (read_only)")
        for table, key in TABLES.items():
            schema, name = table.split(".")
            columns = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_catalog = current_database() and table_schema = ? "
                "and table_name = ? order by ordinal_position",
                [schema, name],
            ).fetchall()
            exact = ", ".join(name for name, kind in columns if kind != "DOUBLE")
            doubles = [name for name, kind in columns if kind == "DOUBLE"]
            a = f"select {exact} from {table}"
            b = f"select {exact} from full_refresh.{table}"
            only_incremental = con.execute(f"select count(*) from ({a} except all {b})").fetchone()
            only_full = con.execute(f"select count(*) from ({b} except all {a})").fetchone()
            rows = con.execute(f"select count(*) from {table}").fetchone()
            drift = 0
            if doubles:
                on = " and ".join(f"i.{k} = f.{k}" for k in key)
                differs = " or ".join(
                    f"(i.{d} is distinct from f.{d} and not "
                    f"abs(i.{d} - f.{d}) <= 1e-9 * greatest(abs(i.{d}), abs(f.{d}), 1e-300))"
                    for d in doubles
                )
                drift = con.execute(
                    f"select count(*) from {table} as i "
                    f"join full_refresh.{table} as f on {on} where {differs}"
                ).fetchone()[0]
            out[table] = (rows[0], only_incremental[0], only_full[0], drift)
    return out


def _load_cur(db: Path, path: Path) -> None:
    from ingest import aws_cur
    from ingest.load.db import connect

    con = connect(db)
    try:
        aws_cur.load(con, path, export_name="saas-cur")
    finally:
        con.close()


def _load_query_log(db: Path, path: Path) -> None:
    from ingest import clickhouse_query_log
    from ingest.load.db import connect
    from ingest.load.land import load_path

    con = connect(db)
    try:
        spec = clickhouse_query_log.SPEC
        load_path(con, spec, path, export_name=spec.source)
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(
    bundled_sample_build: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """The bundled sample alone, loaded and fully built (once per run): this module's own copy
    (sample dir, warehouse)."""
    root = copy_built(bundled_sample_build, tmp_path_factory.mktemp("incremental"))
    return root / "sample", root / "warehouse.duckdb"


def _incremental_vs_full(
    built_db: Path, tmp_path: Path, change
) -> dict[str, tuple[int, int, int, int]]:
    incremental = tmp_path / "incremental.duckdb"
    full = tmp_path / "full.duckdb"
    shutil.copy(built_db, incremental)
    change(incremental)
    shutil.copy(incremental, full)
    result = run_dbt(incremental, "build", capture=True)
    assert result.returncode == 0, result.stdout[-3000:]
    for model in INCREMENTAL_MODELS:
        assert f"incremental model {model}" in result.stdout
    result = run_dbt(full, "build", "--full-refresh", capture=True)
    assert result.returncode == 0, result.stdout[-3000:]
    return _differences(incremental, full)


def test_a_new_day_builds_incrementally_like_a_full_refresh(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    sample, db = built
    period, rows = write_new_day(sample / "cur" / "saas-cur", tmp_path / "new-day.parquet")
    assert period == "2026-11" and rows > 0
    day, queries = write_query_log_new_day(sample / "clickhouse", tmp_path / "new-queries.parquet")
    assert day == "2026-11-01" and queries > 0

    def new_day(warehouse: Path) -> None:
        _load_cur(warehouse, tmp_path / "new-day.parquet")
        _load_query_log(warehouse, tmp_path / "new-queries.parquet")

    diffs = _incremental_vs_full(db, tmp_path, new_day)
    for table, (n, only_incremental, only_full, drift) in diffs.items():
        assert n > 0 and only_incremental == only_full == drift == 0, (table, diffs)
    with duckdb.connect(str(tmp_path / "incremental.duckdb"), read_only=True) as con:
        charged = con.execute(
            "select sum(allocated_effective_cost) from marts.fct_cost_allocation "
            "where rule_id = 'clickhouse' and period_start = date '2026-11-01'"
        ).fetchone()[0]
    assert charged and charged > 0  # the new day's ClickHouse cost found the new day's queries


def test_a_restated_month_builds_incrementally_like_a_full_refresh(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    """October is re-delivered with one cost changed: its partition is replaced, and only it."""
    sample, db = built
    october = sorted((sample / "cur" / "saas-cur" / "data").glob("BILLING_PERIOD=2026-10/*"))
    restated = tmp_path / "october-restated.parquet"
    with duckdb.connect() as con:
        con.execute(
            f"""copy (select * replace (
                    case when identity_line_item_id = (
                        select min(identity_line_item_id) from read_parquet('{october[0]}'))
                    then line_item_unblended_cost + 100 else line_item_unblended_cost end
                    as line_item_unblended_cost)
                from read_parquet('{october[0]}')) to '{restated}' (format parquet)"""
        )
    diffs = _incremental_vs_full(db, tmp_path, lambda d: _load_cur(d, restated))
    for table, (n, only_incremental, only_full, drift) in diffs.items():
        assert n > 0 and only_incremental == only_full == drift == 0, (table, diffs)


def test_a_reexported_query_log_day_builds_incrementally_like_a_full_refresh(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    """One host's 2026-10-31 is exported again with doubled read_bytes: that partition is
    replaced, ClickHouse shares for the day move, and the incremental build follows."""
    sample, db = built
    source = sorted((sample / "clickhouse").glob("**/*.parquet"))
    reexport = tmp_path / "ch-0-2026-10-31.parquet"
    with duckdb.connect() as con:
        files = "[" + ", ".join(f"'{f}'" for f in source) + "]"
        con.execute(
            f"""copy (select * replace (read_bytes * 2 as read_bytes)
                from read_parquet({files})
                where hostname = 'ch-0' and event_date = date '2026-10-31'
            ) to '{reexport}' (format parquet)"""
        )
    diffs = _incremental_vs_full(db, tmp_path, lambda d: _load_query_log(d, reexport))
    for table, (n, only_incremental, only_full, drift) in diffs.items():
        assert n > 0 and only_incremental == only_full == drift == 0, (table, diffs)
    with duckdb.connect(str(tmp_path / "incremental.duckdb"), read_only=True) as con:
        con.execute(f"attach '{db}' as before (read_only)")
        moved = con.execute(
            """select count(*) from (
                select allocation_key, allocated_effective_cost from marts.fct_cost_allocation
                where rule_id = 'clickhouse' and period_start = date '2026-10-31'
                except
                select allocation_key, allocated_effective_cost
                from before.marts.fct_cost_allocation
                where rule_id = 'clickhouse' and period_start = date '2026-10-31'
            )"""
        ).fetchone()[0]
    assert moved > 0  # the re-export changed the day's split, so the test can see a stale one


def test_an_unchanged_warehouse_rewrites_nothing(built: tuple[Path, Path], tmp_path: Path) -> None:
    _, db = built
    copy = tmp_path / "again.duckdb"
    shutil.copy(db, copy)
    with duckdb.connect(str(copy), read_only=True) as con:
        before = con.execute(
            "select count(*), sum(effective_cost) from marts.fct_cost_line_items"
        ).fetchone()
    assert dbt_build(copy)
    with duckdb.connect(str(copy), read_only=True) as con:
        after = con.execute(
            "select count(*), sum(effective_cost) from marts.fct_cost_line_items"
        ).fetchone()
    assert after == before
