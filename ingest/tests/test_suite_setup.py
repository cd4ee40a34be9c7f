"""The suite's own set-up: parallel workers never share dbt's state or a warehouse file, unit tests
run where named."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingest.tests.conftest import SCRATCH_ENV, UNIT_TESTS_OFF, dbt_target, run_shared_dir


def test_each_test_process_has_its_own_dbt_target() -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    scratch = Path(os.environ[SCRATCH_ENV])
    # made by this process's conftest (not inherited from the controller or another worker)
    assert scratch.name.startswith(f"dbt-{worker}-"), scratch
    assert dbt_target() == scratch / "target"
    assert Path(os.environ["DBT_LOG_PATH"]) == scratch / "logs"


def test_dbt_unit_tests_are_left_to_the_builds_that_name_them() -> None:
    assert os.environ[UNIT_TESTS_OFF] == "unit_test"


def test_built_sample_is_built_once_per_run_and_each_process_has_its_own_copy(
    built_sample: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # this process's own file, named as dbt built it (its database name is the file's stem)
    assert built_sample.name == "warehouse.duckdb"
    assert built_sample.is_relative_to(tmp_path_factory.getbasetemp())
    shared = run_shared_dir(tmp_path_factory)
    if shared is None:
        return
    # under xdist: one build for the run, copied; no worker opens another's file
    built = shared / "once" / "e2e" / "built" / "warehouse.duckdb"
    assert built.is_file() and not (shared / "once" / "e2e" / "failed").exists()
    assert not built_sample.samefile(built)
    assert built_sample.stat().st_size == built.stat().st_size
