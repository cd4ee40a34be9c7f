"""The warehouse connection, the raw tables, and the one transaction a load runs in."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from ingest.load.spec import (
    DEFAULT_DB_ENV,
    DEFAULT_DB_PATH,
    LINEAGE_COLUMNS,
    LoadError,
    TableSpec,
    error_line,
    quote_ident,
)

# --------------------------------------------------------------------------- connections


def database_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The DuckDB file: ``--db``, else ``$COST_MODEL_DB``, else the project default."""
    return Path(explicit or os.environ.get(DEFAULT_DB_ENV) or DEFAULT_DB_PATH)


def connect(
    path: str | os.PathLike[str] | None = None,
    *,
    wait: float = 0.0,
    progress: Callable[[str], None] | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse read-write.

    DuckDB allows one writing process per file. If another process (a load, a ``dbt build``)
    holds it, wait up to ``wait`` seconds for it, then fail with a clear message.
    """
    db = database_path(path)
    db.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    told = False
    while True:
        try:
            con = duckdb.connect(str(db))
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise LoadError(f"{db}: cannot open database: {error_line(exc)}") from None
            if time.monotonic() >= deadline:
                hint = "" if wait else " (or pass --wait SECONDS)"
                raise LoadError(
                    f"{db}: the database is in use by another process{lock_holder(str(exc))} "
                    f"(a load, a dbt build or a BI tool); wait for it to finish and retry{hint}"
                ) from None
            if progress and not told:
                progress(f"{db}: in use by another process; waiting up to {wait:.0f} s")
                told = True
            time.sleep(0.5)
    con.execute("SET TimeZone = 'UTC'")
    # The same memory cap as dbt's profile (COST_MODEL_MEMORY_LIMIT), so a load of a bill larger
    # than memory spills to disk like the build does instead of taking 80 % of the machine.
    limit = os.environ.get("COST_MODEL_MEMORY_LIMIT")
    if limit:
        con.execute("SET memory_limit = ?", [limit])
    # As in dbt's profile. Every landed row carries its own _source_row, so nothing needs the
    # file's order kept; keeping it leaves many part-filled row groups that DuckDB merges when
    # the connection closes: 9 s of a 35 s load of 10 M query_log rows, spent after the commit.
    con.execute("SET preserve_insertion_order = false")
    # Track progress for our own progress lines, but never let DuckDB draw on stdout.
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    return con


_LOCK_PID = re.compile(r"Conflicting lock is held in .*?\(PID (\d+)\)")


def lock_holder(duckdb_message: str) -> str:
    """`` (PID 123)`` from DuckDB's lock error, naming who holds the file; else empty."""
    m = _LOCK_PID.search(duckdb_message)
    return f" (PID {m.group(1)})" if m else ""


def ensure_tables(con: duckdb.DuckDBPyConnection, spec: TableSpec) -> None:
    """Create the raw schema, the spec's table and the load registry if missing.

    A table created by an older version of the project gains the columns added since
    (nullable: the rows loaded before have NULL there), so upgrading never needs the
    warehouse rebuilt or a load replayed.
    """
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    cols = [(c.name, c.type) for c in spec.columns]
    cols += [(m.name, m.sql_type) for m in spec.maps]
    cols += list(LINEAGE_COLUMNS)
    cols += [(name, "VARCHAR") for name in spec.load_columns]
    column_sql = ", ".join(f"{quote_ident(name)} {typ}" for name, typ in cols)
    con.execute(f"CREATE TABLE IF NOT EXISTS {spec.table} ({column_sql})")
    schema, table = spec.table.split(".")
    present = {
        name.lower()
        for (name,) in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
            [schema, table],
        ).fetchall()
    }
    for name, typ in cols:
        if name.lower() not in present:
            con.execute(f"ALTER TABLE {spec.table} ADD COLUMN {quote_ident(name)} {typ}")
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS raw._loads (
            load_id VARCHAR PRIMARY KEY,
            source VARCHAR NOT NULL,
            export_name VARCHAR NOT NULL,
            fingerprint VARCHAR NOT NULL,
            files JSON NOT NULL,
            row_count BIGINT NOT NULL,
            started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP NOT NULL
        )
        """
    )
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS raw._load_partitions (
            load_id VARCHAR NOT NULL,
            source VARCHAR NOT NULL,
            export_name VARCHAR NOT NULL,
            billing_account_id VARCHAR NOT NULL,
            billing_period DATE NOT NULL,
            action VARCHAR NOT NULL,
            row_count BIGINT NOT NULL
        )
        """
    )


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One command, one transaction: any error, at any file or at COMMIT, leaves the database
    exactly as it was."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        rollback_quietly(con)
        raise
    try:
        commit(con)
    except BaseException:
        rollback_quietly(con)
        raise


def commit(con: duckdb.DuckDBPyConnection) -> None:
    """COMMIT the load; a write that fails there (disk full) is a LoadError naming the
    database, and DuckDB has written nothing."""
    found = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    db = found[0] if found and found[0] else "the database"
    try:
        con.execute("COMMIT")
    except duckdb.IOException as exc:
        text = str(exc)
        full = "No space left on device" in text
        why = "No space left on device" if full else error_line(exc)
        todo = "Free disk space and retry" if full else "Check the disk and retry"
        raise LoadError(
            f"{db}: the load could not be committed: {why}; nothing was written. {todo}"
        ) from None


def rollback_quietly(con: duckdb.DuckDBPyConnection) -> None:
    """ROLLBACK after an error. A failed COMMIT has already ended the transaction, and
    DuckDB's "no transaction is active" must not replace the error that says why."""
    try:
        con.execute("ROLLBACK")
    except duckdb.Error as exc:
        if "no transaction is active" not in str(exc):
            raise
