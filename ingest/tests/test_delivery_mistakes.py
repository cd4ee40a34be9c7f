"""The delivery-mistakes corpus: every way we know of to hand the loaders a bill twice, half a
bill or a misread file, run through ``python -m ingest`` as a user would.

Each mistake (``ingest/tests/mistakes.py``) must end in a clear one-line refusal that leaves
the database as it was, or in raw-table totals equal to the true bill (DOMAIN.md point 18:
one bill, one source of record). ``pytest -s`` prints the ``mistake → outcome`` table.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from ingest import sample_data
from ingest.tests.conftest import ingest_cli
from ingest.tests.mistakes import CASES, Case, Outcome, Sample, run_cases, table

RunCorpus = Callable[[Sequence[Case]], dict[str, Outcome]]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    root = tmp_path_factory.mktemp("mistakes-sample")
    sample_data.generate(root, cur_lines=3000, months=2)
    return Sample(root)


@pytest.fixture(scope="module")
def corpus(sample: Sample, tmp_path_factory: pytest.TempPathFactory) -> RunCorpus:
    """Runs cases once per module (in parallel), whichever test asks first."""
    root = tmp_path_factory.mktemp("mistakes")
    done: dict[str, Outcome] = {}

    def run(cases: Sequence[Case]) -> dict[str, Outcome]:
        missing = [c for c in cases if c.name not in done]
        done.update(run_cases(missing, root, sample))
        return {c.name: done[c.name] for c in cases}

    return run


def test_no_mistake_gives_a_silent_wrong_total(corpus: RunCorpus) -> None:
    """Runs the whole corpus first (in parallel) and prints the table the other tests share."""
    started = time.monotonic()
    outcomes = corpus(CASES)
    print(f"\n{table(outcomes.values())}")
    counts: dict[str, int] = {}
    for o in outcomes.values():
        counts[o.verdict] = counts.get(o.verdict, 0) + 1
    print(
        f"\n{len(outcomes)} mistakes in {time.monotonic() - started:.0f} s: "
        + ", ".join(f"{n} {verdict}" for verdict, n in sorted(counts.items()))
    )
    silent = [o for o in outcomes.values() if o.verdict == "silent-wrong"]
    assert not silent, "silent wrong totals: " + ", ".join(o.case for o in silent)


@pytest.mark.parametrize("mistake", CASES, ids=[c.name for c in CASES])
def test_delivery_mistake(mistake: Case, corpus: RunCorpus) -> None:
    outcome = corpus([mistake])[mistake.name]
    assert outcome.ok, f"{mistake.name}: {mistake.what}\n  → {outcome.text}"


def test_bills_lists_the_source_of_record(sample: Sample, tmp_path: Path) -> None:
    """``python -m ingest bills`` says which delivery counts for each account × billing period."""
    db = tmp_path / "warehouse.duckdb"
    export = sample.copy_export(tmp_path / "saas-cur")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return ingest_cli(db, *args)

    loaded = cli("cur", str(export), "--quiet")
    assert loaded.returncode == 0, loaded.stderr
    listed = cli("bills")
    assert listed.returncode == 0, listed.stderr
    assert "111122223333" in listed.stdout
    assert "2026-09" in listed.stdout
