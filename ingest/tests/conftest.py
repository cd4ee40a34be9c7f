"""Shared pytest fixtures: the public samples in ../shared/data and throwaway warehouses."""

from __future__ import annotations

import csv
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from ingest import aws_cur, azure, focus, oci
from ingest.demo import dbt_build, load_sample
from ingest.load.db import connect
from ingest.load.land import load_path
from ingest.project import RULES_ENV, SAMPLE_RULES

PROJECT_DIR = Path(__file__).resolve().parents[2]
SHARED_DATA = PROJECT_DIR.parent / "shared" / "data"
# Most tests build the bundled sample company: with its own rules, as `ingest demo` does. Tests of
# the shipped defaults (seeds/rules) say so explicitly.
os.environ[RULES_ENV] = SAMPLE_RULES
# dbt writes its target/ (manifest, run results, partial-parse state) and logs/ per test process:
# parallel workers (pytest-xdist) never overwrite each other's, and the checkout's target/ is
# left alone. Workers inherit the controller's environment, so a scratch set by a parent test
# process is replaced; one the user set before pytest started is kept.
SCRATCH_ENV = "COST_MODEL_TEST_DBT_SCRATCH"
if os.environ.get(SCRATCH_ENV) or "DBT_TARGET_PATH" not in os.environ:
    _scratch = Path(
        tempfile.mkdtemp(prefix=f"dbt-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-")
    )
    os.environ[SCRATCH_ENV] = str(_scratch)
    os.environ["DBT_TARGET_PATH"] = str(_scratch / "target")
    os.environ["DBT_LOG_PATH"] = str(_scratch / "logs")
# dbt's unit tests check model logic on fixed rows, whatever the warehouse holds: they run in the
# builds that say so (the empty-seeds build with unit tests, the Spark lane), not in each of the
# suite's many warehouse builds, where they would add a third of every build's time.
UNIT_TESTS_OFF = "DBT_EXCLUDE_RESOURCE_TYPES"
os.environ.setdefault(UNIT_TESTS_OFF, "unit_test")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")  # no network call per command


def dbt_target() -> Path:
    """Where this test process's dbt commands write manifest.json and run_results.json."""
    return Path(os.environ["DBT_TARGET_PATH"])


def csv_rows(path: Path) -> list[dict[str, str]]:
    """A CSV file's rows as dicts (seeds, discover's starters)."""
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def csv_header(path: Path) -> list[str]:
    with path.open(newline="") as f:
        return next(csv.reader(f))


def seed_file(project: Path, name: str, rules: str = SAMPLE_RULES) -> Path:
    """A seed CSV of ``project``: the rule folder's copy, else the reference data every company
    shares (seeds/common)."""
    own = project / rules / name
    return own if own.exists() else project / "seeds" / "common" / name


def ingest_cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m ingest ARGS --db DB`` as a user runs it: a real process, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "ingest", *args, "--db", str(db)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def copy_project(dest: Path, src: Path = PROJECT_DIR) -> Path:
    """A copy of the dbt project (config, models, macros, seeds, tests) to edit a seed in a test."""
    dest.mkdir(parents=True)
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(src / name, dest / name)
    for folder in ("models", "macros", "seeds", "tests"):
        shutil.copytree(src / folder, dest / folder)
    return dest


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Real public samples; tests using them skip cleanly when ../shared is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


@pytest.fixture
def con(db_path: Path) -> duckdb.DuckDBPyConnection:
    c = connect(db_path)
    yield c
    c.close()


def snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[object, ...]]:
    """Row count and a content checksum of every raw table: 'the database as it was'."""
    out: dict[str, tuple[object, ...]] = {}
    for (name,) in con.execute(
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_schema = 'raw' order by 1"
    ).fetchall():
        out[name] = con.execute(
            f"select count(*), coalesce(sum(hash(t)), 0) from {name} as t"
        ).fetchone()
    return out


