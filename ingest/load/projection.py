"""The typed projection: how a file's columns map onto the raw table's, the cast of every
value, and the errors that name file, column and row."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence

import duckdb

from ingest import registry
from ingest.load.files import _head, _split_header, format_family, sniff_delimiter
from ingest.load.spec import (
    Column,
    LoadError,
    MapColumn,
    SourceFile,
    TableSpec,
    error_line,
    quote_ident,
)

_NUMERIC = ("DECIMAL", "DOUBLE", "FLOAT", "BIGINT", "INTEGER", "HUGEINT", "UBIGINT", "SMALLINT")


def tsv_unescape(expr: str) -> str:
    """SQL undoing ClickHouse TSV backslash escapes (backslash + quote, t, n, r, b, f).

    An escaped backslash is parked on a placeholder first, so backslash-backslash-n stays a
    backslash followed by n.
    """
    out = f"replace({expr}, chr(92) || chr(92), chr(1))"
    for escaped, char in ((39, 39), (34, 34), (116, 9), (110, 10), (114, 13), (98, 8), (102, 12)):
        out = f"replace({out}, chr(92) || chr({escaped}), chr({char}))"
    return f"replace({out}, chr(1), chr(92))"


def _sane_time(expr: str) -> str:
    """Null (so: a named error) for timestamps no bill contains: infinite, or outside 1900-9999."""
    return f"CASE WHEN isfinite({expr}) AND year({expr}) BETWEEN 1900 AND 9999 THEN {expr} END"


def _cast_expr(
    col: Column,
    src: str,
    src_type: str,
    index: int,
    row_expr: str,
    tsv: bool = False,
    alias: str = "_cast",
) -> tuple[str | None, str]:
    """SQL turning source column ``src`` into ``col.type``, raising a coded error per bad row.

    Returns (inner, outer): ``inner`` parses the value once, as ``alias``, in a projection under
    the one that checks it; ``outer`` checks that parse by reference and raises the coded error.
    Written as one expression, the parse ran once in the check and again in the result (and
    three times more in the 1900-9999 guard): 3x slower on timestamp and money columns.
    The error text carries only the column index, row number and value; Python maps the index
    back to the header name, so no header text is ever pasted into SQL as a literal.
    """
    target = col.type.upper()
    s = quote_ident(src)
    a = quote_ident(alias)
    src_type = src_type.upper()
    if target == "VARCHAR":
        return None, (tsv_unescape(f"CAST({s} AS VARCHAR)") if tsv else f"CAST({s} AS VARCHAR)")
    if target in ("TIMESTAMP", "DATE"):
        if src_type.startswith("TIMESTAMP") or src_type == "DATE":
            parsed = _sane_time(a)
            return f"CAST({s} AS {target})", (
                f"CASE WHEN {s} IS NOT NULL AND {parsed} IS NULL THEN "
                f"error('\x01{index}\x01' || ({row_expr}) || '\x01' || CAST({s} AS VARCHAR)) "
                f"ELSE {parsed} END"
            )
        text = f"NULLIF(TRIM(CAST({s} AS VARCHAR)), '')"
        # Only text that starts like a date: DuckDB also casts words such as 'epoch'/'infinity'.
        text = f"CASE WHEN regexp_matches({text}, '^[0-9]') THEN {text} END"
        # A bill's dates are the dates it states: an offset (a month restated with +02:00) is
        # dropped, never applied, so no line moves to another billing period or usage day.
        # TIMESTAMPTZ only for text the plain cast cannot read (a zone name).
        tries = [
            f"TRY_CAST({text} AS TIMESTAMP)",
            f"CAST(TRY_CAST({text} AS TIMESTAMPTZ) AS TIMESTAMP)",
        ]
        if col.formats:
            fmts = ", ".join("'" + fmt.replace("'", "''") + "'" for fmt in col.formats)
            tries.append(f"TRY_STRPTIME({text}, [{fmts}])")
        inner = f"COALESCE({', '.join(tries)})"
        if target == "DATE":
            inner = f"CAST({inner} AS DATE)"
        parsed = _sane_time(a)
    elif src_type.startswith(_NUMERIC) and target.startswith(_NUMERIC):
        inner = f"TRY_CAST({s} AS {col.type})"
        parsed = a
    else:
        inner = f"TRY_CAST(NULLIF(TRIM(CAST({s} AS VARCHAR)), '') AS {col.type})"
        parsed = a
    if target in ("DOUBLE", "FLOAT"):
        # NaN and ±Infinity would poison every share computed from this quantity.
        parsed = f"CASE WHEN isfinite({a}) THEN {a} END"
    present = f"NULLIF(TRIM(CAST({s} AS VARCHAR)), '') IS NOT NULL"
    if src_type.startswith(_NUMERIC):
        present = f"{s} IS NOT NULL"
    return inner, (
        f"CASE WHEN {present} AND {parsed} IS NULL THEN "
        f"error('\x01{index}\x01' || ({row_expr}) || '\x01' || LEFT(CAST({s} AS VARCHAR), 60)) "
        f"ELSE {parsed} END"
    )


def _map_expr(
    m: MapColumn,
    sources: list[tuple[str, str]],
    index_of: dict[str, int],
    row_expr: str,
    raw_names: list[str] | None = None,
    tsv: bool = False,
) -> tuple[str, list[object]]:
    """SQL for a tag/category map from a native column or flattened prefixed columns.

    Flattened keys come from the header as written (``raw_names``, by position), because
    DuckDB renames a duplicate-looking ``user:Product`` next to ``user:product`` and trims
    spaces; its names are used only as identifiers.
    """
    for name, typ in sources:
        if name in m.native:
            s = quote_ident(name)
            if typ.upper().startswith("MAP"):
                return f"CAST({s} AS {m.sql_type})", []
            if typ.upper().startswith("STRUCT"):  # a JSON-lines object
                # JSON objects of different rows share one STRUCT type: drop keys a row lacks.
                return (
                    f"map_from_entries(list_filter(map_entries(CAST(to_json({s}) AS "
                    f"{m.sql_type})), lambda e: e.value IS NOT NULL))",
                    [],
                )
            # JSON text. Azure omits the braces (`"a": "b","c": "d"`); ClickHouse's text
            # formats quote map keys with single quotes (`{'Query':1}`).
            text = f"TRIM(CAST({s} AS VARCHAR))"
            single_quoted = "'{' || chr(39)"
            fixed = (
                f"CASE WHEN {text} = '' THEN NULL "
                f"WHEN LEFT({text}, 2) = {single_quoted} "
                f"THEN replace({text}, chr(39), chr(34)) "
                f"WHEN LEFT({text}, 1) = '{{' THEN {text} "
                f"ELSE '{{' || {text} || '}}' END"
            )
            parsed = f"TRY_CAST(TRY_CAST({fixed} AS JSON) AS MAP(VARCHAR, VARCHAR))"
            unreadable = f"{parsed} IS NULL"
            if m.value_type != "VARCHAR":  # a value that is not a number is an error, not null
                unreadable += (
                    f" OR list_bool_or(list_transform(map_values({parsed}), lambda v: "
                    f"v IS NOT NULL AND TRY_CAST(v AS {m.value_type}) IS NULL))"
                )
            idx = index_of[name]
            return (
                f"CASE WHEN {fixed} IS NOT NULL AND ({unreadable}) THEN "
                f"error('\x01{idx}\x01' || ({row_expr}) || '\x01' || LEFT({text}, 60)) "
                f"ELSE COALESCE(CAST({parsed} AS {m.sql_type}), CAST(MAP {{}} AS {m.sql_type})) END",
                [],
            )
    written = raw_names if raw_names and len(raw_names) == len(sources) else None
    flat = [
        (name, raw[len(p) :])
        for i, (name, _) in enumerate(sources)
        for raw in [written[i] if written else name]
        for p in m.prefixes
        if raw.startswith(p)
    ]
    if not flat:
        return f"CAST(MAP {{}} AS {m.sql_type})", []
    cast = (
        (lambda n: tsv_unescape(f"CAST({quote_ident(n)} AS VARCHAR)"))
        if tsv
        else (lambda n: f"CAST({quote_ident(n)} AS VARCHAR)")
    )
    values = ", ".join(cast(n) for n, _ in flat)
    expr = (
        "CAST(map_from_entries(list_filter(map_entries(map(?::VARCHAR[], "
        f"[{values}])), lambda e: e.value IS NOT NULL AND e.value <> '')) AS {m.sql_type})"
    )
    return expr, [[key for _, key in flat]]


def match_sources(
    spec: TableSpec, f: SourceFile, sources: list[tuple[str, str]]
) -> dict[str, tuple[str, str]]:
    """The file's columns by normalised name: (header, type) per name.

    A spec column none of whose names the normaliser finds is also found by its name in
    another case: ``CUSTOMER_ID`` is ``customer_id``, though the CUR-style normaliser spells
    capitals letter by letter (``c_u_s_t_o_m_e_r_i_d``).
    """
    wanted = {n for c in spec.columns for n in (c.name, *c.aliases)}
    by_norm: dict[str, tuple[str, str]] = {}
    for name, typ in sources:
        norm = spec.normalise(name)
        if norm in wanted and norm in by_norm:
            raise LoadError(
                f"{f.display}: columns {by_norm[norm][0]!r} and {name!r} both map to {norm!r}"
            )
        by_norm[norm] = (name, typ)
    for col in spec.columns:
        names = (col.name, *col.aliases)
        if any(n in by_norm for n in names):
            continue
        for name, typ in sources:
            lower = name.strip().lstrip("\ufeff").lower()
            if lower in names and spec.normalise(name) not in wanted:
                by_norm[lower] = (name, typ)
                break
    return by_norm


def _loose(name: str) -> str:
    """A header without case or separators: ``Customer ID`` and ``customerid`` → ``customerid``."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _used_by_maps(spec: TableSpec, f: SourceFile, sources: list[tuple[str, str]]) -> set[str]:
    """Headers a map column reads (native tag columns, flattened ``resourceTags/...``)."""
    written = f.raw_header if f.raw_header and len(f.raw_header) == len(sources) else None
    used = set()
    for i, (name, _) in enumerate(sources):
        raw = written[i] if written else name
        if any(name in m.native or raw.startswith(m.prefixes) for m in spec.maps):
            used.add(name)
    return used


