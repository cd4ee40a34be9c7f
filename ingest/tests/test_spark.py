"""The same project on Spark (dbt-spark, method session) gives the same marts as on DuckDB.

The slowest lane of the suite: the bundled sample is loaded once with the Python loaders,
built on DuckDB, exported to Parquet (`python -m ingest export-parquet`), registered as
Spark's raw sources and built again on Spark. Every mart must then have the same rows: every
non-double column identical (money to the exact decimal, keys, dates, labels), and each double
column (ratios, shares) the same count and sum to a relative 1e-9. dbt's data tests, the
conservation tests among them, run on both engines, and so do the `unit_tests:` (their SQL
fixtures are portable: tag maps through the `tag_map` macro, date spines from `range(n)`).
Skips when the Spark extra (`make setup-spark`) or Java is missing.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from ingest.load.db import connect
from ingest.parquet_export import export_raw
from ingest.tests.conftest import PROJECT_DIR, UNIT_TESTS_OFF, copy_built

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("pyspark") is None
    or importlib.util.find_spec("dbt.adapters.spark") is None
    or shutil.which("java") is None,
    reason="the Spark extra is not installed (make setup-spark) or Java is missing",
)


# warehouse → (work dir, Spark environment, Spark target arguments) of the module's builds
BUILDS: dict[Path, tuple[Path, dict[str, str], tuple[str, ...]]] = {}


def _dbt(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    dbt = Path(sys.executable).parent / "dbt"
    return subprocess.run(
        [str(dbt), *args, "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)],
        cwd=env["WORK_DIR"],
        env={k: v for k, v in env.items() if k != "WORK_DIR"},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def both_engines(
    bundled_sample_build: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    # the bundled sample, loaded and built on DuckDB once per run (conftest): this module's copy
    root = copy_built(bundled_sample_build, tmp_path_factory.mktemp("spark"))
    db = root / "warehouse.duckdb"
    con = connect(db)
    export_raw(con, root / "raw")
    con.close()
    base = {**os.environ, "WORK_DIR": str(root)}
    spark_env = {
        **{k: v for k, v in base.items() if k != UNIT_TESTS_OFF},  # Spark runs the unit tests too
        "COST_MODEL_RAW_PARQUET": str(root / "raw"),
        "COST_MODEL_SPARK_DIR": str(root / "spark"),
        "COST_MODEL_SPARK_MEMORY": "3g",
    }
    target = ("--target", "spark", "--target-path", str(root / "spark_target"))
    spark = _dbt(spark_env, "build", *target)
    assert spark.returncode == 0, spark.stdout[-5000:]
    _assert_every_node_passed(root / "spark_target")
    BUILDS[db] = (root, spark_env, target)
    return db, root / "spark" / "tables"


def _assert_every_node_passed(target_path: Path) -> None:
    """Every model, seed, data test and unit test of the project ran on Spark and passed:
    nothing was skipped or left out of the build."""
    manifest = json.loads((target_path / "manifest.json").read_text())
    results = json.loads((target_path / "run_results.json").read_text())["results"]
    status = {r["unique_id"]: r["status"] for r in results}
    project = {
        uid: node["resource_type"]
        for uid, node in {**manifest["nodes"], **manifest["unit_tests"]}.items()
        if node["package_name"] == "cost_to_serve"
        and node["resource_type"] in ("model", "seed", "test", "unit_test")
        and node.get("config", {}).get("enabled", True)
    }
    not_passed = {
        uid: status.get(uid) for uid in project if status.get(uid) not in ("success", "pass")
    }
    assert not not_passed, not_passed
    kinds = Counter(project.values())
    assert kinds["unit_test"] >= 40 and kinds["model"] >= 75 and kinds["test"] >= 200, kinds


def _marts(db: Path) -> list[tuple[str, list[tuple[str, str]]]]:
    with duckdb.connect(str(db), read_only=True) as con:
        names = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        return [
            (
                name,
                con.execute(
                    "select column_name, data_type from information_schema.columns "
                    "where table_schema = 'marts' and table_name = ? order by ordinal_position",
                    [name],
                ).fetchall(),
            )
            for name in names
        ]


def _mart_differences(db: Path, spark_tables: Path) -> dict[str, str]:
    """Per mart: rows found on one engine only (non-double columns as text), and double
    columns whose count or sum differ beyond a relative 1e-9."""
    marts = _marts(db)
    assert len(marts) >= 20
    differences = {}
    with duckdb.connect(str(db), read_only=True) as con:
        for name, columns in marts:
            folder = spark_tables / "marts.db" / name
            assert folder.is_dir(), f"{name} was not built on Spark"
            files = list(folder.rglob("*.parquet"))
            spark = (
                f"read_parquet('{folder.as_posix()}/**/*.parquet', hive_partitioning = true)"
                if files
                else f"(select * from marts.{name} limit 0)"
            )
            exact = [c for c, t in columns if t != "DOUBLE" and not t.startswith("MAP")]
            doubles = [c for c, t in columns if t == "DOUBLE"]
            text = ", ".join(f'cast("{c}" as varchar) as "{c}"' for c in exact)
            only_duckdb, only_spark = con.execute(
                f"select (select count(*) from (select {text} from marts.{name} "
                f"except all select {text} from {spark})), "
                f"(select count(*) from (select {text} from {spark} "
                f"except all select {text} from marts.{name}))"
            ).fetchone()
            if only_duckdb or only_spark:
                differences[name] = f"{only_duckdb} rows only on DuckDB, {only_spark} only on Spark"
            for column in doubles:
                ours, theirs = con.execute(
                    f'select (select [count("{column}"), sum("{column}")] from marts.{name}), '
                    f'(select [count("{column}"), sum("{column}")] from {spark})'
                ).fetchone()
                same_count = ours[0] == theirs[0]
                close = (ours[1] is None and theirs[1] is None) or (
                    ours[1] is not None
                    and theirs[1] is not None
                    and math.isclose(ours[1], theirs[1], rel_tol=1e-9, abs_tol=1e-9)
                )
                if not (same_count and close):
                    differences[f"{name}.{column}"] = f"DuckDB {ours}, Spark {theirs}"
    return differences


def test_every_mart_is_identical_on_spark(both_engines: tuple[Path, Path]) -> None:
    db, spark_tables = both_engines
    assert not (differences := _mart_differences(db, spark_tables)), differences


def test_money_totals_agree_to_the_cent(both_engines: tuple[Path, Path]) -> None:
    db, spark_tables = both_engines
    folder = (spark_tables / "marts.db" / "fct_cost_allocation").as_posix()
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            f"""
            select d.billing_currency, d.cost, s.cost
            from (select billing_currency, sum(allocated_effective_cost) as cost
                  from marts.fct_cost_allocation group by 1) as d
            full join (select billing_currency, sum(allocated_effective_cost) as cost
                  from read_parquet('{folder}/**/*.parquet') group by 1) as s
              using (billing_currency)
            """
        ).fetchall()
        bill = con.execute("select sum(effective_cost) from marts.fct_cost_line_items").fetchone()
    assert rows and all(d == s for _, d, s in rows), rows
    assert sum(d for _, d, _ in rows) == bill[0]


def test_a_new_day_on_spark_incrementally_equals_a_full_refresh(
    both_engines: tuple[Path, Path],
) -> None:
    """Spark's incremental path (insert_overwrite of the changed partitions) after a new CUR
    day and a new query_log day gives the marts DuckDB builds from scratch. Runs last: it adds
    the day to the module's warehouses."""
    sys.path.insert(0, str(PROJECT_DIR / "bench"))
    from new_day import write_new_day, write_query_log_new_day

    from ingest import aws_cur, clickhouse_query_log
    from ingest.load.land import load_path

    db, spark_tables = both_engines
    root, spark_env, target = BUILDS[db]
    _, cur_rows = write_new_day(root / "sample" / "cur" / "saas-cur", root / "day" / "cur.parquet")
    _, queries = write_query_log_new_day(
        root / "sample" / "clickhouse", root / "day" / "ql.parquet"
    )
    assert cur_rows > 0 and queries > 0
    con = connect(db)
    aws_cur.load(con, root / "day" / "cur.parquet", export_name="saas-cur")
    spec = clickhouse_query_log.SPEC
    load_path(con, spec, root / "day" / "ql.parquet", export_name=spec.source)
    export_raw(con, root / "raw")
    con.close()
    # about the data: the unit tests are left out (UNIT_TESTS_OFF in the environment)
    duck = _dbt(
        {**os.environ, "WORK_DIR": str(root), "COST_MODEL_DB": str(db)},
        "build",
        "--target",
        "duckdb",
        "--full-refresh",
    )
    assert duck.returncode == 0, duck.stdout[-3000:]
    # `run`: the data tests ran on Spark in the first build, and the marts compared below equal
    # DuckDB's fully refreshed and tested ones
    spark = _dbt(spark_env, "run", *target)
    assert spark.returncode == 0, spark.stdout[-5000:]
    assert "incremental model marts.fct_cost_line_items" in spark.stdout
    assert not (differences := _mart_differences(db, spark_tables)), differences
    with duckdb.connect(str(db), read_only=True) as c:
        new_lines = c.execute(
            "select count(*) from marts.fct_cost_line_items "
            "where billing_period = date '2026-11-01'"
        ).fetchone()[0]
    assert new_lines == cur_rows  # the new month's first day, on both engines (compared above)
