"""``python -m ingest export-focus DIR``: the allocation as a FOCUS 1.3 cost-and-usage dataset.

Each origin charge is split into allocated charges that carry FOCUS 1.3's split cost allocation
columns (AllocatedMethodId, AllocatedMethodDetails, AllocatedResourceId, AllocatedResourceName,
AllocatedTags). An origin charge is one source of ``marts.fct_cost_allocation`` (a line group or
a pool group: bill lines of one day or month, bill, currency and service), narrowed to one
ChargeCategory, ChargeClass and provider, because a FOCUS row has one of each; its bill lines are
found again through ``intermediate.int_allocation__lines``. A source with one such part (nearly
all of them) keeps the mart's allocated amounts row for row; a source that mixes, say, Usage and
Tax lines is split per part by the same shares. Every amount is split by largest remainder to
the cent, the sub-cent residue on the largest share, so per origin the allocated amounts sum to
the origin exactly and the ratios sum to 1.

Written with DuckDB's COPY, twice from one staged table: ``focus_cost_and_usage.parquet``
(typed: decimal(38,12) money, timestamps; for engines and BI tools) and
``focus_cost_and_usage.csv`` (FOCUS Date/Time text ``2026-09-01T00:00:00Z``; what most FOCUS
validators and spreadsheets read without a Parquet library).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)

PARQUET_NAME = "focus_cost_and_usage.parquet"
CSV_NAME = "focus_cost_and_usage.csv"
FOCUS_VERSION = "1.3"

# FOCUS ServiceCategory per cost component (seeds/rules/allocation_tag_rules.csv's component).
SERVICE_CATEGORIES = {
    "compute": "Compute",
    "storage": "Storage",
    "network": "Networking",
    "database": "Databases",
    "clickhouse": "Databases",
    "ai": "AI and Machine Learning",
    "other": "Other",
}

REQUIRED = (
    "marts.fct_cost_allocation",
    "marts.fct_cost_line_items",
    "intermediate.int_allocation__lines",
    "seeds.allocation_pools",
)


class FocusExportError(Exception):
    """The export cannot be made: no warehouse, marts not built, no data, DIR not writable."""


@dataclass(frozen=True)
class ExportResult:
    rows: int
    origins: int
    files: tuple[Path, ...]
    billing_periods: tuple[dt.date, ...]


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The ``export-focus`` sub-command."""
    p = sub.add_parser(
        "export-focus",
        help="write the allocation as a FOCUS 1.3 cost-and-usage dataset (Parquet + CSV)",
        description="Write the built allocation (marts.fct_cost_allocation) as a FOCUS 1.3 "
        "cost-and-usage dataset: each origin charge split into allocated charges with the "
        "Allocated* columns, ratios summing to 1 and amounts to the origin. Writes "
        f"DIR/{PARQUET_NAME} and DIR/{CSV_NAME}, replacing them.",
    )
    p.add_argument("out", type=Path, metavar="DIR", help="folder to write the dataset into")
    p.add_argument("--db", help="DuckDB file (default: $COST_MODEL_DB or the project default)")
    p.add_argument(
        "--month",
        type=_month,
        metavar="YYYY-MM",
        help="one billing period (invoice month) only (default: every billing period)",
    )


