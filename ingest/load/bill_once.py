"""Counted once: one bill (provider × billing account × billing period) comes from one
delivery, whichever registered source brought it."""

from __future__ import annotations

import duckdb

from ingest import registry
from ingest.load.spec import Guards, LoadError, TableSpec, quote_ident

# --------------------------------------------------------------------------- counted once


def bill_specs() -> list[TableSpec]:
    """Every source whose rows are bill lines: one bill may arrive through any of them."""
    return [spec for spec in registry.all_specs() if spec.is_bill]


def provider_sql(spec: TableSpec, alias: str = "") -> str:
    """The cloud of a bill table's row, normalised (FOCUS writes 'AWS', 'Amazon Web Services',
    'Microsoft', 'Google Cloud', 'Oracle' …), so a CUR and a FOCUS export of one account meet."""
    if spec.provider:
        return f"'{spec.provider}'"
    col = f"lower(trim(CAST({alias}{quote_ident(spec.provider_column or '')} AS VARCHAR)))"
    return (
        f"CASE WHEN {col} IN ('aws', 'amazon', 'amazon web services') THEN 'aws' "
        f"WHEN {col} LIKE 'microsoft%' OR {col} LIKE 'azure%' THEN 'azure' "
        f"WHEN {col} LIKE 'google%' OR {col} = 'gcp' THEN 'gcp' "
        f"WHEN {col} LIKE 'oracle%' OR {col} = 'oci' THEN 'oci' ELSE {col} END"
    )


def check_line_identity(con: duckdb.DuckDBPyConnection, spec: TableSpec, load_id: str) -> list[str]:
    """Each line of a delivery once. A line twice is a copy (a re-downloaded file beside the
    original, month-to-date snapshots side by side, repeated rows), never more cost.

    A line is its ``spec.line_id`` (CUR: line item id + time interval): one twice is an error,
    and so is a usage or revenue row repeated in every column.
    A bill line without an id is a fingerprint of every column: the same fingerprint in two
    files is an error (a file and its copy); twice within one file it is kept, with a notice,
    because real exports without line ids do repeat lines (a FOCUS converter's output does).
    One hash per row and one distinct count: the check costs one pass over the delivery; the
    rows it names are then compared for real. Returns the notices for the summary.
    """
    if not (spec.line_id or spec.is_bill or spec.natural_key):
        return []
    every = ", ".join(quote_ident(c) for c in spec.column_names)
    # A line id is unique within its bill (account × period): two accounts' bills may reuse one.
    ids = ", ".join(
        ["_billing_account_id", "_billing_period"] + [quote_ident(c) for c in spec.line_id]
    )
    # A usage or revenue row repeated in every column is a slip (a file concatenated twice):
    # it would double a driver or a revenue line, so it is an error like a repeated line id.
    has_id = "true" if not spec.is_bill else "false"
    if spec.line_id and spec.is_bill:
        has_id = f"{quote_ident(spec.line_id[0])} IS NOT NULL"
    if not spec.line_id:
        key = f"hash({every})"
    elif spec.is_bill:
        key = f"CASE WHEN {has_id} THEN hash({ids}) ELSE hash({every}) END"
    else:
        key = f"hash({ids})"
    # The common case, no line twice, costs one hash aggregate (≈1 s per 3 M lines); which
    # repeats are errors and which are notices is worked out only when there are any.
    any_repeat = con.execute(
        f"SELECT count(*) > count(DISTINCT {key}) FROM {spec.table} WHERE _load_id = ?",
        [load_id],
    ).fetchone()
    if not any_repeat or not any_repeat[0]:
        return []
    found = con.execute(
        f"""
        WITH lines AS (
            SELECT {key} AS k, {has_id} AS has_id, _source_file FROM {spec.table}
            WHERE _load_id = ?
        ),
        repeated AS (
            SELECT k, bool_or(has_id) AS has_id, count(*) AS n,
                   min(_source_file) <> max(_source_file) AS across_files
            FROM lines GROUP BY k HAVING count(*) > 1
        )
        SELECT (SELECT k FROM repeated WHERE has_id OR across_files LIMIT 1),
               (SELECT sum(n - 1) FROM repeated WHERE NOT has_id AND NOT across_files)
        """,
        [load_id],
    ).fetchone()
    dup, kept = found or (None, None)
    notices = []
    if kept:
        notices.append(
            f"{int(kept):,} line(s) without a line id repeat another line of the same file in "
            "every column: kept as delivered (exports without line ids can hold such lines)"
        )
    if dup is None:
        return notices
    shown = ", ".join(f"CAST({quote_ident(c)} AS VARCHAR)" for c in spec.line_id) or "NULL"
    pair = con.execute(
        f"SELECT _source_file, _source_row, [{shown}], CAST(row({every}) AS VARCHAR) "
        f"FROM {spec.table} WHERE _load_id = ? AND {key} = ? ORDER BY _source_file, _source_row "
        "LIMIT 2",
        [load_id, dup],
    ).fetchall()
    (file_a, row_a, ids_a, all_a), (file_b, row_b, ids_b, all_b) = pair
    if spec.line_id and ids_a[0] is not None:
        if ids_a != ids_b:
            return notices  # two different lines whose 64-bit hashes collide
        what = ", ".join(f"{c} {v!r}" for c, v in zip(spec.line_id, ids_a, strict=True))
    else:
        if all_a != all_b:
            return notices
        what = "identical in every column"
    where = (
        f"{file_a} rows {row_a} and {row_b}"
        if file_a == file_b
        else f"{file_a} row {row_a} and {file_b} row {row_b}"
    )
    raise LoadError(
        f"{where}: the same line ({what}) is in this delivery twice: a file beside its copy, "
        "month-to-date snapshots side by side, or repeated rows. Deliver each line once (one "
        "snapshot, or the export folder with its manifest); nothing was loaded"
    )


