"""Shared pytest fixtures: the public samples in ../shared/data and throwaway warehouses."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ingest.core import connect

PROJECT_DIR = Path(__file__).resolve().parents[2]
SHARED_DATA = PROJECT_DIR.parent / "shared" / "data"


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
