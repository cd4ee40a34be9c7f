"""Export the raw tables to Parquet, one folder per table, for engines that read files
(Spark registers them as its `raw` sources on run start; Athena/Trino would point external
tables at the same layout in S3).

The loaders stay the one place that validates and lands bills: the export copies what they
landed, column types included (MAP, DECIMAL(38,12), TIMESTAMP), with DuckDB's COPY.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from ingest.load.spec import quote_ident


def export_raw(con: duckdb.DuckDBPyConnection, out_dir: Path) -> dict[str, int]:
    """Write every ``raw`` table to ``out_dir/<table>/data.parquet``; return rows per table.

    A table's folder is replaced whole, so an export always mirrors the warehouse.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = [
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'raw' and table_type = 'BASE TABLE' order by 1"
        ).fetchall()
    ]
    rows: dict[str, int] = {}
    for name in tables:
        folder = out_dir / name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir()
        target = (folder / "data.parquet").as_posix().replace("'", "''")
        # COPY returns the rows it wrote: no second scan to count them
        copied = con.execute(
            f"COPY (SELECT * FROM raw.{quote_ident(name)}) TO '{target}' (FORMAT parquet)"
        ).fetchone()
        rows[name] = copied[0] if copied else 0
    return rows
