"""Every seed may be empty: a header-only CSV builds green and leaves the whole bill visible.

dbt infers a seed's column types from its rows, so a header-only CSV used to load as INTEGER
columns: models then failed ("Cannot mix values of type VARCHAR and INTEGER in COALESCE"), unit
test fixtures could not be cast ("Could not convert string 'ml-team' to INT32"), and refilling a
seed that had been loaded empty failed until `--full-refresh`. seeds/_seeds.yml and
seeds/_commitment_seeds.yml now type every column. One small sample, built five times: clean,
every seed empty, the same warehouse refilled, the four seeds of the issue empty, and a product
without an owner team.
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import yaml

from ingest import sample_data
from ingest.demo import load_sample, run_dbt
from ingest.load.db import connect
from ingest.tests.conftest import (
    PROJECT_DIR,
    UNIT_TESTS_OFF,
    copy_project,
    dbt_target,
    seed_file,
)

# every seed dbt builds for the sample: the shared reference data and the sample company's rules
SEEDS = sorted(
    p.stem
    for folder in ("seeds/common", "seeds/examples/sample_company")
    for p in (PROJECT_DIR / folder).glob("*.csv")
)
OBSERVED = (
    "clickhouse_user_products",
    "team_budgets",
    "allocation_pool_alternatives",
    "storage_cost_parameters",
)


def test_every_seed_column_has_a_declared_type() -> None:
    """A column left to inference loads as INTEGER from a header-only CSV: declare them all."""
    declared: dict[str, dict[str, str]] = {}
    for path in (PROJECT_DIR / "seeds").rglob("_*.yml"):
        for seed in yaml.safe_load(path.read_text())["seeds"]:
            declared[seed["name"]] = seed.get("config", {}).get("column_types", {})
    for seed in SEEDS:
        header = _header_only(seed).strip().split(",")
        assert sorted(declared.get(seed, {})) == sorted(header), (
            f"seeds/{seed}.csv: declare column_types for exactly its columns {header}"
        )


def _header_only(seed: str) -> str:
    return seed_file(PROJECT_DIR, f"{seed}.csv").read_text().splitlines()[0] + "\n"


def _project(root: Path, seeds: dict[str, str]) -> Path:
    """A copy of the project with the given seed files replaced by the given text."""
    project = copy_project(root / "project")
    _write_seeds(project, seeds)
    return project


def _write_seeds(project: Path, seeds: dict[str, str]) -> None:
    for seed, text in seeds.items():
        seed_file(project, f"{seed}.csv").write_text(text)


def _build(project: Path, db: Path, *, warns: frozenset[str] = frozenset()) -> None:
    """``dbt build`` (models, seeds, data tests and unit tests): every node passes, except
    exactly the data tests named in ``warns``, which warn."""
    result = run_dbt(db, "build", capture=True, project_dir=project)
    assert result.returncode == 0, result.stdout[-4000:]
    results = json.loads((dbt_target() / "run_results.json").read_text())["results"]
    assert results
    # exposures are listed with a no-op status: only nodes that build or test count
    status = {
        r["unique_id"].split(".")[-1]: r["status"]
        for r in results
        if not r["unique_id"].startswith("exposure.")
    }
    assert {n for n, s in status.items() if s not in ("success", "pass", "warn")} == set()
    assert {n for n, s in status.items() if s == "warn"} == warns, result.stdout[-4000:]


# every seed empty: the whole bill is untagged, above the untagged warning threshold
WHOLE_BILL_UNTAGGED = frozenset({"assert_unallocated_within_thresholds"})


def _query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def raw_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample (small), loaded but not built."""
    root = tmp_path_factory.mktemp("empty_seeds_raw")
    sample_data.generate(root / "sample", cur_lines=3000)
    db = root / "sample.duckdb"
    con = connect(db)
    load_sample(con, root / "sample")
    con.close()
    return db