def _build_sample(root: Path, shared_samples: bool = True) -> None:
    """The bundled sample (plus every shared sample) in ``root``/sample, loaded into
    ``root``/warehouse.duckdb and built."""
    from ingest import sample_data

    sample_data.generate(root / "sample", cur_lines=20_000)
    db = root / "warehouse.duckdb"
    con = connect(db)
    load_sample(con, root / "sample")
    if shared_samples and SHARED_DATA.is_dir():
        aws_cur.load(
            con, SHARED_DATA / "aws_cur/focus_converters_sample-anonymous-aws-export-dataset.csv"
        )
        load_path(con, focus.SPEC, SHARED_DATA / "focus", export_name="focus-sample")
        other = SHARED_DATA / "other_providers"
        load_path(
            con,
            azure.SPEC,
            other / "focus_converters_azure_sample-anonymous-ea-export-dataset.csv",
            export_name="azure",
        )
        load_path(
            con,
            oci.SPEC,
            other / "focus_converters_oci_reports_cost-csv_0000000030000269.csv",
            export_name="oci",
        )
    con.close()
    started = time.monotonic()
    assert dbt_build(db), "dbt build failed (see the dbt output above)"
    assert not (root / "warehouse.duckdb.wal").exists(), "dbt left a WAL unmerged"
    print(f"\ndbt build of {root.name}: {time.monotonic() - started:.1f} s")


def run_shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """A folder every xdist worker of this run shares (the run's base temp), else None."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return None
    return tmp_path_factory.getbasetemp().parent


def once_per_run(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]
) -> Path:
    """A folder ``build`` fills, built once for the whole run: never open files in it, copy them.

    Under xdist the first worker to ask builds it under a lock in the run's shared temp folder
    and the others wait for it: a run pays one build, not one per worker."""
    shared = run_shared_dir(tmp_path_factory)
    if shared is None:
        folder = tmp_path_factory.mktemp(name)
        build(folder)
        return folder
    folder = shared / "once" / name
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        built, failed = folder / "built", folder / "failed"
        if failed.exists():
            pytest.fail(f"another worker's build of {name} failed: {failed.read_text()}")
        if not built.exists():
            try:
                build(folder / "build")
            except BaseException as exc:
                failed.write_text(f"{type(exc).__name__}: {exc}"[:2000])
                raise
            os.replace(folder / "build", built)
    return built


def copy_built(built: Path, dest: Path) -> Path:
    """A copy of a folder made by ``once_per_run`` that this test process may open and change
    (DuckDB locks a file that one process writes, so workers never share one)."""
    shutil.copytree(built, dest, dirs_exist_ok=True)
    return dest


@pytest.fixture(scope="session")
def built_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample plus every shared sample, loaded and built once for the run; this
    process's own copy (warehouse.duckdb: dbt-duckdb names the database after the file)."""
    built = once_per_run(tmp_path_factory, "e2e", _build_sample)
    own = tmp_path_factory.mktemp("e2e-copy")
    shutil.copyfile(built / "warehouse.duckdb", own / "warehouse.duckdb")
    return own / "warehouse.duckdb"


@pytest.fixture(scope="session")
def bundled_sample_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample alone (20,000 CUR lines) in sample/, loaded into warehouse.duckdb and
    built, once for the run: a module copies it (``copy_built``) before opening anything."""
    return once_per_run(
        tmp_path_factory, "bundled", lambda root: _build_sample(root, shared_samples=False)
    )


# The longest files start first, so that under `make test` (`pytest -n N --dist loadfile
# --no-loadscope-reorder`: whole files per worker, in this order) the short ones fill in around
# them instead of one long file running alone at the end. Measured on a fresh clone: the Spark
# lane is about a fifth of the suite's work.
LONGEST_FIRST = (
    "test_spark.py",
    "test_incremental.py",
    "test_bench.py",
    "test_dbt_project.py",
    "test_rule_checks.py",
    "test_empty_seeds.py",
    "test_daily.py",
    "test_fuzz.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