def _near_miss(spec: TableSpec, header: str, missing: Sequence[Column]) -> Column | None:
    """The missing column ``header`` is most likely a misspelling of, if any."""
    key = _loose(header)
    norm = spec.normalise(header)
    for col in missing:
        if key in {_loose(n) for n in (col.name, *col.aliases)}:
            return col
    for col in missing:
        if norm in col.look_alikes or key in {_loose(n) for n in col.look_alikes}:
            return col
    if not spec.narrow:
        return None
    by_key = {_loose(n): col for col in missing for n in (col.name, *col.aliases)}
    close = difflib.get_close_matches(key, list(by_key), n=1, cutoff=0.8)
    return by_key[close[0]] if close else None


def check_header_names(
    spec: TableSpec, f: SourceFile, sources: list[tuple[str, str]]
) -> tuple[list[Column], list[str]]:
    """Refuse a file whose header misspells a column the spec expects; else the optional
    columns it lacks that cost something (see :func:`missing_column_warnings`) and its notices.

    A near miss (``customerid``, ``Customer ID``, ``customer`` for ``customer_id``) with the
    expected column absent would land a column of nulls and move money silently, so it is an
    error. An optional column absent from the whole file is a warning that says what is lost;
    the columns a narrow source ignores are listed in one notice. Header level only: no row is
    read.
    """
    by_norm = match_sources(spec, f, sources)
    used = {
        by_norm[n][0] for c in spec.columns for n in (c.name, *c.aliases) if n in by_norm
    } | _used_by_maps(spec, f, sources)
    missing = [c for c in spec.columns if not any(n in by_norm for n in (c.name, *c.aliases))]
    unknown = [name for name, _ in sources if name not in used]
    what = f"{spec.source} file {f.display}"
    misses = [(h, col) for h in unknown if (col := _near_miss(spec, h, missing)) is not None]
    if misses:
        said = "; ".join(
            f"column {h!r} looks like {col.name!r} (did you mean `{col.name}`?)"
            for h, col in misses
        )
        raise LoadError(f"{what}: {said} — rename the column in the file and load again")
    lacking = [c for c in missing if c.if_missing and not c.required]
    notices = [f"{what}: ignored columns: {', '.join(unknown)}"] if spec.narrow and unknown else []
    return lacking, notices


