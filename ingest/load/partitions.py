"""Partition replacement and the load registry (raw._loads: the same files load once),
closed periods corrected instead of rewritten."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence

import duckdb

from ingest.currencies import ISO_4217
from ingest.load.projection import _NUMERIC
from ingest.load.spec import (
    DEFAULT_GUARDS,
    LINEAGE_COLUMNS,
    Guards,
    LoadError,
    PartitionResult,
    TableSpec,
    quote_ident,
)


def delivery_fingerprint(parts: Sequence[str]) -> str:
    """One delivery's identity: the hash of its files' fingerprints (and any load options)."""
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def new_load_id() -> str:
    """A load id that sorts by time and never repeats."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def prior_load(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, export_name: str, fingerprint: str
) -> str | None:
    """The last load of an identical delivery (source, export, fingerprint), if its rows are
    still the ones in the table: loading the delivery again is then a no-op."""
    schema, table = spec.table.split(".")
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = ? AND table_name IN ('_loads', ?)",
        [schema, table],
    ).fetchone()
    if not found or found[0] < 2:
        return None
    prior = con.execute(
        "SELECT load_id, row_count, finished_at FROM raw._loads WHERE source = ? "
        "AND export_name = ? AND fingerprint = ? ORDER BY finished_at DESC LIMIT 1",
        [spec.source, export_name, fingerprint],
    ).fetchone()
    if not prior:
        return None
    # A closed month keeps its first load's rows and gains corrections, so "the rows are still
    # there" is not enough: a later load of the same partitions (A, then B, then A again) means
    # the table now says B and A must be diffed in again.
    later = con.execute(
        """
        SELECT count(*) FROM raw._load_partitions AS mine
        INNER JOIN raw._load_partitions AS later
            ON later.source = mine.source AND later.export_name = mine.export_name
            AND later.billing_account_id = mine.billing_account_id
            AND later.billing_period = mine.billing_period
        INNER JOIN raw._loads AS l ON l.load_id = later.load_id
        WHERE mine.load_id = ? AND later.load_id <> ? AND l.finished_at > ?
        """,
        [prior[0], prior[0], prior[2]],
    ).fetchone()
    if later and later[0]:
        return None
    landed = con.execute(
        f"SELECT count(*) FROM {spec.table} WHERE _load_id = ?", [prior[0]]
    ).fetchone()
    # A delivery holding a closed month lands only that month's corrections (none when it is
    # unchanged), so the rows it landed are its partitions' rows, not the rows it read.
    kept = con.execute(
        "SELECT sum(row_count) FROM raw._load_partitions WHERE load_id = ?", [prior[0]]
    ).fetchone()
    expected = prior[1] if not kept or kept[0] is None else kept[0]
    return str(prior[0]) if landed and landed[0] == expected else None


def _validate(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    load_id: str,
    allow_currencies: Sequence[str],
) -> None:
    """Row-level checks a type cast cannot make: required values present, currency known."""
    allowed = sorted(ISO_4217 | {c.upper() for c in allow_currencies})
    checks: list[tuple[str, str, str, list[object]]] = []
    if spec.currency_column:
        cur = quote_ident(spec.currency_column)
        # A line of cost 0 may leave its currency blank (OCI writes such lines).
        free = (
            f" AND NOT (NULLIF(TRIM({cur}), '') IS NULL AND "
            f"COALESCE({quote_ident(spec.billed_column)}, 0) = 0)"
            if spec.billed_column
            else ""
        )
        checks.append(
            (
                f"({cur} IS NULL OR upper(trim({cur})) NOT IN (SELECT unnest(?::VARCHAR[])))"
                + free,
                f"column {spec.currency_column!r}: unknown or missing currency",
                cur,
                [allowed],
            )
        )
    for col in spec.columns:
        if col.required:
            q = quote_ident(col.name)
            checks.append((f"{q} IS NULL", f"column {col.name!r}: value is missing", q, []))
    for where, what, value, params in checks:
        bad = con.execute(
            f"SELECT _source_file, _source_row, CAST({value} AS VARCHAR) FROM {spec.table} "
            f"WHERE _load_id = ? AND ({where}) ORDER BY _source_file, _source_row LIMIT 1",
            [load_id, *params],
        ).fetchone()
        if bad:
            shown = "" if bad[2] is None else f" ({bad[2][:40]!r})"
            raise LoadError(f"{bad[0]}: row {bad[1]}, {what}{shown}")


