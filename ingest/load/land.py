"""A load: one delivery's files into the raw table, atomically (projection, partitions,
reconciliation, bill-once checks in one transaction)."""

from __future__ import annotations

import datetime as dt
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from ingest import registry
from ingest.load.bill_once import check_line_identity, supersede_or_refuse
from ingest.load.db import transaction
from ingest.load.files import (
    _reader,
    check_one_format,
    describe,
    expanded,
    file_fingerprint,
    source_files,
)
from ingest.load.partitions import (
    _set_load_values,
    _validate,
    apply_partitions,
    delivery_fingerprint,
    new_load_id,
    prior_load,
    record_load,
)
from ingest.load.projection import (
    build_select,
    check_header_names,
    explain_error,
    missing_column_warnings,
)
from ingest.load.reconcile import _reconcile
from ingest.load.spec import (
    DEFAULT_GUARDS,
    LINEAGE_COLUMNS,
    Guards,
    LoadError,
    LoadResult,
    SourceFile,
    TableSpec,
    quote_ident,
)


def run_load(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    files: Sequence[SourceFile],
    **options: Any,
) -> LoadResult:
    """Load ``files`` as one delivery into ``spec.table``, atomically (:func:`land`'s options)."""
    with transaction(con):
        return land(con, spec, files, **options)


def land(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    files: Sequence[SourceFile],
    *,
    export_name: str,
    force: bool = False,
    allow_currencies: Sequence[str] = (),
    progress: Callable[[str], None] | None = None,
    guards: Guards = DEFAULT_GUARDS,
    load_values: Mapping[str, str] | None = None,
) -> LoadResult:
    """Load one delivery inside the caller's transaction (see :func:`run_load`), so a command
    that loads several exports commits all of them or none."""
    say = progress or (lambda _msg: None)
    started = time.monotonic()
    if not files:
        raise LoadError("no loadable files found (expected .parquet, .csv, .csv.gz, .gz, .zip)")
    check_one_format(files)
    fingerprint = delivery_fingerprint(sorted(f.fingerprint for f in files))
    if not force and (prior := prior_load(con, spec, export_name, fingerprint)):
        return LoadResult(spec.source, prior, export_name, len(files), 0, 0.0, True)

    load_id = new_load_id()
    loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    table_cols = ", ".join(quote_ident(c) for c in spec.column_names)
    lineage = ", ".join(name for name, _ in LINEAGE_COLUMNS)
    rows = 0
    reconciled: list[tuple[str, int, float | None]] = []
    lacking: dict[str, list[str]] = {}
    header_notices: list[str] = []
    # DDL is transactional in DuckDB, so a failed first load leaves no empty table behind.
    # Every raw table, not only this source's: dbt can build whichever sources were loaded.
    registry.ensure_all_tables(con)
    with expanded(files) as real_files:
        for n, f in enumerate(real_files, 1):
            sources = describe(con, spec, f)
            file_lacks, file_notices = check_header_names(spec, f, sources)
            for col in file_lacks:
                lacking.setdefault(col.name, []).append(f.display)
            header_notices.extend(file_notices)
            call, read_params, row_expr = _reader(spec, f)
            exprs, inner, params, header_of, billed = build_select(spec, f, sources, row_expr)
            parsed_once = "".join(f", {e}" for e in inner)
            account = (
                f"COALESCE(CAST({quote_ident(spec.account_column)} AS VARCHAR), '')"
                if spec.account_column
                else "''"
            )
            period = (
                f"CAST(date_trunc('{spec.period_grain}', {quote_ident(spec.period_column)})"
                " AS DATE)"
                if spec.period_column and spec.period_grain != "all"
                else "DATE '1970-01-01'"
            )
            where = ""
            if spec.skip_row and spec.skip_row[0] in {n for n, _ in sources}:
                where = (
                    "WHERE NOT starts_with(COALESCE(CAST("
                    f"{quote_ident(spec.skip_row[0])} AS VARCHAR), ''), "
                    f"'{spec.skip_row[1]}')"
                )
            sql = f"""
                INSERT INTO {spec.table} ({table_cols}, {lineage})
                SELECT {table_cols},
                    ?, ?, _source_row, ?, ?,
                    {account},
                    {period},
                    false, 1, CAST(NULL AS DATE)
                FROM (
                    SELECT {", ".join(exprs)}, {row_expr} AS _source_row
                    FROM (SELECT *{parsed_once} FROM (SELECT * FROM {call} {where}))
                ) AS projected (
                    {", ".join(quote_ident(c) for c in spec.column_names)}, _source_row
                )
            """
            try:
                with _progress_watch(con, f.display, say):
                    got = con.execute(
                        sql, [load_id, f.display, loaded_at, export_name, *params, *read_params]
                    ).fetchone()
            except duckdb.Error as exc:
                raise explain_error(exc, f, header_of) from None
            landed = int(got[0]) if got else 0
            if landed == 0:
                raise LoadError(f"{f.display}: file has a header but no data rows")
            rows += landed
            reconciled.append(
                _reconcile(con, spec, f, f"{call} {where}", read_params, billed, load_id)
            )
            say(f"[{n}/{len(real_files)}] {f.display}: {landed:,} rows")
    _set_load_values(con, spec, load_id, load_values)
    _validate(con, spec, load_id, allow_currencies)
    notices = check_line_identity(con, spec, load_id)
    superseded = supersede_or_refuse(con, spec, load_id, export_name, guards)
    partitions = apply_partitions(con, spec, load_id, export_name, loaded_at, guards)
    _set_load_values(con, spec, load_id, load_values)  # the correction rows it appended
    record_load(
        con,
        spec,
        load_id,
        export_name,
        fingerprint,
        [f.display for f in files],
        rows,
        loaded_at,
        partitions,
    )
    totals = []
    if spec.currency_column and spec.billed_column:
        totals = con.execute(
            f"""
            SELECT _billing_period, upper(trim({quote_ident(spec.currency_column)})),
                   CAST(SUM({quote_ident(spec.billed_column)} * _correction_sign) AS DOUBLE)
            FROM {spec.table} WHERE _load_id = ? GROUP BY ALL ORDER BY ALL
            """,
            [load_id],
        ).fetchall()
    return LoadResult(
        spec.source,
        load_id,
        export_name,
        len(files),
        rows,
        time.monotonic() - started,
        partitions=partitions,
        totals=[(t[0], t[1], t[2] or 0.0) for t in totals],
        period_grain=spec.period_grain,
        key_label="account" if spec.period_grain == "month" else (spec.account_column or "-"),
        reconciled=reconciled,
        superseded=superseded,
        notices=header_notices + notices,
        warnings=missing_column_warnings(spec, lacking),
    )