def missing_column_warnings(spec: TableSpec, lacking: Mapping[str, list[str]]) -> list[str]:
    """One warning per optional column (``lacking``: column → files without it), naming the
    file, or the first file and how many more, and what is lost."""
    out = []
    for col in spec.columns:
        files = lacking.get(col.name)
        if not files:
            continue
        where = (
            f"{spec.source} file {files[0]}"
            if len(files) == 1
            else f"{len(files)} {spec.source} files ({files[0]} and {len(files) - 1} more)"
        )
        out.append(
            f"{where} {'has' if len(files) == 1 else 'have'} no {col.name} column: {col.if_missing}"
        )
    return out


def build_select(
    spec: TableSpec, f: SourceFile, sources: list[tuple[str, str]], row_expr: str
) -> tuple[list[str], list[str], list[object], dict[int, str], tuple[str, str] | None]:
    """Map a file's columns onto the spec.

    Returns the SELECT expressions, the parse-once expressions of the projection under them
    (``<expr> AS <alias>``), their parameters, index → header, and the (header, type) of the
    file's billed-cost column for reconciliation.
    """
    by_norm = match_sources(spec, f, sources)
    index_of = {name: i for i, (name, _) in enumerate(sources)}
    header_of = {i: name for name, i in index_of.items()}
    tsv = format_family(f.path) == "text" and sniff_delimiter(f) == "\t"
    exprs: list[str] = []
    inner: list[str] = []
    params: list[object] = []
    for position, col in enumerate(spec.columns):
        hit = next(
            (by_norm[n] for n in (col.name, *col.aliases) if n in by_norm),
            None,
        )
        if hit is None:
            # The currency column is not `required` (a cost-0 line may leave it blank) but a
            # file without it is still not a bill.
            if col.required or col.name == spec.currency_column:
                hint = wrong_file_hint(spec, f, sources, by_norm)
                if hint and not hint.startswith(";"):
                    raise LoadError(f"{f.display}: {hint}")
                raise LoadError(f"{f.display}: required column {col.name!r} is missing{hint}")
            exprs.append(f"CAST(NULL AS {col.type})")
            continue
        alias = f"__ingest_parsed_{position}"
        parse, check = _cast_expr(col, hit[0], hit[1], index_of[hit[0]], row_expr, tsv, alias)
        if parse is not None:
            inner.append(f"{parse} AS {quote_ident(alias)}")
        exprs.append(check)
    for m in spec.maps:
        expr, p = _map_expr(m, sources, index_of, row_expr, f.raw_header, tsv)
        exprs.append(expr)
        params.extend(p)
    billed = next(
        (
            by_norm[n]
            for c in spec.columns
            if c.name == spec.billed_column
            for n in (c.name, *c.aliases)
            if n in by_norm
        ),
        None,
    )
    return exprs, inner, params, header_of, billed