def _warehouse(raw_db: Path, root: Path) -> Path:
    db = root / "warehouse.duckdb"
    shutil.copy(raw_db, db)
    return db


@pytest.fixture(scope="module")
def clean_db(raw_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("clean")
    db = _warehouse(raw_db, root)
    _build(_project(root, {}), db)
    return db


@pytest.fixture(scope="module")
def empty_then_refilled(
    raw_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """(every seed empty, the same warehouse with every seed refilled, no --full-refresh)."""
    root = tmp_path_factory.mktemp("empty")
    db = _warehouse(raw_db, root)
    project = _project(root, {seed: _header_only(seed) for seed in SEEDS})
    _build(project, db, warns=WHOLE_BILL_UNTAGGED)
    empty = root / "empty.duckdb"
    shutil.copy(db, empty)
    _write_seeds(project, {s: seed_file(PROJECT_DIR, f"{s}.csv").read_text() for s in SEEDS})
    _build(project, db)
    return empty, db


def test_every_seed_empty_builds_green_with_the_whole_bill_unallocated(
    empty_then_refilled: tuple[Path, Path], clean_db: Path
) -> None:
    empty, _ = empty_then_refilled
    for seed in SEEDS:
        assert _query(empty, f"select count(*) from seeds.{seed}") == [(0,)], seed
    bill = _query(
        empty,
        "select billing_currency, sum(effective_cost) from marts.fct_cost_line_items "
        "group by all order by all",
    )
    assert bill and bill == _query(
        clean_db,
        "select billing_currency, sum(effective_cost) from marts.fct_cost_line_items "
        "group by all order by all",
    )
    # no tag rule, no pool: every line is untagged, visible with its reason, none lost
    assert _query(
        empty,
        "select billing_currency, unallocated_reason, bool_and(is_unallocated), "
        "count(product), sum(allocated_effective_cost) "
        "from marts.fct_cost_allocation group by all order by all",
    ) == [(currency, "untagged", True, 0, cost) for currency, cost in bill]
    assert _query(
        empty,
        "select billing_currency, list(distinct team), sum(total_cost) "
        "from marts.fct_team_showback_monthly group by all order by all",
    ) == [(currency, ["(unallocated)"], cost) for currency, cost in bill]
    # no product has cost; ratios over zero volume are empty, not errors
    assert _query(
        empty,
        "select coalesce(sum(total_cost), 0), count(cost_per_unit) "
        "from marts.fct_product_economics_monthly",
    ) == [(0, 0)]
    # the seeds keep their declared types even when loaded empty
    assert _query(
        empty,
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = 'seeds' and column_name in "
        "('owner_team', 'priority', 'monthly_budget', 'budget_month', 'avg_size_gb') "
        "order by all",
    ) == [
        ("allocation_pools", "priority", "INTEGER"),
        ("allocation_tag_rules", "priority", "INTEGER"),
        ("products", "owner_team", "VARCHAR"),
        ("storage_cost_parameters", "avg_size_gb", "DOUBLE"),
        ("team_budgets", "budget_month", "DATE"),
        ("team_budgets", "monthly_budget", "DECIMAL(38,2)"),
    ]


def _fingerprint(db: Path, schemas: tuple[str, ...]) -> dict[str, tuple[int, int, list[float]]]:
    """Per table: row count, a checksum of its exact columns, its double columns' sums.

    Doubles are compared to a relative 1e-9: their last bits depend on DuckDB's threads.
    """
    con = duckdb.connect(str(db), read_only=True)
    try:
        out: dict[str, tuple] = {}
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in {schemas!r} and table_type = 'BASE TABLE' order by all"
        ).fetchall()
        for schema, table in tables:
            columns = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
            exact = [f'"{c}"' for c, t in columns if t not in ("DOUBLE", "FLOAT")]
            floats = [f'coalesce(sum("{c}"), 0)' for c, t in columns if t in ("DOUBLE", "FLOAT")]
            checksum = f"coalesce(sum(hash({', '.join(exact)})), 0)" if exact else "0"
            count, exact_sum, *float_sums = con.execute(
                f"select count(*), {', '.join([checksum, *floats])} from {schema}.{table}"
            ).fetchone()
            out[f"{schema}.{table}"] = (count, exact_sum, float_sums)
        return out
    finally:
        con.close()


def test_refilling_seeds_loaded_empty_needs_no_full_refresh(
    empty_then_refilled: tuple[Path, Path], clean_db: Path
) -> None:
    _, refilled = empty_then_refilled
    refilled_marts = _fingerprint(refilled, ("main", "seeds", "intermediate", "marts"))
    clean_marts = _fingerprint(clean_db, ("main", "seeds", "intermediate", "marts"))
    assert refilled_marts["seeds.products"][0] == 4
    assert refilled_marts["marts.fct_cost_allocation"][0] > 0
    assert refilled_marts.keys() == clean_marts.keys()
    for table, (rows, checksum, double_sums) in clean_marts.items():
        assert refilled_marts[table][:2] == (rows, checksum), table
        assert refilled_marts[table][2] == pytest.approx(double_sums, rel=1e-9), table


def test_the_observed_empty_seeds_build_green_unit_tests_included(
    raw_db: Path, clean_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(UNIT_TESTS_OFF)  # the one DuckDB build that runs every dbt unit test
    db = _warehouse(raw_db, tmp_path)
    project = _project(tmp_path, {seed: _header_only(seed) for seed in OBSERVED})
    _build(project, db)
    results = json.loads((dbt_target() / "run_results.json").read_text())["results"]
    unit_tests = [r for r in results if r["unique_id"].startswith("unit_test.")]
    assert len(unit_tests) >= 40 and all(r["status"] == "pass" for r in unit_tests)
    allocation = (
        "select billing_currency, sum(allocated_effective_cost) "
        "from marts.fct_cost_allocation group by all order by all"
    )
    assert _query(db, allocation) == _query(clean_db, allocation)
    # no user → product mapping: queries without a product comment are unattributed, visible
    assert _query(
        db,
        "select count(*) > 0, sum(allocated_effective_cost) > 0 from marts.fct_cost_allocation "
        "where unallocated_reason = 'unattributed_queries'",
    ) == [(True, True)]
    assert _query(db, "select count(*) from marts.fct_product_storage_cost_model") == [(0,)]
    assert _query(
        db, "select count(*) from marts.fct_team_showback_monthly where budget is not null"
    ) == [(0,)]


def test_a_product_without_owner_team_shows_its_shared_cost_under_no_owner(
    raw_db: Path, clean_db: Path, tmp_path: Path
) -> None:
    products = seed_file(PROJECT_DIR, "products.csv").read_text()
    assert ",replay-team," in products
    db = _warehouse(raw_db, tmp_path)
    _build(
        _project(tmp_path, {"products": products.replace(",replay-team,", ",,")}),
        db,
    )
    showback = (
        "select billing_currency, sum(total_cost) from marts.fct_team_showback_monthly "
        "group by all order by all"
    )
    assert _query(db, showback) == _query(clean_db, showback)
    [(no_owner,)] = _query(
        db, "select sum(total_cost) from marts.fct_team_showback_monthly where team = '(no owner)'"
    )
    [(replay_untagged_team,)] = _query(
        db,
        "select sum(allocated_effective_cost) from marts.fct_cost_allocation "
        "where product = 'replay' and team is null and not is_unallocated",
    )
    assert no_owner == replay_untagged_team and no_owner > Decimal(0)
    assert _query(
        db,
        "select statement from marts.fct_allocation_assumptions "
        "where topic = 'volume' and subject = 'replay'",
    ) == [
        (
            "replay volume = Σ recordings (one recording each); requests = Σ requests; "
            "shared cost shows back to (no owner)",
        )
    ]
