"""Every landed file is read a second time and compared (rows, Σ cost) with what landed."""

from __future__ import annotations

import duckdb

from ingest.load.projection import _NUMERIC
from ingest.load.spec import MONEY, LoadError, SourceFile, TableSpec, quote_ident


def _reconcile(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    f: SourceFile,
    source_sql: str,
    read_params: list[object],
    billed: tuple[str, str] | None,
    load_id: str,
) -> tuple[str, int, float | None]:
    """Re-read the file independently and compare rows and Σ cost with what landed.

    The file side reads only the raw cost column (no mapping, no lineage), so a dropped,
    duplicated or mis-cast row shows up as a difference and fails the load.
    """
    if billed is not None:
        src = quote_ident(billed[0])
        if billed[1].upper().startswith(_NUMERIC):
            value = f"TRY_CAST({src} AS {MONEY})"
        else:
            value = f"TRY_CAST(NULLIF(TRIM(CAST({src} AS VARCHAR)), '') AS {MONEY})"
        file_sql = f"SELECT count(*), SUM({value}) FROM {source_sql}"
        landed_sql = (
            f"SELECT count(*), SUM({quote_ident(spec.billed_column or '')}) "
            f"FROM {spec.table} WHERE _load_id = ? AND _source_file = ?"
        )
    else:
        file_sql = f"SELECT count(*), NULL FROM {source_sql}"
        landed_sql = (
            f"SELECT count(*), NULL FROM {spec.table} WHERE _load_id = ? AND _source_file = ?"
        )
    file_rows, file_sum = con.execute(file_sql, read_params).fetchone() or (0, None)
    landed_rows, landed_sum = con.execute(landed_sql, [load_id, f.display]).fetchone() or (0, None)
    if file_rows != landed_rows or file_sum != landed_sum:
        raise LoadError(
            f"{f.display}: reconciliation failed: the file has {file_rows:,} rows"
            f" (cost {file_sum}) but {landed_rows:,} rows (cost {landed_sum}) landed"
        )
    return f.display, int(landed_rows), None if landed_sum is None else float(landed_sum)