_DATA_LIKE = re.compile(
    r"-?\$?\d[\d,]*(\.\d+)?([eE][-+]?\d+)?"  # 12, 1,234.50, 1e-05
    r"|\d{4}-\d{2}-\d{2}([T ][\d:.]+)?Z?"  # 2026-08-01, 2026-08-01T00:00:00Z
    r"|\d{1,2}/\d{1,2}/\d{2,4}"  # 8/1/2026
)


def _required(spec: TableSpec) -> list[Column]:
    return [c for c in spec.columns if c.required or c.name == spec.currency_column]


def _fits(spec: TableSpec, f: SourceFile, sources: list[tuple[str, str]]) -> int:
    """How many required columns of ``spec`` the file has, when it has all of them; else 0."""
    try:
        by_norm = match_sources(spec, f, sources)
    except LoadError:
        return 0
    needed = _required(spec)
    has = [c for c in needed if any(n in by_norm for n in (c.name, *c.aliases))]
    return len(has) if needed and len(has) == len(needed) else 0


def wrong_file_hint(
    spec: TableSpec,
    f: SourceFile,
    sources: list[tuple[str, str]],
    by_norm: Mapping[str, tuple[str, str]],
) -> str:
    """On the missing-column error path: why the file may not be a ``spec`` file at all.

    ``; this looks like a FOCUS export: load it with `python -m ingest focus``` when the header
    holds every required column of another source (the most specific one wins); a whole
    message saying the file has no header row when its first line reads as data (numbers,
    dates) and names none of the spec's columns; else an empty string.
    """
    fits = [
        (n, other.source)
        for other in registry.all_specs()
        if other.source != spec.source and (n := _fits(other, f, sources))
    ]
    if fits:
        best = max(fits)[1]
        other = registry.by_source(best)
        command, label = (other.command, other.label) if other else (best, "another export")
        return f"; this looks like {label}: load it with `python -m ingest {command}`"
    named = any(n in by_norm for c in spec.columns for n in (c.name, *c.aliases))
    if named or format_family(f.path) != "text" or f.header_names is not None:
        return ""
    delim, first = _head(f)
    fields = [v.strip() for v in _split_header(first, delim) or []]
    if not any(_DATA_LIKE.fullmatch(v) for v in fields):
        return ""
    shown = first if len(first) <= 60 else first[:57] + "..."
    source = registry.by_source(spec.source)
    command = source.command if source else spec.source
    if source and source.header_hint:
        todo = source.header_hint
    else:
        names = spec.column_names if spec.narrow else [c.name for c in _required(spec)]
        some = "" if spec.narrow else " (and any optional columns the export has)"
        todo = (
            f"add the header line `python -m ingest {command}` expects as its first line: "
            f"{delim.join(names)}{some}"
        )
    return f"the file has no header row (its first line {shown!r} is data): {todo}"


_CODED = re.compile("\x01(\\d+)\x01(\\d+)\x01(.*)", re.S)


def explain_error(exc: duckdb.Error, f: SourceFile, header_of: dict[int, str]) -> LoadError:
    """Turn DuckDB's error into one line naming the file, column and row."""
    m = _CODED.search(str(exc))
    if m:
        column = header_of.get(int(m.group(1)), f"#{m.group(1)}")
        value = m.group(3).splitlines()[0] if m.group(3) else ""
        return LoadError(
            f"{f.display}: row {m.group(2)}, column {column!r}: cannot read {value!r} "
            "as the expected type"
        )
    return LoadError(f"{f.display}: {error_line(exc)}")
