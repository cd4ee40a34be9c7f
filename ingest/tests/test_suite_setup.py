"""The suite's own set-up: parallel workers never share dbt's state, unit tests run where named."""

from __future__ import annotations

import os
from pathlib import Path

from ingest.tests.conftest import SCRATCH_ENV, UNIT_TESTS_OFF, dbt_target


def test_each_test_process_has_its_own_dbt_target() -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    scratch = Path(os.environ[SCRATCH_ENV])
    # made by this process's conftest (not inherited from the controller or another worker)
    assert scratch.name.startswith(f"dbt-{worker}-"), scratch
    assert dbt_target() == scratch / "target"
    assert Path(os.environ["DBT_LOG_PATH"]) == scratch / "logs"


def test_dbt_unit_tests_are_left_to_the_builds_that_name_them() -> None:
    assert os.environ[UNIT_TESTS_OFF] == "unit_test"