def apply_partitions(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    load_id: str,
    export_name: str,
    loaded_at: dt.datetime,
    guards: Guards = DEFAULT_GUARDS,
) -> list[PartitionResult]:
    """Replace open partitions (one set-based DELETE); diff closed ones into corrections.

    A delivery much smaller than the partition it replaces (rows or gross cost below
    ``guards.shrink_limit``) is refused unless ``guards.allow_shrink``: it is far more often
    part of a delivery (a file missing, half a month loaded on its own) than a real restatement.
    """
    invoice = (
        f"COALESCE(CAST({quote_ident(spec.invoice_column)} AS VARCHAR), '') <> ''"
        if spec.invoice_column
        else "false"
    )
    # A snapshot (e.g. the customer list) is one list, whoever exported it.
    snapshot = spec.period_grain == "all"
    same_partition = (
        "true"
        if snapshot
        else "o._export_name = n._export_name AND o._billing_account_id = n._billing_account_id "
        "AND o._billing_period = n._billing_period"
    )
    # Gross cost (Σ |cost|) measures a delivery's size; credits cannot cancel it out.
    gross = f"abs({{}}{quote_ident(spec.billed_column)})" if spec.billed_column else "NULL"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _partitions AS
        WITH n AS (
            SELECT _export_name, _billing_account_id, _billing_period, count(*) AS new_rows,
                   sum({gross.replace("{}", "")}) AS new_gross
            FROM {spec.table} WHERE _load_id = ? GROUP BY ALL
        )
        SELECT n._export_name, n._billing_account_id, n._billing_period, n.new_rows,
               any_value(n.new_gross) AS new_gross,
               count(o._load_id) AS old_rows,
               sum({gross.replace("{}", "o.")} * o._correction_sign) AS old_gross,
               max(o._load_id) AS old_load,
               count(o._load_id) FILTER (WHERE NOT o._is_correction AND {invoice}) AS closed_rows
        FROM n
        LEFT JOIN {spec.table} AS o ON {same_partition} AND o._load_id <> ?
        GROUP BY n._export_name, n._billing_account_id, n._billing_period, n.new_rows
        """,
        [load_id, load_id],
    )
    if not guards.allow_shrink:
        shrunk = con.execute(
            """
            SELECT _billing_account_id, _billing_period, new_rows, new_gross, old_rows,
                   old_gross, old_load
            FROM _partitions
            WHERE old_rows > 0 AND closed_rows = 0
              AND (new_rows < ? * old_rows OR coalesce(new_gross, 0) < ? * old_gross)
            ORDER BY ALL LIMIT 1
            """,
            [guards.shrink_limit, guards.shrink_limit],
        ).fetchone()
        if shrunk:
            account, period, new_rows, new_gross, old_rows, old_gross, old_load = shrunk
            raise LoadError(
                f"{partition_label(spec, account, period)}: this delivery has {new_rows:,} rows"
                f"{_gross(new_gross)} where the loaded one (load {old_load}) has {old_rows:,}"
                f"{_gross(old_gross)}; replacing it would remove "
                f"{max(old_rows - new_rows, 0):,} rows{_gross(_minus(old_gross, new_gross))}. "
                "A delivery this much smaller is usually part of one (a file missing, a "
                "download cut short): load the whole delivery, or rerun with --allow-shrink "
                "if the smaller one is right"
            )
    con.execute(
        f"""
        DELETE FROM {spec.table} AS o
        WHERE o._load_id <> ? AND EXISTS (
            SELECT 1 FROM _partitions AS n
            WHERE n.old_rows > 0 AND n.closed_rows = 0 AND {same_partition}
        )
        """,
        [load_id],
    )
    parts = con.execute(
        "SELECT _billing_account_id, _billing_period, new_rows, old_rows, closed_rows "
        "FROM _partitions ORDER BY ALL"
    ).fetchall()
    con.execute("DROP TABLE _partitions")
    key = "_export_name = ? AND _billing_account_id = ? AND _billing_period = ?"
    results: list[PartitionResult] = []
    for account, period, new_rows, old_rows, closed_rows in parts:
        if old_rows == 0:
            results.append(PartitionResult(account, period, "inserted", new_rows))
        elif closed_rows == 0:
            results.append(PartitionResult(account, period, "replaced", new_rows))
        else:
            args = [export_name, account, period]
            n = _correct_closed(con, spec, load_id, args, key, loaded_at, guards)
            action = "closed: unchanged" if n == 0 else "closed: corrections appended"
            results.append(PartitionResult(account, period, action, n))
    return results


def _set_load_values(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    load_id: str,
    values: Mapping[str, str] | None,
) -> None:
    """Write the load's per-load columns on its rows that lack them."""
    for name in spec.load_columns:
        if values and name in values:
            con.execute(
                f"UPDATE {spec.table} SET {quote_ident(name)} = ? "
                f"WHERE _load_id = ? AND {quote_ident(name)} IS NULL",
                [values[name], load_id],
            )


def partition_label(spec: TableSpec, key: object, period: dt.date) -> str:
    """How a user names one partition: ``2026-08 account 123``, ``2026-08-01 metric x``."""
    if spec.period_grain == "all":
        return "the snapshot"
    shown = f"{period:%Y-%m-%d}" if spec.period_grain == "day" else f"{period:%Y-%m}"
    if spec.period_grain == "month" and spec.account_column and spec.is_bill:
        return f"{shown} account {key or '(none)'}"
    return f"{shown} {spec.account_column} {key!r}" if spec.account_column else shown