def supersede_or_refuse(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    load_id: str,
    export_name: str,
    guards: Guards,
) -> list[str]:
    """Count each bill (and each usage fact) once, whatever export, format or path it came by.

    A bill is a provider × billing account × billing period. If another delivery (another
    export name, or another source: CUR and FOCUS of one account) already holds it, the load is
    refused, naming that delivery, unless ``guards.replace``: then this delivery becomes the
    bill's source of record and the other's lines for it are removed. Returns what was
    removed, for the summary.
    """
    if spec.is_bill:
        return _bill_once(con, spec, load_id, export_name, guards)
    if spec.natural_key and spec.period_grain != "all":
        return _facts_once(con, spec, load_id, export_name, guards)
    return []


def _other_deliveries(
    spec: TableSpec, other: TableSpec, load_id: str, export_name: str
) -> tuple[str, list[object]]:
    """SQL (and its parameters) matching the rows ``o`` of ``other``'s table that belong to a
    bill in ``_bills`` but to another delivery than this load: another source, or another
    export of the same one (of the same kind, where a source has complementary kinds)."""
    same = other.table == spec.table
    where = (
        f"o._load_id <> ? {'AND o._export_name <> ?' if same else ''} AND EXISTS ("
        "SELECT 1 FROM _bills AS b WHERE o._billing_account_id = b.account "
        f"AND o._billing_period = b.period AND {provider_sql(other, 'o.')} = b.provider"
    )
    if same and spec.basis_column:
        where += (
            f" AND coalesce(o.{quote_ident(spec.basis_column)}, '{spec.basis_default}') = b.basis"
        )
    return where + ")", [load_id, export_name] if same else [load_id]


