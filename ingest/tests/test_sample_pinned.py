"""Pinned fingerprints of two small sample generations, so a refactor cannot change the data silently.

The hashes were taken from the generator before it was split into ``ingest/sample/``. Text files
(CSV, JSON manifests, JSON Lines spans) are pinned byte for byte. Parquet files are pinned by
their sorted rows: DuckDB writes in parallel (``preserve_insertion_order = false``), so the row
order inside a parquet file (``usage.parquet`` often, a CUR file now and then) differs from run
to run while its content does not.

If a change to the sample data is intended, regenerate with the arguments below, check the
difference is the one intended, and update the hashes in the same commit.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from ingest import sample_data

CASES: dict[str, tuple[dict[str, object], dict[str, str]]] = {
    "one_month_default_seed": (
        {"cur_lines": 2_000, "months": 1},
        {
            "clickhouse/query_log.parquet": (
                "9329e53a7c31d7d71446d7a0e15cfbac7e8412878cb6b857b029320ee5bc7736"
            ),
            "cur/saas-cur/data/BILLING_PERIOD=2026-08/saas-cur-00001.snappy.parquet": (
                "4c917c51cd8451bde71b184c7582a49932809f79b45ba459863abf173c2464a5"
            ),
            "cur/saas-cur/metadata/BILLING_PERIOD=2026-08/saas-cur-Manifest.json": (
                "e50f1d6a3d6988b1afbb065bdb29322ff6bd21238e42e1d09dd0492be1ccae94"
            ),
            "customers/customers.csv": (
                "6f589f20b688c7b365d1eb4e28a003bb3d5e482856e0ca8c257ed67963441e2c"
            ),
            "otel/spans.jsonl": "ca4dcbe4b100cdcc936a8d1d2329a3843b36fd172912338bf75cb1efad4ad9e1",
            "revenue/revenue.csv": (
                "46b80492df9029be0a649c2522500f56b200cfa8a6dfe2e165050690fec25f8b"
            ),
            "usage/usage.parquet": (
                "302aeb79d4bfd5e159a9a966bb601b49822e67ec78c3358b3a5a4b2ce8cbf8c7"
            ),
        },
    ),
    "two_months_seed_7": (
        {
            "cur_lines": 5_000,
            "months": 2,
            "seed": 7,
            "start_month": "2025-11",
            "query_log_rows": 1_500,
        },
        {
            "clickhouse/query_log.parquet": (
                "6f1b6b880686812d524bf57e4210417085c7a2e216a0fb90e0596896677e4006"
            ),
            "cur/saas-cur/data/BILLING_PERIOD=2025-11/saas-cur-00001.snappy.parquet": (
                "9886ef48aa3e5e00baf7c952609e33e27819f0b9985323a98789ce927ffd56e7"
            ),
            "cur/saas-cur/data/BILLING_PERIOD=2025-12/saas-cur-00001.snappy.parquet": (
                "1a625eb3652baf43d72cb231e226545354708b6b28a05e5e5c700e43f5f39d30"
            ),
            "cur/saas-cur/metadata/BILLING_PERIOD=2025-11/saas-cur-Manifest.json": (
                "a08a2dab2c40c501404dc8cd68ef5f3b6ee4ec16c9b03ac2f087d3f8a536d77c"
            ),
            "cur/saas-cur/metadata/BILLING_PERIOD=2025-12/saas-cur-Manifest.json": (
                "8ccec33560e711bc61a89eec3c1332603f818d214acde206b622dec230dae7cf"
            ),
            "customers/customers.csv": (
                "6f589f20b688c7b365d1eb4e28a003bb3d5e482856e0ca8c257ed67963441e2c"
            ),
            "otel/spans.jsonl": "5b29945fd913d76bbe79f0c3b86829cc522e169734401aafddf367c49331f9fd",
            "revenue/revenue.csv": (
                "1c061d8b9943558253c68aed25f5872b9f97c4d770f8c3f0e73a78974c612a49"
            ),
            "usage/usage.parquet": (
                "c2879c94e3213b19591914a4a55560deca56d6e9b64449b4525e926605cc1ee9"
            ),
        },
    ),
}


def fingerprint(path: Path, con: duckdb.DuckDBPyConnection) -> str:
    """sha256 of the file's bytes, or for parquet of its rows' reprs, sorted, one per line."""
    if path.suffix != ".parquet":
        return hashlib.sha256(path.read_bytes()).hexdigest()
    rows = con.execute(f"SELECT * FROM read_parquet('{path.as_posix()}')").fetchall()
    return hashlib.sha256("\n".join(sorted(repr(r) for r in rows)).encode()).hexdigest()


@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_files_match_pinned_hashes(case: str, tmp_path: Path) -> None:
    kwargs, expected = CASES[case]
    summary = sample_data.generate(tmp_path, **kwargs)  # type: ignore[arg-type]
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert written == sorted(expected), "the generator writes a different set of files"
    assert sorted(p.relative_to(tmp_path).as_posix() for p in summary.files) == written
    con = duckdb.connect()
    try:
        got = {name: fingerprint(tmp_path / name, con) for name in written}
    finally:
        con.close()
    changed = sorted(name for name in written if got[name] != expected[name])
    assert not changed, f"sample data changed in {changed}"