def _month(text: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month: use YYYY-MM") from None


def run(args: argparse.Namespace) -> int:
    """Run ``export-focus``; print what was written. Exit 1 with a message on a bad request."""
    from ingest.load.db import database_path

    try:
        result = export_focus(database_path(args.db), args.out, month=args.month)
    except FocusExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    periods = ", ".join(p.strftime("%Y-%m") for p in result.billing_periods)
    print(
        f"FOCUS {FOCUS_VERSION} cost and usage: {result.rows:,} allocated charges of "
        f"{result.origins:,} origin charges, billing periods {periods}"
    )
    for path in result.files:
        print(f"  {path}")
    return 0


def _check_writable(out: Path) -> None:
    """Fail before any work if ``out`` cannot become a folder of ours; create nothing yet."""
    if out.exists() and not out.is_dir():
        raise FocusExportError(f"{out} is a file, not a folder: name a folder to write into")
    existing = out
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise FocusExportError(f"{existing} is a file, not a folder: cannot create {out} in it")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise FocusExportError(f"{existing} is not writable: name a folder you can write to")


def _open(db: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the warehouse attached read-only as ``wh``: the export stages
    its rows in memory and never writes to the warehouse."""
    if not db.exists():
        raise FocusExportError(
            f"{db} does not exist: load the exports and run `dbt build` first "
            "(or `python -m ingest demo` for the sample)"
        )
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    try:
        con.execute(f"ATTACH '{db.as_posix().replace(chr(39), chr(39) * 2)}' AS wh (READ_ONLY)")
    except duckdb.Error as exc:
        con.close()
        raise FocusExportError(
            f"{db}: cannot open read-only ({exc}); is a load or dbt build writing to it?"
        ) from None
    have = {
        f"{schema}.{name}"
        for schema, name in con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = 'wh'"
        ).fetchall()
    }
    missing = [t for t in REQUIRED if t not in have]
    if missing:
        con.close()
        raise FocusExportError(
            f"{db} has no {missing[0]}: the warehouse is not built; run `dbt build` first "
            "(or `python -m ingest demo` for the sample)"
        )
    cols = {
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns where table_catalog = 'wh' "
            "and table_schema = 'marts' and table_name = 'fct_cost_allocation'"
        ).fetchall()
    }
    if "allocated_method_details" not in cols:
        con.close()
        raise FocusExportError(
            f"{db}: marts.fct_cost_allocation has no FOCUS allocation columns (built by an "
            "older version of the models); run `dbt build --select fct_cost_allocation` first"
        )
    return con


def _split(amount: str, name: str) -> str:
    """SQL: ``amount`` (an origin total) split over the origin's rows by ``share``, largest
    remainder to the cent, the sub-cent residue and any double rounding on the largest share."""
    return f"""
    {name}_parts as (
        select
            *,
            floor(cast(round({amount}, 2) as double) * share * 100) as {name}_floor_cents,
            cast(round({amount}, 2) as double) * share * 100
                - floor(cast(round({amount}, 2) as double) * share * 100) as {name}_remainder
        from origin_rows
    ),
    {name}_ranked as (
        select
            *,
            round(round({amount}, 2) * 100
                - sum({name}_floor_cents) over (partition by origin_id)) as {name}_extra_cents,
            row_number() over (
                partition by origin_id
                order by {name}_remainder desc, allocated_resource_id
            ) as {name}_rank
        from {name}_parts
    ),
    {name}_cents as (
        select
            allocation_key,
            origin_id,
            is_largest,
            cast(
                ({name}_floor_cents + case when {name}_rank <= {name}_extra_cents then 1 else 0 end)
                / 100 as decimal(38, 12)
            ) as {name}_base,
            {amount} as {name}_origin
        from {name}_ranked
    ),
    {name}_split as (
        select
            allocation_key,
            origin_id,
            {name}_base + case when is_largest
                then {name}_origin - sum({name}_base) over (partition by origin_id)
                else 0 end as {name}
        from {name}_cents
    )"""


def focus_sql(month: dt.date | None) -> str:
    """The SELECT of the FOCUS rows (allocated charges), one per origin part × target."""
    period = line_period = ""
    if month is not None:
        period = f"and billing_period = date '{month.isoformat()}'"
        line_period = f"and l.billing_period = date '{month.isoformat()}'"
    categories = " ".join(f"when '{k}' then '{v}'" for k, v in SERVICE_CATEGORIES.items())
    return f"""
    with
    allocation as (
        select * from wh.marts.fct_cost_allocation where true {period}
    ),
    pools as (
        select pool_id, share_grain from wh.seeds.allocation_pools
    ),
    -- each bill line's source key, built as int_allocation__direct and __pool_costs build
    -- theirs; _tie_check proves the two still agree
    lines as (
        select
            case when l.allocation_path in ('direct', 'untagged') then concat_ws(':',
                coalesce(l.product_rule_id, 'untagged'), cast(l.charge_date as varchar),
                l.billing_currency, coalesce(cast(l.billing_period as varchar), '-'),
                coalesce(l.billing_account_id, '-'), coalesce(l.product, '-'),
                coalesce(l.customer_id, '-'), coalesce(l.team, '-'),
                coalesce(l.feature_id, '-'), coalesce(l.environment, '-'),
                coalesce(l.service_code, '-'), l.component)
            else concat_ws(':', l.pool_id, cast(case when p.share_grain = 'month'
                    then l.cost_month else l.charge_date end as varchar),
                l.billing_currency, coalesce(cast(l.billing_period as varchar), '-'),
                coalesce(l.billing_account_id, '-'), coalesce(l.service_code, '-'),
                l.component)
            end as source_key,
            l.component,
            f.*
        from wh.intermediate.int_allocation__lines as l
        inner join wh.marts.fct_cost_line_items as f on l.cost_line_key = f.cost_line_key
        left join pools as p on l.pool_id = p.pool_id
        where true {line_period}
    ),
    origins as (
        select
            concat_ws('|', source_key, charge_category, coalesce(charge_class, '-'),
                coalesce(provider, '-')) as origin_id,
            source_key,
            charge_category,
            charge_class,
            provider,
            count(*) as n_lines,
            min(charge_period_start) as charge_period_start,
            max(charge_period_end) as charge_period_end,
            coalesce(any_value(service_name), any_value(service_code)) as service_name,
            any_value(component) as component,
            case when count(distinct sub_account_id) = 1 then any_value(sub_account_id) end
                as sub_account_id,
            case when count(distinct invoice_id) = 1 then any_value(invoice_id) end
                as invoice_id,
            sum(billed_cost) as origin_billed_cost,
            sum(effective_cost) as origin_effective_cost,
            sum(coalesce(list_cost, billed_cost)) as origin_list_cost,
            sum(coalesce(net_billed_cost, billed_cost)) as origin_contracted_cost,
            count(*) over (partition by source_key) as n_parts
        from lines
        group by source_key, charge_category, charge_class, provider
    ),
    origin_rows as (
        select
            o.*,
            a.* exclude (source_key),
            row_number() over (
                partition by o.origin_id order by a.share desc, a.allocated_resource_id
            ) = 1 as is_largest
        from origins as o
        inner join allocation as a on o.source_key = a.source_key
    ),
    {_split("origin_billed_cost", "billed_cost")},
    {_split("origin_effective_cost", "effective_cost")},
    {_split("origin_list_cost", "list_cost")},
    {_split("origin_contracted_cost", "contracted_cost")}
    select
        cast(r.billing_period as timestamp) as BillingPeriodStart,
        cast(r.billing_period + interval 1 month as timestamp) as BillingPeriodEnd,
        r.charge_period_start as ChargePeriodStart,
        r.charge_period_end as ChargePeriodEnd,
        r.billing_account_id as BillingAccountId,
        cast(null as varchar) as BillingAccountName,
        r.sub_account_id as SubAccountId,
        r.billing_currency as BillingCurrency,
        r.invoice_id as InvoiceId,
        r.provider as ServiceProviderName,
        r.provider as HostProviderName,
        r.provider as InvoiceIssuerName,
        r.service_name as ServiceName,
        case r.component {categories} else 'Other' end as ServiceCategory,
        r.charge_category as ChargeCategory,
        r.charge_class as ChargeClass,
        concat('Allocated by ', r.rule_id, ': ', r.n_lines, ' ', r.service_name, ' ',
            lower(r.charge_category), ' bill line(s)') as ChargeDescription,
        cast(null as decimal(38, 12)) as PricingQuantity,
        cast(null as varchar) as PricingUnit,
        case when r.n_parts = 1 then r.allocated_billed_cost else b.billed_cost end
            as BilledCost,
        case when r.n_parts = 1 then r.allocated_effective_cost else e.effective_cost end
            as EffectiveCost,
        l.list_cost as ListCost,
        c.contracted_cost as ContractedCost,
        r.allocated_method_id as AllocatedMethodId,
        r.allocated_method_details as AllocatedMethodDetails,
        r.allocated_resource_id as AllocatedResourceId,
        r.allocated_resource_name as AllocatedResourceName,
        r.allocated_tags as AllocatedTags,
        r.origin_id as x_SplitOriginId,
        r.origin_billed_cost as x_SplitOriginCost,
        r.origin_effective_cost as x_SplitOriginEffectiveCost,
        r.origin_list_cost as x_SplitOriginListCost,
        r.origin_contracted_cost as x_SplitOriginContractedCost,
        r.n_lines as x_SplitOriginLineCount,
        r.source_key as x_SourceKey,
        r.allocation_key as x_AllocationKey,
        r.is_unallocated as x_IsUnallocated,
        r.unallocated_reason as x_UnallocatedReason
    from origin_rows as r
    inner join billed_cost_split as b on r.allocation_key = b.allocation_key
        and r.origin_id = b.origin_id
    inner join effective_cost_split as e on r.allocation_key = e.allocation_key
        and r.origin_id = e.origin_id
    inner join list_cost_split as l on r.allocation_key = l.allocation_key
        and r.origin_id = l.origin_id
    inner join contracted_cost_split as c on r.allocation_key = c.allocation_key
        and r.origin_id = c.origin_id
    """


def _tie_check(con: duckdb.DuckDBPyConnection, month: dt.date | None) -> None:
    """Every source's bill lines must add up to the source: the export's origins are found
    from the lines, so a source they miss would silently vanish from the dataset."""
    period = "" if month is None else f"where billing_period = date '{month.isoformat()}'"
    bad = con.execute(
        f"""
        with sources as (
            select source_key, any_value(source_billed_cost) as billed,
                any_value(source_effective_cost) as effective
            from wh.marts.fct_cost_allocation {period}
            group by source_key
        ),
        origins as (
            select x_SourceKey as source_key, x_SplitOriginId,
                any_value(x_SplitOriginCost) as billed,
                any_value(x_SplitOriginEffectiveCost) as effective
            from focus_rows group by 1, 2
        ),
        per_source as (
            select source_key, sum(billed) as billed, sum(effective) as effective
            from origins group by 1
        )
        select s.source_key, s.billed, p.billed, s.effective, p.effective
        from sources as s left join per_source as p using (source_key)
        where p.source_key is null or p.billed <> s.billed or p.effective <> s.effective
        limit 1
        """
    ).fetchone()
    if bad:
        raise FocusExportError(
            f"source {bad[0]} of marts.fct_cost_allocation does not tie to its bill lines in "
            f"intermediate.int_allocation__lines (billed {bad[1]} vs {bad[2]}, effective "
            f"{bad[3]} vs {bad[4]}): the export's source keys no longer match the models'; "
            "nothing was written"
        )


def export_focus(db: Path, out: Path, *, month: dt.date | None = None) -> ExportResult:
    """Write the FOCUS 1.3 dataset of ``db``'s allocation into ``out``; replace earlier files."""
    con = _open(db)
    try:
        periods = tuple(
            p
            for (p,) in con.execute(
                "select distinct billing_period from wh.marts.fct_cost_allocation order by 1"
            ).fetchall()
        )
        if not periods:
            raise FocusExportError(
                f"{db}: marts.fct_cost_allocation is empty: load a bill and run `dbt build`"
            )
        if month is not None and month not in periods:
            have = ", ".join(p.strftime("%Y-%m") for p in periods)
            raise FocusExportError(
                f"no allocation for billing period {month:%Y-%m} in {db}; billing periods "
                f"there: {have}"
            )
        _check_writable(out)
        con.execute(f"create temp table focus_rows as {focus_sql(month)}")
        _tie_check(con, month)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FocusExportError(f"cannot create {out}: {exc}") from None
        rows, origins = con.execute(
            "select count(*), count(distinct x_SplitOriginId) from focus_rows"
        ).fetchone()
        files = []
        for name, options in (
            (PARQUET_NAME, "FORMAT parquet"),
            (CSV_NAME, "FORMAT csv, HEADER, TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%SZ'"),
        ):
            target = out / name
            partial = out / f".{name}.partial"
            sql_path = partial.as_posix().replace("'", "''")
            try:
                con.execute(
                    f"COPY (select * from focus_rows order by x_SplitOriginId, "
                    f"AllocatedResourceId) TO '{sql_path}' ({options})"
                )
                partial.replace(target)  # readers never see half a file
            except (duckdb.Error, OSError) as exc:
                partial.unlink(missing_ok=True)
                raise FocusExportError(f"cannot write {target}: {exc}") from None
            files.append(target)
        log.info("FOCUS export: %s rows, %s origins", rows, origins)
        return ExportResult(
            rows=rows,
            origins=origins,
            files=tuple(files),
            billing_periods=(month,) if month else periods,
        )
    finally:
        con.close()
