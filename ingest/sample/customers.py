"""The sample company's customer list (``customers/customers.csv``): id, name, plan, status."""

from __future__ import annotations

from pathlib import Path

import duckdb


def write(con: duckdb.DuckDBPyConnection, out_dir: Path) -> tuple[Path, int]:
    path = out_dir / "customers" / "customers.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    result = con.execute(
        f"""COPY (SELECT customer_id, name, plan, status FROM customers ORDER BY customer_id)
            TO '{path.as_posix()}' (FORMAT csv, HEADER true)"""
    ).fetchone()
    return path, int(result[0]) if result else 0