def _gross(value: object) -> str:
    return "" if value is None else f" (gross cost {float(value):,.2f})"  # type: ignore[arg-type]


def _minus(a: object, b: object) -> float | None:
    return None if a is None else float(a) - float(b or 0)  # type: ignore[arg-type]


def _correct_closed(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    load_id: str,
    args: list[object],
    key: str,
    loaded_at: dt.datetime,
    guards: Guards = DEFAULT_GUARDS,
) -> int:
    """Append the multiset difference between a new delivery and a closed partition.

    The current state of the partition is its original rows plus earlier corrections
    (additions) minus removals. Lines only in the new delivery are added; lines only in the
    current state are removed with ``_correction_sign = -1``. Both are booked to the month the
    correction arrived, so the closed invoice's total never changes.
    """
    cols = ", ".join(quote_ident(c) for c in spec.column_names)
    lineage = ", ".join(name for name, _ in LINEAGE_COLUMNS)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _current AS
        SELECT {cols} FROM {spec.table}
        WHERE {key} AND _load_id <> ? AND _correction_sign = 1
        EXCEPT ALL
        SELECT {cols} FROM {spec.table}
        WHERE {key} AND _load_id <> ? AND _correction_sign = -1
        """,
        [*args, load_id, *args, load_id],
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _delivered AS
        SELECT {cols} FROM {spec.table}
        WHERE {key} AND _load_id = ?
        """,
        [*args, load_id],
    )
    con.execute(f"DELETE FROM {spec.table} WHERE {key} AND _load_id = ?", [*args, load_id])
    correction_period = loaded_at.date().replace(day=1)
    export_name, account, period = args
    if not guards.allow_shrink:
        # A closed month's restatement adds a refund or a late fee, or re-rates lines; one
        # whose lines mostly vanish is another part of the month (half a month loaded on its
        # own). A line is matched on what it is (ids, dates, service, resource: the text and
        # time columns), not on its money, which a re-rating changes, nor its tags, which AWS
        # backfills.
        what = ", ".join(
            quote_ident(c.name) for c in spec.columns if not c.type.upper().startswith(_NUMERIC)
        )
        current, removing = con.execute(
            f"SELECT (SELECT count(*) FROM _current), count(*) FROM "
            f"(SELECT {what} FROM _current EXCEPT ALL SELECT {what} FROM _delivered)"
        ).fetchone() or (0, 0)
        if current and removing > (1 - guards.shrink_limit) * current:
            raise LoadError(
                f"{partition_label(spec, account, period)} is closed (invoiced), and this "
                f"delivery would remove {removing:,} of its {current:,} lines as corrections. A "
                "restatement of a closed month keeps most lines (it may re-rate them): is this "
                "only part of the "
                "month? Load all of the month's files together, or rerun with --allow-shrink "
                "if the lines really went away"
            )
    added = con.execute(
        f"""
        INSERT INTO {spec.table} ({cols}, {lineage})
        SELECT {cols}, ?, '(correction of closed period)', row_number() OVER (), ?, ?, ?, ?, true, 1, ?
        FROM (SELECT {cols} FROM _delivered EXCEPT ALL SELECT {cols} FROM _current)
        """,
        [load_id, loaded_at, export_name, account, period, correction_period],
    ).fetchone()
    removed = con.execute(
        f"""
        INSERT INTO {spec.table} ({cols}, {lineage})
        SELECT {cols}, ?, '(correction of closed period)', row_number() OVER () + 1000000000, ?, ?, ?, ?, true, -1, ?
        FROM (SELECT {cols} FROM _current EXCEPT ALL SELECT {cols} FROM _delivered)
        """,
        [load_id, loaded_at, export_name, account, period, correction_period],
    ).fetchone()
    con.execute("DROP TABLE _current")
    con.execute("DROP TABLE _delivered")
    return int(added[0] if added else 0) + int(removed[0] if removed else 0)


def record_load(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    load_id: str,
    export_name: str,
    fingerprint: str,
    displays: Sequence[str],
    rows: int,
    loaded_at: dt.datetime,
    partitions: Sequence[PartitionResult] = (),
) -> None:
    """Register a load and the partitions it touched (raw._loads, raw._load_partitions), inside
    the load's transaction: the registry is what makes a reload of the same files a no-op."""
    con.execute(
        "INSERT INTO raw._loads VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            load_id,
            spec.source,
            export_name,
            fingerprint,
            json.dumps(list(displays)),
            rows,
            loaded_at,
            dt.datetime.now(dt.UTC).replace(tzinfo=None),
        ],
    )
    for p in partitions:
        con.execute(
            "INSERT INTO raw._load_partitions VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                load_id,
                spec.source,
                export_name,
                p.billing_account_id,
                p.billing_period,
                p.action,
                p.rows,
            ],
        )
