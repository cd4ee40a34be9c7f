"""AWS Cost Explorer ``GetCostAndUsage`` results as a (lower-fidelity) cost source.

Two ways in, one landing:

* ``python -m ingest cost-explorer --start --end [--group-by …] [--granularity …]`` asks the API
  (boto3 ``ce``; ``--endpoint-url`` or the standard ``AWS_ENDPOINT_URL`` / credentials
  environment), paginates on ``NextPageToken`` and writes every response page as JSON;
* ``python -m ingest cost-explorer-file PATH`` takes saved responses (a file or a folder of
  ``.json``).

Either way the pages are unnested by DuckDB (``ResultsByTime → Groups → Keys/Metrics``) into
``raw.aws_cost_explorer``: one row per time period × group, every metric as an exact decimal
(the API sends amounts as strings), the group keys parsed into ``dimensions`` (``SERVICE``,
``LINKED_ACCOUNT``, ``RECORD_TYPE`` …), ``tags`` (``team$platform`` → team=platform; ``team$``
is an untagged group and gets no tag) and ``cost_categories``.

Credits and refunds are kept apart, never filtered away: GetCostAndUsage allows two GroupBys,
so the API path runs the user's query with ``Not RECORD_TYPE in [Credit, Refund]`` (rows
``record_type = 'Usage'``) and a second one for ``RECORD_TYPE in [Credit, Refund]`` grouped by
RECORD_TYPE and the first user group-by. The two add up to the account's total.

A load replaces, per account, every landed row whose time period overlaps one it brings (Cost
Explorer restates recent days while ``Estimated``), in one transaction. A response carrying
only ``BlendedCost`` is refused unless ``allow_blended``: blended cost averages RI rates across
the organisation and must not be allocated (DOMAIN.md hard case 13).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from ingest.currencies import ISO_4217
from ingest.load import commands
from ingest.load.db import connect, transaction
from ingest.load.files import file_fingerprint, literal_paths, walk_tree
from ingest.load.land import stderr_progress
from ingest.load.partitions import delivery_fingerprint, new_load_id, prior_load, record_load
from ingest.load.spec import (
    DEFAULT_DB_ENV,
    DEFAULT_DB_PATH,
    LINEAGE_COLUMNS,
    MONEY,
    Column,
    LoadError,
    LoadResult,
    MapColumn,
    PartitionResult,
    TableSpec,
    UsageError,
    snake_name,
)
from ingest.registry import Source, ensure_all_tables, register

log = logging.getLogger(__name__)

EXPORT_NAME = "aws_cost_explorer"
"""One export for every Cost Explorer load, so a reload always replaces what it restates."""

METRICS = ("UnblendedCost", "AmortizedCost", "UsageQuantity")
"""What the API path asks for: billed, effective (amortized) cost and the usage quantity."""

_MONEY_METRICS = {
    "unblended_cost": "UnblendedCost",
    "amortized_cost": "AmortizedCost",
    "net_unblended_cost": "NetUnblendedCost",
    "net_amortized_cost": "NetAmortizedCost",
    "blended_cost": "BlendedCost",
    "usage_quantity": "UsageQuantity",
}
_CREDIT_TYPES = ["Credit", "Refund"]
_GROUP_TYPES = ("DIMENSION", "TAG", "COST_CATEGORY")
_DEFS_TYPE = '[{"Type": "VARCHAR", "Key": "VARCHAR"}]'

SPEC = TableSpec(
    source="aws_cost_explorer",
    table="raw.aws_cost_explorer",
    columns=(
        Column("time_period_start", "DATE", required=True),
        Column("time_period_end", "DATE", required=True),
        Column("granularity", "VARCHAR"),
        Column("is_estimated", "BOOLEAN"),
        Column("record_type", "VARCHAR"),
        Column("billing_account_id", "VARCHAR", required=True),
        Column("account_source", "VARCHAR"),
        Column("group_definitions", "VARCHAR"),
        Column("group_keys", "VARCHAR[]"),
        *(Column(name, MONEY) for name in _MONEY_METRICS),
        Column("currency", "VARCHAR"),
        Column("usage_unit", "VARCHAR"),
        Column("metrics", "JSON"),
    ),
    maps=(MapColumn("dimensions"), MapColumn("tags"), MapColumn("cost_categories")),
    normalise=snake_name,
    account_column="billing_account_id",
    period_column="time_period_start",
    period_grain="day",
    currency_column="currency",
    billed_column="unblended_cost",
)


@dataclass(frozen=True)
class GroupBy:
    """One GetCostAndUsage GroupBy: ``SERVICE`` → (DIMENSION, SERVICE), ``TAG:team`` → (TAG, team)."""

    type: str
    key: str

    def api(self) -> dict[str, str]:
        return {"Type": self.type, "Key": self.key}

    def __str__(self) -> str:
        return self.key if self.type == "DIMENSION" else f"{self.type}:{self.key}"


def parse_group_by(text: str) -> GroupBy:
    """``SERVICE``, ``DIMENSION:REGION``, ``TAG:team`` or ``COST_CATEGORY:name``."""
    kind, sep, key = text.partition(":")
    if not sep:
        kind, key = "DIMENSION", text
    kind = kind.strip().upper()
    key = key.strip()
    if kind not in _GROUP_TYPES or not key:
        raise UsageError(
            f"--group-by {text!r}: expected a dimension (SERVICE, LINKED_ACCOUNT, REGION …), "
            "TAG:<key> or COST_CATEGORY:<name>"
        )
    return GroupBy(kind, key.upper() if kind == "DIMENSION" else key)


def _check_group_bys(group_bys: Sequence[GroupBy]) -> None:
    if len(group_bys) > 2:
        raise UsageError("GetCostAndUsage accepts at most 2 --group-by")
    if len(set(group_bys)) != len(group_bys):
        raise UsageError("the same --group-by is given twice")


# --------------------------------------------------------------------------- the API path


def fetch_pages(
    client: Any,
    *,
    start: dt.date,
    end: dt.date,
    granularity: str,
    group_bys: Sequence[GroupBy],
    out_dir: Path,
    say: Callable[[str], None] = lambda _m: None,
) -> list[tuple[Path, str]]:
    """Run both queries (charges without credits/refunds, then credits/refunds), following
    ``NextPageToken``; write each page to ``out_dir``. Returns (file, display name) pairs."""
    credit_dim = GroupBy("DIMENSION", "RECORD_TYPE")
    credit_groups = [credit_dim] + [g for g in group_bys[:1] if g != credit_dim]
    record_filter = {"Dimensions": {"Key": "RECORD_TYPE", "Values": _CREDIT_TYPES}}
    queries = (
        ("usage", list(group_bys), {"Not": record_filter}),
        ("credits", credit_groups, record_filter),
    )
    written: list[tuple[Path, str]] = []
    for name, groups, where in queries:
        request: dict[str, Any] = {
            "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
            "Granularity": granularity,
            "Metrics": list(METRICS),
            "Filter": where,
        }
        if groups:
            request["GroupBy"] = [g.api() for g in groups]
        token: str | None = None
        page = 0
        while True:
            page += 1
            try:
                response = client.get_cost_and_usage(
                    **request, **({"NextPageToken": token} if token else {})
                )
            except Exception as exc:  # botocore's ClientError, EndpointConnectionError, …
                raise LoadError(
                    f"Cost Explorer GetCostAndUsage ({name} query, page {page}) failed: {exc}"
                ) from None
            response.pop("ResponseMetadata", None)
            # AWS echoes GroupDefinitions; a response without them still needs its key order.
            response.setdefault("GroupDefinitions", request.get("GroupBy", []))
            target = out_dir / f"{name}-{page:04d}.json"
            target.write_text(json.dumps(response, default=str))
            shown = f"ce:GetCostAndUsage {start}..{end} {granularity} {name} page {page}"
            written.append((target, shown))
            say(f"{shown}: {len(response.get('ResultsByTime') or [])} time periods")
            token = response.get("NextPageToken")
            if not token:
                break
            if page >= 10_000:
                raise LoadError(f"Cost Explorer {name} query: more than 10,000 pages, stopping")
    return written


def load_api(
    con: duckdb.DuckDBPyConnection,
    *,
    start: dt.date,
    end: dt.date,
    granularity: str = "DAILY",
    group_bys: Sequence[GroupBy] = (GroupBy("DIMENSION", "SERVICE"),),
    account_id: str | None = None,
    endpoint_url: str | None = None,
    allow_currencies: Sequence[str] = (),
    progress: Callable[[str], None] | None = None,
    session: Any = None,
) -> LoadResult:
    """Query Cost Explorer for [start, end) and load the result (see the module docstring)."""
    import boto3

    say = progress or (lambda _m: None)
    _check_group_bys(group_bys)
    if granularity not in ("DAILY", "MONTHLY"):
        raise UsageError("--granularity must be DAILY or MONTHLY")
    if end <= start:
        raise UsageError(f"--end {end} must be after --start {start} (the end is exclusive)")
    session = session or boto3.session.Session()
    # Cost Explorer has one endpoint, in us-east-1, whatever the profile's region.
    client = session.client("ce", region_name="us-east-1", endpoint_url=endpoint_url)
    linked = any(g == GroupBy("DIMENSION", "LINKED_ACCOUNT") for g in group_bys)
    source = "option"
    if not account_id and not linked:
        source = "sts"
        sts = session.client("sts", region_name="us-east-1", endpoint_url=endpoint_url)
        try:
            account_id = sts.get_caller_identity()["Account"]
        except Exception as exc:
            raise LoadError(
                f"cannot tell which account this is (STS GetCallerIdentity failed: {exc}); "
                "pass --account-id"
            ) from None
    with tempfile.TemporaryDirectory(prefix="ingest-ce-") as tmp:
        pages = fetch_pages(
            client,
            start=start,
            end=end,
            granularity=granularity,
            group_bys=group_bys,
            out_dir=Path(tmp),
            say=say,
        )
        return _load(
            con,
            [(p, shown, file_fingerprint(p)) for p, shown in pages],
            group_bys=(),
            account_id=account_id,
            account_source=source,
            allow_blended=False,
            allow_currencies=allow_currencies,
            force=True,  # an API answer is always fresh: never skipped as "already loaded"
            say=say,
        )


# --------------------------------------------------------------------------- the file path


def load_files(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    group_bys: Sequence[GroupBy] = (),
    account_id: str | None = None,
    allow_blended: bool = False,
    allow_currencies: Sequence[str] = (),
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> LoadResult:
    """Load saved GetCostAndUsage responses: ``path`` is a ``.json`` file or a folder of them.

    ``group_bys`` names the group keys of files saved without ``GroupDefinitions`` (a bare
    ``ResultsByTime`` dump); ``account_id`` is the account when no LINKED_ACCOUNT key says it.
    """
    _check_group_bys(group_bys)
    found = walk_tree(path, lambda p: p.name.endswith(".json"), progress)
    if not found:
        raise LoadError(f"{path}: no .json files found")
    # DuckDB reads each file by a path it cannot take for a glob pattern.
    with literal_paths(found) as readable:
        files = [(r, str(p), file_fingerprint(p)) for p, r in zip(found, readable, strict=True)]
        return _load(
            con,
            files,
            group_bys=group_bys,
            account_id=account_id,
            account_source="option",
            allow_blended=allow_blended,
            allow_currencies=allow_currencies,
            force=force,
            say=progress or (lambda _m: None),
        )


# --------------------------------------------------------------------------- the load


def _load(
    con: duckdb.DuckDBPyConnection,
    files: Sequence[tuple[Path, str, str]],
    *,
    group_bys: Sequence[GroupBy],
    account_id: str | None,
    account_source: str,
    allow_blended: bool,
    allow_currencies: Sequence[str],
    force: bool,
    say: Callable[[str], None],
) -> LoadResult:
    started = time.monotonic()
    options = json.dumps(
        [[str(g) for g in group_bys], account_id, allow_blended], separators=(",", ":")
    )
    fingerprint = delivery_fingerprint([*sorted(f for _, _, f in files), options])
    if not force and (prior := prior_load(con, SPEC, EXPORT_NAME, fingerprint)):
        return LoadResult(SPEC.source, prior, EXPORT_NAME, len(files), 0, 0.0, True)
    load_id = new_load_id()
    loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with transaction(con):
        ensure_all_tables(con)
        _flatten(con, files, group_bys, account_id, account_source)
        _validate(con, allow_blended, allow_currencies)
        partitions = _replace(con, load_id, loaded_at)
        rows = _count(con, "SELECT count(*) FROM _ce_new")
        record_load(
            con,
            SPEC,
            load_id,
            EXPORT_NAME,
            fingerprint,
            [shown for _, shown, _ in files],
            rows,
            loaded_at,
        )
        con.execute(
            """
            INSERT INTO raw._load_partitions
            SELECT ?, ?, ?, billing_account_id, day, action, n FROM _ce_days
            """,
            [load_id, SPEC.source, EXPORT_NAME],
        )
        totals = con.execute(
            """
            SELECT CAST(date_trunc('month', time_period_start) AS DATE), currency,
                   CAST(sum(coalesce(unblended_cost, blended_cost)) AS DOUBLE)
            FROM _ce_new GROUP BY ALL ORDER BY ALL
            """
        ).fetchall()
        fallback = _count(con, "SELECT count(*) FROM _ce_new WHERE amortized_cost IS NULL")
        for name in ("_ce_files", "_ce_periods", "_ce_new", "_ce_days"):
            con.execute(f"DROP TABLE IF EXISTS {name}")
    if fallback:
        say(
            f"note: {fallback:,} rows have no AmortizedCost; their effective cost is their "
            "billed cost (UnblendedCost)"
        )
    return LoadResult(
        SPEC.source,
        load_id,
        EXPORT_NAME,
        len(files),
        rows,
        time.monotonic() - started,
        partitions=partitions,
        totals=[(t[0], t[1], t[2] or 0.0) for t in totals],
        period_grain="month",
    )


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] = ()) -> int:
    got = con.execute(sql, list(params)).fetchone()
    return int(got[0]) if got else 0


def _flatten(
    con: duckdb.DuckDBPyConnection,
    files: Sequence[tuple[Path, str, str]],
    group_bys: Sequence[GroupBy],
    account_id: str | None,
    account_source: str,
) -> None:
    """Files → ``_ce_periods`` (one row per time period) → ``_ce_new`` (one row per group)."""
    con.execute("CREATE OR REPLACE TEMP TABLE _ce_files (path VARCHAR, display VARCHAR)")
    con.executemany(
        "INSERT INTO _ce_files VALUES (?, ?)", [[str(p), shown] for p, shown, _ in files]
    )
    override = json.dumps([g.api() for g in group_bys]) if group_bys else None
    try:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _ce_periods AS
            SELECT
                f.display,
                (d.json->'GroupDefinitions') IS NOT NULL AS has_definitions,
                COALESCE(
                    from_json(d.json->'GroupDefinitions', '{_DEFS_TYPE}'),
                    from_json(CAST(? AS JSON), '{_DEFS_TYPE}')
                ) AS definitions,
                (d.json->'ResultsByTime') IS NOT NULL AS is_response,
                p.period,
                p.period_index
            FROM read_json_objects(?, format = 'auto', filename = true) AS d
            INNER JOIN _ce_files AS f ON d.filename = f.path
            LEFT JOIN LATERAL (
                SELECT * FROM unnest(from_json(d.json->'ResultsByTime', '["json"]'))
                    WITH ORDINALITY AS u(period, period_index)
            ) AS p ON true
            """,
            [override, [str(p) for p, _, _ in files]],
        )
    except duckdb.Error as exc:
        raise _unreadable(files, exc) from None
    bad = con.execute(
        "SELECT display FROM _ce_periods WHERE NOT is_response ORDER BY display LIMIT 1"
    ).fetchone()
    if bad:
        raise LoadError(f"{bad[0]}: not a GetCostAndUsage response (no ResultsByTime)")
    if override is not None:
        clash = con.execute(
            """
            SELECT display, CAST(definitions AS VARCHAR) FROM _ce_periods
            WHERE has_definitions
              AND list_transform(definitions, lambda d: d.Type || ':' || d.Key)
                  <> list_transform(from_json(CAST(? AS JSON), '"""
            + _DEFS_TYPE
            + """'), lambda d: d.Type || ':' || d.Key)
            ORDER BY display LIMIT 1
            """,
            [override],
        ).fetchone()
        if clash:
            raise LoadError(
                f"{clash[0]}: its GroupDefinitions {clash[1]} differ from --group-by "
                f"{', '.join(str(g) for g in group_bys)}"
            )
    money = ",\n".join(
        f"TRY_CAST(NULLIF(TRIM(metrics->'{metric}'->>'Amount'), '') AS {MONEY}) AS {name}"
        for name, metric in _MONEY_METRICS.items()
    )
    # Tag and cost-category keys arrive as "key$value"; "key$" is the untagged group.
    tag_value = "CASE WHEN position('$' IN e.value) > 0 THEN substr(e.value, position('$' IN e.value) + 1) ELSE e.value END"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _ce_new AS
        WITH grouped AS (
            SELECT
                p.display,
                p.definitions,
                p.period,
                p.period_index,
                g.grp,
                g.group_index,
                from_json(g.grp->'Keys', '["VARCHAR"]') AS group_keys,
                g.grp->'Metrics' AS metrics
            FROM _ce_periods AS p,
                unnest(from_json(p.period->'Groups', '["json"]'))
                    WITH ORDINALITY AS g(grp, group_index)
        ),
        entries AS (
            SELECT
                *,
                list_transform(
                    range(1, len(coalesce(group_keys, [])) + 1),
                    lambda i: {{'type': definitions[i].Type, 'name': definitions[i].Key,
                           'value': group_keys[i]}}
                ) AS parts
            FROM grouped
        ),
        parsed AS (
            SELECT
                *,
                map_from_entries(list_transform(
                    list_filter(parts, lambda e: e.type = 'DIMENSION'),
                    lambda e: {{'key': e.name, 'value': e.value}}
                )) AS dimensions,
                map_from_entries(list_filter(list_transform(
                    list_filter(parts, lambda e: e.type = 'TAG'),
                    lambda e: {{'key': e.name, 'value': {tag_value}}}
                ), lambda e: e.value <> '')) AS tags,
                map_from_entries(list_filter(list_transform(
                    list_filter(parts, lambda e: e.type = 'COST_CATEGORY'),
                    lambda e: {{'key': e.name, 'value': {tag_value}}}
                ), lambda e: e.value <> '')) AS cost_categories
            FROM entries
        )
        SELECT
            display,
            period_index,
            group_index,
            len(coalesce(definitions, [])) AS n_definitions,
            len(coalesce(group_keys, [])) AS n_keys,
            period->'TimePeriod'->>'Start' AS start_text,
            period->'TimePeriod'->>'End' AS end_text,
            CASE WHEN regexp_full_match(period->'TimePeriod'->>'Start', '\\d{{4}}-\\d{{2}}-\\d{{2}}')
                THEN TRY_CAST(period->'TimePeriod'->>'Start' AS DATE) END AS time_period_start,
            CASE WHEN regexp_full_match(period->'TimePeriod'->>'End', '\\d{{4}}-\\d{{2}}-\\d{{2}}')
                THEN TRY_CAST(period->'TimePeriod'->>'End' AS DATE) END AS time_period_end,
            TRY_CAST(period->>'Estimated' AS BOOLEAN) AS is_estimated,
            coalesce(dimensions['RECORD_TYPE'], 'Usage') AS record_type,
            coalesce(dimensions['LINKED_ACCOUNT'], CAST(? AS VARCHAR)) AS billing_account_id,
            CASE WHEN dimensions['LINKED_ACCOUNT'] IS NOT NULL THEN 'LINKED_ACCOUNT'
                WHEN CAST(? AS VARCHAR) IS NOT NULL THEN CAST(? AS VARCHAR) END AS account_source,
            array_to_string(list_transform(definitions, lambda d: d.Type || ':' || d.Key), ', ')
                AS group_definitions,
            group_keys,
            dimensions,
            tags,
            cost_categories,
            {money},
            upper(trim(coalesce(
                metrics->'UnblendedCost'->>'Unit', metrics->'AmortizedCost'->>'Unit',
                metrics->'BlendedCost'->>'Unit'
            ))) AS currency,
            metrics->'UsageQuantity'->>'Unit' AS usage_unit,
            metrics,
            row_number() OVER (PARTITION BY display ORDER BY period_index, group_index)
                AS source_row
        FROM parsed
        """,
        [account_id, account_id, account_source],
    )


def _unreadable(files: Sequence[tuple[Path, str, str]], exc: duckdb.Error) -> LoadError:
    """On the error path only: name the file DuckDB could not read as JSON."""
    for path, shown, _ in files:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as why:
            return LoadError(f"{shown}: not readable JSON ({why})")
        if not isinstance(doc, dict):
            return LoadError(f"{shown}: not a GetCostAndUsage response (not a JSON object)")
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return LoadError(f"{files[0][1]}: cannot read the responses: {first}")


def _where(row: tuple[Any, ...]) -> str:
    """``file: period 2024-01-01, group ["Amazon EC2", "team$"]`` for an error message."""
    display, start, keys = row[0], row[1], row[2]
    return f"{display}: period {start}, group {json.dumps(keys)}"


def _validate(
    con: duckdb.DuckDBPyConnection, allow_blended: bool, allow_currencies: Sequence[str]
) -> None:
    """What makes a response unusable, each with the file, period and group it was found in."""
    where_cols = "display, start_text, group_keys"
    metric_checks = [
        (
            f"(metrics->'{metric}'->>'Amount') IS NOT NULL AND {name} IS NULL",
            f"{metric} amount is not a number",
        )
        for name, metric in _MONEY_METRICS.items()
    ]
    blended = (
        "unblended_cost IS NULL AND blended_cost IS NOT NULL",
        "the response has only BlendedCost, which averages reserved-instance rates across "
        "the organisation and must not be allocated; query UnblendedCost and AmortizedCost "
        "(or pass --allow-blended to load it anyway)",
    )
    allowed = sorted(ISO_4217 | {c.upper() for c in allow_currencies})
    checks: list[tuple[str, str]] = [
        (
            "n_definitions = 0 AND n_keys > 0",
            "the file has no GroupDefinitions, so its group keys cannot be read; pass "
            "--group-by (e.g. --group-by SERVICE) to say what they are",
        ),
        ("n_definitions <> n_keys", "the number of group keys differs from GroupDefinitions"),
        (
            "time_period_start IS NULL OR time_period_end IS NULL "
            "OR time_period_end <= time_period_start",
            "TimePeriod Start/End is not a date range (HOURLY results are not supported)",
        ),
        *metric_checks,
        *([] if allow_blended else [blended]),
        (
            "unblended_cost IS NULL AND blended_cost IS NULL",
            "no UnblendedCost in the metrics: the billed cost is unknown",
        ),
        (
            "currency IS NULL OR currency NOT IN (SELECT unnest(?::VARCHAR[]))",
            "unknown or missing currency unit",
        ),
        (
            "billing_account_id IS NULL OR trim(billing_account_id) = ''",
            "no account: pass --account-id (or group by LINKED_ACCOUNT)",
        ),
    ]
    for condition, what in checks:
        params: list[object] = [allowed] if "?::VARCHAR[]" in condition else []
        bad = con.execute(
            f"SELECT {where_cols} FROM _ce_new WHERE {condition} "
            "ORDER BY display, source_row LIMIT 1",
            params,
        ).fetchone()
        if bad:
            raise LoadError(f"{_where(bad)}: {what}")
    hidden = con.execute(
        """
        SELECT display, period->'TimePeriod'->>'Start' FROM _ce_periods
        WHERE period IS NOT NULL
          AND coalesce(json_array_length(period->'Groups'), 0) = 0
          AND list_bool_or(list_transform(
              map_entries(CAST(coalesce(period->'Total', '{}') AS MAP(VARCHAR, JSON))),
              lambda e: e.key LIKE '%Cost'
                  AND coalesce(TRY_CAST(e.value->>'Amount' AS DOUBLE), 0) <> 0
          ))
        ORDER BY display, period_index LIMIT 1
        """
    ).fetchone()
    if hidden:
        raise LoadError(
            f"{hidden[0]}: period {hidden[1]} has a non-zero Total but no Groups (an ungrouped "
            "query); query with a GroupBy so every dollar lands on a row"
        )
    dup = con.execute(
        """
        SELECT min(display), min(start_text), group_keys, max(display)
        FROM _ce_new
        GROUP BY billing_account_id, time_period_start, time_period_end, record_type, group_keys
        HAVING count(*) > 1
        ORDER BY 1, 2 LIMIT 1
        """
    ).fetchone()
    if dup:
        raise LoadError(
            f"{_where(dup)}: the same account, period and group is also in {dup[3]}; "
            "load each query once"
        )
    # Two groupings of the same account-day (SERVICE, then TAG:team) are the same money twice.
    # Credits and refunds come from their own query, so they are compared among themselves.
    regrouped = con.execute(
        """
        SELECT min(display), min(start_text), NULL, max(display),
               min(group_definitions), max(group_definitions)
        FROM _ce_new
        GROUP BY billing_account_id, time_period_start, time_period_end,
                 record_type IN ('Credit', 'Refund')
        HAVING count(DISTINCT group_definitions) > 1
        ORDER BY 1, 2 LIMIT 1
        """
    ).fetchone()
    if regrouped:
        raise LoadError(
            f"{regrouped[0]}: period {regrouped[1]}: the same account and period is grouped "
            f"as {regrouped[4]} and as {regrouped[5]} (in {regrouped[3]}); two groupings of "
            "the same costs would count them twice, load one"
        )
    overlap = con.execute(
        """
        WITH spans AS (
            SELECT DISTINCT billing_account_id, time_period_start, time_period_end FROM _ce_new
        )
        SELECT a.billing_account_id, a.time_period_start, a.time_period_end,
               b.time_period_start, b.time_period_end
        FROM spans AS a INNER JOIN spans AS b
            ON a.billing_account_id = b.billing_account_id
            AND a.time_period_start < b.time_period_end
            AND b.time_period_start < a.time_period_end
            AND (a.time_period_start, a.time_period_end) < (b.time_period_start, b.time_period_end)
        ORDER BY ALL LIMIT 1
        """
    ).fetchone()
    if overlap:
        raise LoadError(
            f"account {overlap[0]}: time periods {overlap[1]}..{overlap[2]} and "
            f"{overlap[3]}..{overlap[4]} overlap in this load (DAILY and MONTHLY results of "
            "the same days?); load one granularity"
        )


def _replace(
    con: duckdb.DuckDBPyConnection, load_id: str, loaded_at: dt.datetime
) -> list[PartitionResult]:
    """Replace, per account, every landed row whose period overlaps one of this load's."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _ce_spans AS
        SELECT DISTINCT billing_account_id, time_period_start, time_period_end FROM _ce_new
        """
    )
    # A landed MONTHLY row cannot be partly replaced by DAILY rows: that would drop the rest of
    # its month. Only a load covering all of its days may replace it.
    partial = con.execute(
        f"""
        SELECT o._billing_account_id, o.time_period_start, o.time_period_end, o.granularity
        FROM (
            SELECT DISTINCT _billing_account_id, time_period_start, time_period_end, granularity
            FROM {SPEC.table}
        ) AS o
        INNER JOIN _ce_spans AS n
            ON n.billing_account_id = o._billing_account_id
            AND n.time_period_start < o.time_period_end
            AND o.time_period_start < n.time_period_end
        GROUP BY ALL
        HAVING sum(
            datediff('day',
                greatest(n.time_period_start, o.time_period_start),
                least(n.time_period_end, o.time_period_end))
        ) < datediff('day', o.time_period_start, o.time_period_end)
        ORDER BY ALL LIMIT 1
        """
    ).fetchone()
    if partial:
        raise LoadError(
            f"account {partial[0]}: the warehouse holds {partial[3]} results for "
            f"{partial[1]}..{partial[2]} and this load covers only part of that period; "
            "reload the whole period (or at the same granularity)"
        )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _ce_days AS
        SELECT
            n.billing_account_id,
            n.time_period_start AS day,
            count(*) AS n,
            CASE WHEN EXISTS (
                SELECT 1 FROM {SPEC.table} AS o
                WHERE o._billing_account_id = n.billing_account_id
                  AND o.time_period_start < n.time_period_end
                  AND n.time_period_start < o.time_period_end
            ) THEN 'replaced' ELSE 'inserted' END AS action
        FROM _ce_new AS n
        GROUP BY n.billing_account_id, n.time_period_start, n.time_period_end
        """
    )
    con.execute(
        f"""
        DELETE FROM {SPEC.table} AS o
        WHERE EXISTS (
            SELECT 1 FROM _ce_spans AS n
            WHERE n.billing_account_id = o._billing_account_id
              AND n.time_period_start < o.time_period_end
              AND o.time_period_start < n.time_period_end
        )
        """
    )
    columns = [c.name for c in SPEC.columns if c.name != "granularity"]
    columns += [m.name for m in SPEC.maps]
    lineage = ", ".join(name for name, _ in LINEAGE_COLUMNS)
    con.execute(
        f"""
        INSERT INTO {SPEC.table} (granularity, {", ".join(columns)}, {lineage})
        SELECT
            CASE WHEN datediff('day', time_period_start, time_period_end) = 1
                THEN 'DAILY' ELSE 'MONTHLY' END,
            {", ".join(columns)},
            ?, display, source_row, ?, ?, billing_account_id, time_period_start,
            false, 1, CAST(NULL AS DATE)
        FROM _ce_new
        """,
        [load_id, loaded_at, EXPORT_NAME],
    )
    con.execute("DROP TABLE _ce_spans")
    months = con.execute(
        """
        SELECT billing_account_id, CAST(date_trunc('month', day) AS DATE),
               CASE WHEN bool_or(action = 'replaced') THEN 'replaced' ELSE 'inserted' END,
               sum(n)
        FROM _ce_days GROUP BY ALL ORDER BY ALL
        """
    ).fetchall()
    return [PartitionResult(a, m, action, int(n)) for a, m, action, n in months]