def _bill_once(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    load_id: str,
    export_name: str,
    guards: Guards,
) -> list[str]:
    basis = quote_ident(spec.basis_column) if spec.basis_column else "NULL"
    gross = f"abs({quote_ident(spec.billed_column)})" if spec.billed_column else "0"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _bills AS
        SELECT {provider_sql(spec)} AS provider, _billing_account_id AS account,
               _billing_period AS period, {basis} AS basis, count(*) AS new_rows,
               sum({gross}) AS new_gross
        FROM {spec.table} WHERE _load_id = ? GROUP BY ALL
        """,
        [load_id],
    )
    found: list[tuple[TableSpec, tuple[object, ...]]] = []
    for other in bill_specs():
        other_gross = f"abs(o.{quote_ident(other.billed_column)})" if other.billed_column else "0"
        where, params = _other_deliveries(spec, other, load_id, export_name)
        rows = con.execute(
            f"""
            SELECT {provider_sql(other, "o.")}, o._billing_account_id, o._billing_period,
                   o._export_name, max(o._load_id), count(*), min(o._source_file),
                   sum({other_gross} * o._correction_sign)
            FROM {other.table} AS o
            WHERE {where}
            GROUP BY ALL ORDER BY ALL
            """,
            params,
        ).fetchall()
        found += [(other, r) for r in rows]
    if not found:
        con.execute("DROP TABLE _bills")
        return []
    other, (provider, account, period, other_export, other_load, n, example, _) = found[0]
    more = f" (and {len(found) - 1} more account × period)" if len(found) > 1 else ""
    if not guards.replace:
        raise LoadError(
            f"{str(provider).upper()} billing account {account or '(none)'}, billing period "
            f"{period:%Y-%m} is already loaded from {other.source} export {other_export!r} "
            f"(load {other_load}, {n:,} lines, e.g. {example}){more}. Loading it again from "
            f"{spec.source} export {export_name!r} would count that bill twice. If this "
            "delivery should count instead, rerun with --replace; `python -m ingest bills` "
            "lists which delivery counts for each account and period"
        )
    removed = []
    for other, (provider, account, period, other_export, other_load, n, _, old) in found:
        new_n, new = con.execute(
            "SELECT new_rows, new_gross FROM _bills "
            "WHERE provider = ? AND account = ? AND period = ?",
            [provider, account, period],
        ).fetchone() or (0, 0)
        if not guards.allow_shrink and old and (new or 0) < guards.shrink_limit * float(old):
            raise LoadError(
                f"{str(provider).upper()} billing account {account}, billing period "
                f"{period:%Y-%m}: this delivery's gross cost {new or 0:,.2f} ({new_n:,} lines) "
                f"is less than {guards.shrink_limit:.0%} of the {float(old):,.2f} ({n:,} lines) "
                f"it would replace from {other.source} export {other_export!r}. Is it only part "
                "of the bill? Load the whole delivery, or add --allow-shrink if it is right"
            )
        removed.append(
            f"{other.source} export {other_export!r}: {str(provider).upper()} {period:%Y-%m} "
            f"account {account} ({n:,} lines, load {other_load})"
        )
    for other in bill_specs():
        where, params = _other_deliveries(spec, other, load_id, export_name)
        con.execute(f"DELETE FROM {other.table} AS o WHERE {where}", params)
    con.execute("DROP TABLE _bills")
    return removed


def _facts_once(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    load_id: str,
    export_name: str,
    guards: Guards,
) -> list[str]:
    """A usage fact (metric × day × product × customer × feature, a revenue line, a query)
    delivered by two exports would be counted twice: refuse, or with ``guards.replace`` take
    the other export's (key, period) partitions over."""
    keys = ", ".join(f"{{}}.{quote_ident(c)}" for c in spec.natural_key)
    new_key, old_key = keys.replace("{}", "n"), keys.replace("{}", "o")
    same_values = " AND ".join(
        f"n.{quote_ident(c)} IS NOT DISTINCT FROM o.{quote_ident(c)}" for c in spec.natural_key
    )
    hit = con.execute(
        f"""
        SELECT n._source_file, n._source_row, o._export_name, o._load_id, o._source_file,
               o._source_row, [{", ".join(f"CAST(n.{quote_ident(c)} AS VARCHAR)" for c in spec.natural_key)}]
        FROM (SELECT *, hash({new_key}) AS _k FROM {spec.table} AS n WHERE _load_id = ?) AS n
        INNER JOIN (
            SELECT *, hash({old_key}) AS _k FROM {spec.table} AS o
            WHERE _load_id <> ? AND _export_name <> ?
        ) AS o
            ON n._k = o._k AND n._billing_account_id = o._billing_account_id
            AND n._billing_period = o._billing_period
        WHERE {same_values}
        ORDER BY n._source_file, n._source_row
        LIMIT 1
        """,
        [load_id, load_id, export_name],
    ).fetchone()
    if not hit:
        return []
    new_file, new_row, other_export, other_load, old_file, old_row, values = hit
    what = ", ".join(f"{c} {v!r}" for c, v in zip(spec.natural_key, values, strict=True))
    if not guards.replace:
        raise LoadError(
            f"{new_file} row {new_row}: {what} is already loaded from export {other_export!r} "
            f"({old_file} row {old_row}, load {other_load}); loading it again from export "
            f"{export_name!r} would count it twice. Load a re-export under the same --export "
            "name (it then replaces those days), or rerun with --replace to make this delivery "
            "count instead"
        )
    removed = con.execute(
        f"""
        DELETE FROM {spec.table} AS o
        WHERE o._load_id <> ? AND o._export_name <> ? AND EXISTS (
            SELECT 1 FROM {spec.table} AS n
            WHERE n._load_id = ? AND n._billing_account_id = o._billing_account_id
            AND n._billing_period = o._billing_period
        )
        """,
        [load_id, export_name, load_id],
    ).fetchone()
    return [f"export {other_export!r}: {int(removed[0]) if removed else 0:,} rows"]


def bill_sources(con: duckdb.DuckDBPyConnection) -> list[dict[str, object]]:
    """Which delivery counts for each provider × billing account × billing period × currency:
    its source, export, newest load, lines and billed total (``python -m ingest bills``)."""
    registry.ensure_all_tables(con)
    parts = []
    for spec in bill_specs():
        currency = (
            f"upper(trim(CAST({quote_ident(spec.currency_column)} AS VARCHAR)))"
            if spec.currency_column
            else "NULL"
        )
        billed = (
            f"sum({quote_ident(spec.billed_column)} * _correction_sign)"
            if spec.billed_column
            else "NULL"
        )
        basis = quote_ident(spec.basis_column) if spec.basis_column else "NULL"
        parts.append(
            f"""
            SELECT {provider_sql(spec)} AS provider, _billing_account_id AS billing_account_id,
                   _billing_period AS billing_period, {currency} AS currency,
                   '{spec.source}' AS source, _export_name AS export_name,
                   CAST({basis} AS VARCHAR) AS basis, max(_load_id) AS load_id,
                   count(*) AS lines, {billed} AS billed_cost, max(_loaded_at) AS loaded_at
            FROM {spec.table}
            GROUP BY ALL
            """
        )
    cursor = con.execute(" UNION ALL ".join(parts) + " ORDER BY 1, 2, 3, 4, 5, 6")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