@contextmanager
def _progress_watch(
    con: duckdb.DuckDBPyConnection, what: str, say: Callable[[str], None], every: float = 5.0
) -> Iterator[None]:
    """Report DuckDB's own progress on a long statement (one big file) every few seconds."""
    done = threading.Event()

    def watch() -> None:
        started = time.monotonic()
        while not done.wait(every):
            try:
                pct = con.query_progress()
            except duckdb.Error:
                return
            if pct >= 0:
                say(f"    {what}: {pct:.0f}% after {time.monotonic() - started:.0f} s")

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def stderr_progress(msg: str) -> None:
    """Progress lines go to stderr so stdout stays a clean summary."""
    print(msg, file=sys.stderr, flush=True)


def load_path(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    path: Path,
    *,
    export_name: str,
    force: bool = False,
    allow_currencies: Sequence[str] = (),
    fingerprint: Callable[[Path], str] = file_fingerprint,
    display_root: str | None = None,
    progress: Callable[[str], None] | None = None,
    guards: Guards = DEFAULT_GUARDS,
) -> LoadResult:
    """Load every file below ``path`` as one delivery (sources without manifests)."""
    return run_load(
        con,
        spec,
        source_files(path, fingerprint, display_root, progress),
        export_name=export_name,
        force=force,
        allow_currencies=allow_currencies,
        progress=progress,
        guards=guards,
    )