# ------------------------------------------------------------------ command line


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``cost-explorer`` (the API) and ``cost-explorer-file`` (saved responses)."""
    api = sub.add_parser(
        "cost-explorer",
        help="AWS Cost Explorer GetCostAndUsage (daily/monthly × service × tag), via the API",
        description="Query AWS Cost Explorer for [--start, --end) and load the result: "
        "UnblendedCost, AmortizedCost and UsageQuantity per group, credits and refunds as "
        "their own rows. A load replaces the account's days it contains. Credentials and "
        "endpoint come from the standard AWS environment (AWS_PROFILE, AWS_ENDPOINT_URL, ...).",
    )
    api.add_argument("--start", type=_date, required=True, metavar="YYYY-MM-DD")
    api.add_argument("--end", type=_date, required=True, metavar="YYYY-MM-DD", help="exclusive")
    api.add_argument("--granularity", choices=["DAILY", "MONTHLY"], default="DAILY", type=str.upper)
    api.add_argument("--endpoint-url", help="Cost Explorer (and STS) endpoint, e.g. a test server")
    ce_file = sub.add_parser(
        "cost-explorer-file",
        help="saved AWS Cost Explorer GetCostAndUsage responses (.json file or folder)",
        description="Load saved GetCostAndUsage responses through the same flattening as "
        "cost-explorer. A response with only BlendedCost is refused (never allocate on "
        "blended cost) unless --allow-blended.",
    )
    ce_file.add_argument("path", type=Path, help="a .json response or a folder of them")
    ce_file.add_argument(
        "--allow-blended",
        action="store_true",
        help="load BlendedCost-only responses anyway (billed = effective = blended)",
    )
    ce_file.add_argument(
        "--force", action="store_true", help="reload even if these exact files were loaded"
    )
    for p in (api, ce_file):
        p.add_argument(
            "--group-by",
            action="append",
            default=[],
            metavar="KEY",
            help="SERVICE, LINKED_ACCOUNT, REGION …, TAG:<key> or COST_CATEGORY:<name> "
            "(at most 2; API default SERVICE; for files: the keys of a response saved "
            "without GroupDefinitions)",
        )
        p.add_argument(
            "--account-id",
            help="billing account of the results (default: the LINKED_ACCOUNT group key, "
            "else STS GetCallerIdentity on the API path)",
        )
        p.add_argument(
            "--db", help=f"DuckDB file (default: ${DEFAULT_DB_ENV} or {DEFAULT_DB_PATH})"
        )
        p.add_argument(
            "--allow-currency",
            action="append",
            default=[],
            metavar="CODE",
            help="accept a non-ISO currency (repeatable)",
        )
        p.add_argument("--quiet", action="store_true", help="no progress lines")
        p.add_argument("--json", action="store_true", help="print what the load did as JSON")
        p.add_argument(
            "--wait",
            type=float,
            default=0.0,
            metavar="SECONDS",
            help="if another process holds the database, wait this long",
        )


def run(args: argparse.Namespace) -> int:
    """Run ``cost-explorer`` or ``cost-explorer-file``; print what the load did."""
    commands.print_results([_run(args)], as_json=args.json)
    return 0


def _run(args: argparse.Namespace) -> LoadResult:
    group_bys = [parse_group_by(g) for g in args.group_by]
    progress = None if args.quiet else stderr_progress
    con = connect(args.db, wait=args.wait, progress=progress)
    try:
        if args.command == "cost-explorer":
            return load_api(
                con,
                start=args.start,
                end=args.end,
                granularity=args.granularity,
                group_bys=group_bys or [GroupBy("DIMENSION", "SERVICE")],
                account_id=args.account_id,
                endpoint_url=args.endpoint_url,
                allow_currencies=tuple(args.allow_currency),
                progress=progress,
            )
        return load_files(
            con,
            args.path,
            group_bys=group_bys,
            account_id=args.account_id,
            allow_blended=args.allow_blended,
            allow_currencies=tuple(args.allow_currency),
            force=args.force,
            progress=progress,
        )
    finally:
        con.close()


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-10-01") from None


register(
    Source(
        SPEC,
        command="cost-explorer-file",
        label="an AWS Cost Explorer response",
        add_parser=add_parser,
        run=run,
        commands=("cost-explorer", "cost-explorer-file"),
    )
)
