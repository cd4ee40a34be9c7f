"""Delivery mistakes: the ways users hand the loaders the same bill twice, half a bill, or a
file the loader misreads, each with the bill it truly represents.

A :class:`Case` builds its delivery files in a folder and returns a :class:`Plan`: the
``python -m ingest`` invocations a user would type (and the file moves they would make between
them), plus the true bill. :func:`run_case` runs the plan in real processes and judges it
(DOMAIN.md point 18: one bill, one source of record):

* a command that fails must print one ``error: ...`` line naming something specific (a file,
  column, row, account, period or prior load), no traceback, and leave the database exactly as
  it was before that command; or
* every command succeeds and the totals in the raw tables equal the true bill, per
  (provider, billing account, billing period, currency) for bills, (metric, day) for usage,
  (month, currency) for revenue and (hostname, day) rows for ``query_log``.

Anything else is a silent wrong total. The bill totals are summed across every bill table,
so a bill landed both as CUR and as FOCUS shows up as double.
"""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb

from ingest.tests.conftest import PROJECT_DIR, snapshot

Key = tuple[str, ...]
Totals = dict[Key, Decimal]
Step = list[str] | Callable[[], object]

PAYER = "111122223333"
OTHER_PAYER = "444455556666"
MEMBER = "777788889999"
OPEN_MONTH = "2026-09"
CLOSED_MONTH = "2026-08"
TOLERANCE = Decimal("0.0001")

# CUR 2.0 name → legacy CUR header, in file order. Currency, usage amount and cost sit side by
# side so a header file one name short shifts a number into the cost column.
CUR_COLUMNS: tuple[tuple[str, str], ...] = (
    ("identity_line_item_id", "identity/LineItemId"),
    ("identity_time_interval", "identity/TimeInterval"),
    ("bill_invoice_id", "bill/InvoiceId"),
    ("bill_payer_account_id", "bill/PayerAccountId"),
    ("bill_billing_period_start_date", "bill/BillingPeriodStartDate"),
    ("bill_billing_period_end_date", "bill/BillingPeriodEndDate"),
    ("line_item_usage_account_id", "lineItem/UsageAccountId"),
    ("line_item_line_item_type", "lineItem/LineItemType"),
    ("line_item_usage_start_date", "lineItem/UsageStartDate"),
    ("line_item_usage_end_date", "lineItem/UsageEndDate"),
    ("line_item_product_code", "lineItem/ProductCode"),
    ("line_item_usage_type", "lineItem/UsageType"),
    ("line_item_resource_id", "lineItem/ResourceId"),
    ("line_item_currency_code", "lineItem/CurrencyCode"),
    ("line_item_usage_amount", "lineItem/UsageAmount"),
    ("line_item_unblended_cost", "lineItem/UnblendedCost"),
    ("line_item_line_item_description", "lineItem/LineItemDescription"),
)
_PERIOD_COLUMNS = ("bill_billing_period_start_date", "bill_billing_period_end_date")
_TIME_COLUMNS = (*_PERIOD_COLUMNS, "line_item_usage_start_date", "line_item_usage_end_date")
_ISO = "%Y-%m-%dT%H:%M:%SZ"

_FOCUS_SELECT = f"""
    'AWS' AS "ProviderName",
    'AWS' AS "PublisherName",
    'AWS' AS "InvoiceIssuerName",
    bill_invoice_id AS "InvoiceId",
    bill_payer_account_id AS "BillingAccountId",
    line_item_usage_account_id AS "SubAccountId",
    line_item_currency_code AS "BillingCurrency",
    strftime(bill_billing_period_start_date, '{_ISO}') AS "BillingPeriodStart",
    strftime(bill_billing_period_end_date, '{_ISO}') AS "BillingPeriodEnd",
    strftime(line_item_usage_start_date, '{_ISO}') AS "ChargePeriodStart",
    strftime(line_item_usage_end_date, '{_ISO}') AS "ChargePeriodEnd",
    CASE
        WHEN line_item_line_item_type = 'Tax' THEN 'Tax'
        WHEN line_item_line_item_type IN ('Credit', 'Refund') THEN 'Credit'
        WHEN line_item_line_item_type IN ('RIFee', 'Fee', 'SavingsPlanRecurringFee')
            THEN 'Purchase'
        ELSE 'Usage'
    END AS "ChargeCategory",
    line_item_unblended_cost AS "BilledCost",
    line_item_unblended_cost AS "EffectiveCost",
    line_item_product_code AS "ServiceName",
    line_item_resource_id AS "ResourceId",
    line_item_line_item_description AS "ChargeDescription"
"""


def lit(path: Path | str) -> str:
    """A SQL string literal (for COPY targets, which take no parameters)."""
    return "'" + str(path).replace("'", "''") + "'"


def duck() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


# --------------------------------------------------------------------------- bills


_names = itertools.count()


@dataclass
class Bill:
    """CUR lines in an in-memory DuckDB table, written out in whichever format a case needs."""

    con: duckdb.DuckDBPyConnection
    table: str

    @classmethod
    def read(cls, parquet: Path) -> Bill:
        con = duck()
        cols = ", ".join(
            f"CAST({c} AS DECIMAL(38, 12)) AS {c}" if c == "line_item_unblended_cost" else c
            for c, _ in CUR_COLUMNS
        )
        con.execute(
            f"CREATE TABLE b0 AS SELECT {cols} FROM read_parquet(?) "
            "ORDER BY line_item_usage_start_date, identity_line_item_id",
            [str(parquet)],
        )
        return cls(con, "b0")

    def derive(self, select: str) -> Bill:
        """A new bill from ``select`` (``{t}`` stands for this bill's table)."""
        name = f"b{next(_names) + 1}"
        self.con.execute(f"CREATE TABLE {name} AS {select.format(t=self.table)}")
        return Bill(self.con, name)

    def where(self, condition: str) -> Bill:
        return self.derive(f"SELECT * FROM {{t}} WHERE {condition}")

    def first(self, n: int) -> Bill:
        return self.derive(f"SELECT * FROM {{t}} ORDER BY identity_line_item_id LIMIT {n}")

    def skip(self, n: int) -> Bill:
        return self.derive(f"SELECT * FROM {{t}} ORDER BY identity_line_item_id OFFSET {n}")

    def repeat_first(self, n: int) -> Bill:
        """The bill with its first ``n`` lines written a second time (a concatenation slip)."""
        return self.derive(
            "SELECT * FROM {t} UNION ALL "
            f"(SELECT * FROM {{t}} ORDER BY identity_line_item_id LIMIT {n})"
        )

    def plus_line(self, cost: str, line_id: str = "added-line-0001") -> Bill:
        """The bill with one more usage line of ``cost`` (a restatement that added a charge)."""
        return self.derive(
            "SELECT * FROM {t} UNION ALL SELECT * REPLACE ("
            f"'{line_id}' AS identity_line_item_id, CAST({cost} AS DECIMAL(38, 12)) "
            "AS line_item_unblended_cost, 'Usage' AS line_item_line_item_type, "
            "'late usage line' AS line_item_line_item_description) "
            "FROM (SELECT * FROM {t} ORDER BY identity_line_item_id LIMIT 1)"
        )

    def relabel(self, payer: str) -> Bill:
        return self.derive(f"SELECT * REPLACE ('{payer}' AS bill_payer_account_id) FROM {{t}}")

    def rows(self) -> int:
        return int(self.con.execute(f"SELECT count(*) FROM {self.table}").fetchone()[0])

    def truth(self) -> Totals:
        """The bill per (provider, payer, billing period, currency), from the lines themselves."""
        rows = self.con.execute(
            f"""
            SELECT bill_payer_account_id,
                   strftime(date_trunc('month', bill_billing_period_start_date), '%Y-%m-%d'),
                   line_item_currency_code, sum(line_item_unblended_cost)
            FROM {self.table} GROUP BY ALL
            """
        ).fetchall()
        return {("aws", a, p, c): Decimal(t) for a, p, c, t in rows}

    def _select(self, legacy: bool, drop: Sequence[str], period_offset: str | None) -> str:
        parts = []
        for snake, legacy_name in CUR_COLUMNS:
            if snake in drop:
                continue
            expr = snake
            if snake in _PERIOD_COLUMNS and period_offset:
                expr = f"strftime({snake}, '%Y-%m-%dT%H:%M:%S') || '{period_offset}'"
            elif snake in _TIME_COLUMNS:
                expr = f"strftime({snake}, '{_ISO}')"
            parts.append(f'{expr} AS "{legacy_name if legacy else snake}"')
        return f"SELECT {', '.join(parts)} FROM {self.table}"

    def write_csv(
        self,
        path: Path,
        *,
        legacy: bool = False,
        header: bool = True,
        drop: Sequence[str] = (),
        period_offset: str | None = None,
    ) -> Path:
        """A CUR 2.0 CSV (snake_case headers) or, with ``legacy``, a legacy CUR CSV
        (``lineItem/UnblendedCost``); ``.gz`` compresses. ``period_offset`` writes the
        billing-period timestamps as local time with that UTC offset (``+02:00``)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.con.execute(
            f"COPY ({self._select(legacy, drop, period_offset)}) TO {lit(path)} "
            f"(FORMAT csv, HEADER {str(header).lower()})"
        )
        return path

    def write_parquet(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.con.execute(f"COPY {self.table} TO {lit(path)} (FORMAT parquet)")
        return path

    def write_focus_csv(self, path: Path) -> Path:
        """The same lines as a FOCUS 1.x export (BilledCost = the unblended cost)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.con.execute(
            f"COPY (SELECT {_FOCUS_SELECT} FROM {self.table}) TO {lit(path)} (FORMAT csv)"
        )
        return path


def merge(*totals: Totals) -> Totals:
    out: Totals = {}
    for t in totals:
        for key, value in t.items():
            out[key] = out.get(key, Decimal(0)) + value
    return out


def mini_cur_csv(path: Path, lines: Iterable[tuple[str, str]], payer: str = PAYER) -> Path:
    """A tiny CUR 2.0 CSV: one September usage line per (line id, cost)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(
        f"{line_id},2026-09-03T00:00:00Z/2026-09-04T00:00:00Z,{payer},2026-09-01T00:00:00Z,"
        f"Usage,2026-09-03T00:00:00Z,USD,{cost}\n"
        for line_id, cost in lines
    )
    path.write_text(
        "identity_line_item_id,identity_time_interval,bill_payer_account_id,"
        "bill_billing_period_start_date,line_item_line_item_type,line_item_usage_start_date,"
        "line_item_currency_code,line_item_unblended_cost\n" + body
    )
    return path


def mini_truth(*costs: str, payer: str = PAYER) -> Totals:
    return {("aws", payer, "2026-09-01", "USD"): sum((Decimal(c) for c in costs), Decimal(0))}


def csv_to_parquet(csv_path: Path, parquet_path: Path) -> Path:
    con = duck()
    con.execute(
        f"COPY (SELECT * FROM read_csv(?, all_varchar = true)) TO {lit(parquet_path)} "
        "(FORMAT parquet)",
        [str(csv_path)],
    )
    con.close()
    return parquet_path


def write_manifest(path: Path, export: str, month: str, keys: Sequence[str]) -> Path:
    """A CUR 2.0 Data Exports manifest listing ``keys``."""
    start = dt.date.fromisoformat(f"{month}-01")
    end = (start + dt.timedelta(days=32)).replace(day=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "version": "1.0",
                "exportName": export,
                "billingPeriod": {"start": f"{start}T00:00:00.000Z", "end": f"{end}T00:00:00.000Z"},
                "bucket": "sample-bucket",
                "dataFiles": list(keys),
            },
            indent=2,
        )
    )
    return path


# --------------------------------------------------------------------------- the sample


@dataclass(frozen=True)
class Sample:
    """The bundled sample (``python -m ingest generate-sample``), generated once per module."""

    root: Path

    @property
    def export(self) -> Path:
        return self.root / "cur" / "saas-cur"

    def cur(self, month: str) -> Path:
        return self.export / "data" / f"BILLING_PERIOD={month}" / "saas-cur-00001.snappy.parquet"

    def bill(self, month: str = OPEN_MONTH) -> Bill:
        return Bill.read(self.cur(month))

    def copy_export(self, dest: Path, month: str = OPEN_MONTH) -> Path:
        """The sample's CUR 2.0 export folder (data + manifests) with only ``month`` in it."""
        keep = f"BILLING_PERIOD={month}"

        def ignore(_dir: str, names: list[str]) -> list[str]:
            return [n for n in names if n.startswith("BILLING_PERIOD=") and n != keep]

        shutil.copytree(self.export, dest, ignore=ignore)
        return dest

    @property
    def usage(self) -> Path:
        return self.root / "usage" / "usage.parquet"

    @property
    def revenue(self) -> Path:
        return self.root / "revenue" / "revenue.csv"

    @property
    def query_log(self) -> Path:
        return self.root / "clickhouse" / "query_log.parquet"

    def usage_truth(self, path: Path | None = None) -> Totals:
        return _usage_truth(f"read_parquet({lit(path or self.usage)})")

    def revenue_truth(self) -> Totals:
        con = duck()
        rows = con.execute(
            "SELECT strftime(CAST(month AS DATE), '%Y-%m-%d'), currency, "
            "sum(CAST(amount AS DECIMAL(38, 12))) FROM read_csv(?, all_varchar = true) "
            "GROUP BY ALL",
            [str(self.revenue)],
        ).fetchall()
        return {("revenue", m, c): Decimal(t) for m, c, t in rows}

    def query_log_truth(self) -> Totals:
        con = duck()
        rows = con.execute(
            "SELECT hostname, strftime(event_date, '%Y-%m-%d'), count(*) FROM read_parquet(?) "
            "GROUP BY ALL",
            [str(self.query_log)],
        ).fetchall()
        return {("query_log", h, d): Decimal(n) for h, d, n in rows}


def _usage_truth(relation: str) -> Totals:
    con = duck()
    rows = con.execute(
        f"SELECT metric, strftime(CAST(date AS DATE), '%Y-%m-%d'), "
        f"CAST(sum(CAST(quantity AS DOUBLE)) AS DECIMAL(38, 6)) FROM {relation} GROUP BY ALL"
    ).fetchall()
    return {("usage", m, d): Decimal(q) for m, d, q in rows}


# --------------------------------------------------------------------------- cases


@dataclass
class Ctx:
    """Where a case builds its files and which warehouse its commands write."""

    dir: Path
    db: Path
    sample: Sample

    def cli(self, command: str, path: Path | str, *extra: str) -> list[str]:
        return [command, str(path), "--db", str(self.db), "--quiet", *extra]

    def __truediv__(self, rel: str) -> Path:
        return self.dir / rel


@dataclass
class Plan:
    steps: list[Step]
    truth: Totals


@dataclass(frozen=True)
class Case:
    """One mistake. ``expect``: ``either`` (a clear refusal or the right totals), ``load``
    (the delivery is legitimate: only the right totals pass) or ``refuse``. ``mentions``: words
    of which a refusal must name one (case-insensitive)."""

    name: str
    what: str
    build: Callable[[Ctx], Plan] = field(repr=False)
    expect: str = "either"
    mentions: tuple[str, ...] = ()


CASES: list[Case] = []


def case(
    name: str, what: str, *, expect: str = "either", mentions: tuple[str, ...] = ()
) -> Callable[[Callable[[Ctx], Plan]], Callable[[Ctx], Plan]]:
    def register(build: Callable[[Ctx], Plan]) -> Callable[[Ctx], Plan]:
        CASES.append(Case(name, what, build, expect, mentions))
        return build

    return register


def overwrite(target: Path, source: Path, *, keep_mtime: bool = False) -> Callable[[], None]:
    """A step: the user replaces ``target`` with ``source`` (an in-place re-delivery)."""

    def step() -> None:
        (shutil.copy2 if keep_mtime else shutil.copyfile)(source, target)

    return step


# ---- the observed mistakes -------------------------------------------------------------------


@case("01-cur2-folder-then-data-file", "CUR 2.0 month as the export folder, then as its data file")
def _(ctx: Ctx) -> Plan:
    export = ctx.sample.copy_export(ctx / "saas-cur")
    data = export / "data" / f"BILLING_PERIOD={OPEN_MONTH}" / "saas-cur-00001.snappy.parquet"
    return Plan(
        [ctx.cli("cur", export), ctx.cli("cur", data)],
        ctx.sample.bill().truth(),
    )


@case("02-cur2-then-legacy-csv", "CUR 2.0 export, then the same lines as legacy CUR CSV")
def _(ctx: Ctx) -> Plan:
    bill = ctx.sample.bill()
    export = ctx.sample.copy_export(ctx / "saas-cur")
    legacy = bill.write_csv(ctx / "legacy" / "legacy-cur-00001.csv", legacy=True)
    return Plan(
        [ctx.cli("cur", export), ctx.cli("cur", legacy, "--export", "legacy-cur")],
        bill.truth(),
    )


@case("03-cur2-then-focus", "CUR 2.0 export, then a FOCUS export of the same account and month")
def _(ctx: Ctx) -> Plan:
    bill = ctx.sample.bill()
    export = ctx.sample.copy_export(ctx / "saas-cur")
    focus = bill.write_focus_csv(ctx / "focus" / "focus-2026-09.csv")
    return Plan([ctx.cli("cur", export), ctx.cli("focus", focus)], bill.truth())


@case("04-repeated-rows", "10 lines written twice in one CUR CSV")
def _(ctx: Ctx) -> Plan:
    bill = ctx.sample.bill().first(200)
    path = bill.repeat_first(10).write_csv(ctx / "delivery" / "cur-2026-09.csv")
    return Plan([ctx.cli("cur", path)], bill.truth())


@case("05-redownloaded-copy", "bill.csv beside its re-download 'bill (1).csv', no manifest")
def _(ctx: Ctx) -> Plan:
    bill = ctx.sample.bill().first(200)
    folder = ctx / "downloads"
    bill.write_csv(folder / "bill.csv")
    shutil.copyfile(folder / "bill.csv", folder / "bill (1).csv")
    return Plan([ctx.cli("cur", folder)], bill.truth())


@case("06a-file-symlink", "a file and a symlink to it in one folder")
def _(ctx: Ctx) -> Plan:
    bill = ctx.sample.bill().first(200)
    folder = ctx / "delivery"
    bill.write_csv(folder / "bill.csv")
    os.symlink(folder / "bill.csv", folder / "current.csv")
    return Plan([ctx.cli("cur", folder)], bill.truth())


@case("06b-latest-dir-symlink", "a month folder and a 'latest' symlink to it")
def _(ctx: Ctx) -> Plan:
    bill = ctx.sample.bill().first(200)
    folder = ctx / "bills"
    bill.write_csv(folder / "2026-09" / "bill.csv")
    os.symlink(folder / "2026-09", folder / "latest", target_is_directory=True)
    return Plan([ctx.cli("cur", folder)], bill.truth())


@case("07-mtd-snapshots", "four month-to-date CUR 2.0 snapshots side by side, no manifest")
def _(ctx: Ctx) -> Plan:
    bill = ctx.sample.bill()
    part = ctx / "saas-cur" / "data" / f"BILLING_PERIOD={OPEN_MONTH}"
    for n, day in enumerate((8, 15, 22, 31), 1):
        upto = bill.where(
            f"line_item_usage_start_date < TIMESTAMP '2026-09-01' + INTERVAL {day - 1} DAY"
        )
        upto.write_parquet(part / f"2026-09-{day - 1:02d}T0600Z-run{n}" / "saas-cur-00001.parquet")
    return Plan([ctx.cli("cur", ctx / "saas-cur")], bill.truth())


@case("08a-glob-star-in-name", "folder with 'x*.csv' ($1) and 'xa.csv' ($10)")
def _(ctx: Ctx) -> Plan:
    folder = ctx / "glob"
    mini_cur_csv(folder / "x*.csv", [("star-1", "1.00")])
    mini_cur_csv(folder / "xa.csv", [("plain-10", "10.00")])
    return Plan([ctx.cli("cur", folder)], mini_truth("1.00", "10.00"))


@case("08b-glob-brackets-in-name", "'a[b].parquet' ($1) beside 'ab.parquet' ($100)")
def _(ctx: Ctx) -> Plan:
    folder = ctx / "glob"
    csv_to_parquet(mini_cur_csv(ctx / "src" / "one.csv", [("bracket-1", "1.00")]), ctx / "a.tmp")
    csv_to_parquet(
        mini_cur_csv(ctx / "src" / "hundred.csv", [("plain-100", "100.00")]), ctx / "b.tmp"
    )
    folder.mkdir()
    (ctx / "a.tmp").rename(folder / "a[b].parquet")
    (ctx / "b.tmp").rename(folder / "ab.parquet")
    return Plan([ctx.cli("cur", folder)], mini_truth("1.00", "100.00"))


@case("08c-glob-brackets-in-folder", "load folder 'data[1]/' ($1) beside 'data1/' ($100)")
def _(ctx: Ctx) -> Plan:
    mini_cur_csv(ctx / "data[1]" / "bill.csv", [("bracket-1", "1.00")])
    mini_cur_csv(ctx / "data1" / "bill.csv", [("plain-100", "100.00")])
    return Plan([ctx.cli("cur", ctx / "data[1]")], mini_truth("1.00"))


@case(
    "09-two-exports-one-truncated",
    "one folder, two exports (two manifests); the second's data file is truncated",
    expect="refuse",
)
def _(ctx: Ctx) -> Plan:
    bill = ctx.sample.bill()
    other = bill.relabel(OTHER_PAYER)
    root = ctx / "bucket" / "cur"
    for export, lines in (("a-export", bill), ("b-export", other)):
        rel = f"data/BILLING_PERIOD={OPEN_MONTH}/{export}-00001.snappy.parquet"
        lines.write_parquet(root / export / rel)
        write_manifest(
            root / export / "metadata" / f"BILLING_PERIOD={OPEN_MONTH}" / f"{export}-Manifest.json",
            export,
            OPEN_MONTH,
            [f"s3://sample-bucket/cur/{export}/{rel}"],
        )
    cut = (
        root
        / "b-export"
        / "data"
        / f"BILLING_PERIOD={OPEN_MONTH}"
        / "b-export-00001.snappy.parquet"
    )
    data = cut.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    return Plan([ctx.cli("cur", root)], merge(bill.truth(), other.truth()))


@case(
    "10a-restated-with-offset",
    "month restated in place with billing period '2026-09-01T00:00:00+02:00'",
    expect="load",
)
def _(ctx: Ctx) -> Plan:
    bill = ctx.sample.bill().first(300)
    restated = bill.plus_line("100")
    target = bill.write_csv(ctx / "delivery" / "cur-2026-09.csv")
    new = restated.write_csv(ctx / "incoming" / "cur-2026-09.csv", period_offset="+02:00")
    return Plan(
        [ctx.cli("cur", target), overwrite(target, new), ctx.cli("cur", target)],
        restated.truth(),
    )


@case(
    "10b-usage-local-date",
    "usage rows dated '2026-08-01T23:30-05:00' belong to 2026-08-01",
    expect="load",
)
def _(ctx: Ctx) -> Plan:
    path = ctx / "usage" / "usage.csv"
    path.parent.mkdir(parents=True)
    path.write_text(
        "date,metric,product,customer_id,feature_id,quantity\n"
        "2026-08-01T23:30-05:00,requests,replay,cust_001,,5\n"
        "2026-08-02T08:00-05:00,requests,replay,cust_001,,7\n"
    )
    truth = {
        ("usage", "requests", "2026-08-01"): Decimal(5),
        ("usage", "requests", "2026-08-02"): Decimal(7),
    }
    return Plan([ctx.cli("usage", path)], truth)


@case(
    "11-restatement-without-payer",
    "legacy CUR restated in place without the bill/PayerAccountId column",
    expect="refuse",
    mentions=("PayerAccountId", "payer_account_id"),
)
def _(ctx: Ctx) -> Plan:
    bill = ctx.sample.bill().first(300)
    target = bill.write_csv(ctx / "delivery" / "cur-2026-09.csv", legacy=True)
    new = bill.plus_line("100").write_csv(
        ctx / "incoming" / "cur-2026-09.csv", legacy=True, drop=("bill_payer_account_id",)
    )
    return Plan(
        [ctx.cli("cur", target), overwrite(target, new), ctx.cli("cur", target)], bill.truth()
    )


@case(
    "12-closed-month-a-b-a",
    "closed month delivered A, then B (+$100), then A again (same bytes and mtime as before)",
)
def _(ctx: Ctx) -> Plan:
    a = ctx.sample.bill(CLOSED_MONTH)
    b = a.plus_line("100")
    target = ctx / "delivery" / "cur-2026-08.csv"
    a_file = a.write_csv(ctx / "versions" / "a" / "cur-2026-08.csv")
    b_file = b.write_csv(ctx / "versions" / "b" / "cur-2026-08.csv")
    target.parent.mkdir()
    shutil.copy2(a_file, target)
    # Corrections of a closed month are booked to the month received; B then A nets to zero there.
    return Plan(
        [
            ctx.cli("cur", target),
            overwrite(target, b_file),
            ctx.cli("cur", target),
            overwrite(target, a_file, keep_mtime=True),
            ctx.cli("cur", target),
        ],
        a.truth(),
    )


@case("13-closed-month-in-two-calls", "a closed month split in two files, loaded in two calls")
def _(ctx: Ctx) -> Plan:
    a = ctx.sample.bill(CLOSED_MONTH)
    half = a.rows() // 2
    one = a.first(half).write_csv(ctx / "delivery" / "cur-2026-08-part-1.csv")
    two = a.skip(half).write_csv(ctx / "delivery" / "cur-2026-08-part-2.csv")
    return Plan([ctx.cli("cur", one), ctx.cli("cur", two)], a.truth())


@case(
    "14a-dir-symlink-no-manifest",
    "export folder whose second account's folder is a symlink to synced storage",
    expect="load",
)
def _(ctx: Ctx) -> Plan:
    bill = ctx.sample.bill().first(200)
    other = bill.relabel(OTHER_PAYER)
    bill.write_csv(ctx / "bills" / "payer-1111" / "cur-2026-09.csv")
    other.write_csv(ctx / "storage" / "payer-4444" / "cur-2026-09.csv")
    os.symlink(ctx / "storage" / "payer-4444", ctx / "bills" / "payer-4444")
    return Plan([ctx.cli("cur", ctx / "bills")], merge(bill.truth(), other.truth()))


@case(
    "14b-dir-symlink-in-export",
    "CUR 2.0 export whose data/BILLING_PERIOD folder is a symlink (manifest present)",
    expect="load",
)
def _(ctx: Ctx) -> Plan:
    export = ctx.sample.copy_export(ctx / "saas-cur")
    part = export / "data" / f"BILLING_PERIOD={OPEN_MONTH}"
    stored = ctx / "storage" / part.name
    stored.parent.mkdir()
    shutil.move(part, stored)
    os.symlink(stored, part, target_is_directory=True)
    return Plan([ctx.cli("cur", export)], ctx.sample.bill().truth())


def _shrink(ctx: Ctx, *extra: str) -> tuple[list[Step], Bill, Bill]:
    bill = ctx.sample.bill()
    small = bill.first(bill.rows() // 10)
    target = bill.write_csv(ctx / "delivery" / "cur-2026-09.csv")
    new = small.write_csv(ctx / "incoming" / "cur-2026-09.csv")
    return (
        [ctx.cli("cur", target), overwrite(target, new), ctx.cli("cur", target, *extra)],
        bill,
        small,
    )


@case(
    "15a-shrunken-delivery",
    "re-delivery with 10 % of the rows of the one it replaces",
    expect="refuse",
)
def _(ctx: Ctx) -> Plan:
    steps, bill, _small = _shrink(ctx)
    return Plan(steps, bill.truth())


@case(
    "15b-shrunken-delivery-allowed",
    "the same 10 % re-delivery with --allow-shrink",
    expect="load",
)
def _(ctx: Ctx) -> Plan:
    steps, _bill, small = _shrink(ctx, "--allow-shrink")
    return Plan(steps, small.truth())


@case("16-csv-hash-in-values", "CUR CSV whose values contain ' # '", expect="load")
def _(ctx: Ctx) -> Plan:
    bill = ctx.sample.bill().first(200)
    hashed = bill.derive(
        "SELECT * REPLACE (line_item_line_item_description || ' # see ticket 42' "
        "AS line_item_line_item_description, 'vol # ' || coalesce(line_item_resource_id, 'n/a') "
        "AS line_item_resource_id) FROM {t}"
    )
    return Plan([ctx.cli("cur", hashed.write_csv(ctx / "delivery" / "cur.csv"))], hashed.truth())


@case("17-csv-mixed-newlines", "CUR CSV with CRLF and LF line ends mixed")
def _(ctx: Ctx) -> Plan:
    bill = ctx.sample.bill().first(200)
    path = bill.write_csv(ctx / "delivery" / "cur.csv")
    lines = path.read_text().splitlines()
    path.write_bytes(
        "".join(line + ("\r\n" if i % 2 else "\n") for i, line in enumerate(lines)).encode()
    )
    return Plan([ctx.cli("cur", path)], bill.truth())


@case(
    "18-header-file-one-short",
    "headerless CUR with a --header-file missing one name (usage amount, before the cost)",
)
def _(ctx: Ctx) -> Plan:
    bill = ctx.sample.bill().first(200)
    path = bill.write_csv(ctx / "delivery" / "cur-noheader.csv", header=False)
    names = [c for c, _ in CUR_COLUMNS if c != "line_item_usage_amount"]
    header = ctx / "header.txt"
    header.write_text("\n".join(names) + "\n")
    return Plan([ctx.cli("cur", path, "--header-file", str(header))], bill.truth())


@case(
    "19-oci-zero-rows-no-currency",
    "OCI report whose 0.00 rows have a blank currency",
    expect="load",
)
def _(ctx: Ctx) -> Plan:
    tenant = "ocid1.tenancy.oc1..aaaatenant"
    path = ctx / "oci" / "reports_cost-csv_0001.csv"
    path.parent.mkdir()
    head = (
        "lineItem/referenceNo,lineItem/tenantId,lineItem/intervalUsageStart,"
        "lineItem/intervalUsageEnd,product/service,product/resourceId,usage/billedQuantity,"
        "cost/myCost,cost/currencyCode,lineItem/isCorrection\n"
    )
    rows = [
        ("r1", "2026-09-03T10:00Z", "COMPUTE", "1", "1.50", "USD"),
        ("r2", "2026-09-03T11:00Z", "COMPUTE", "1", "2.25", "USD"),
        ("r3", "2026-09-03T11:00Z", "BLOCK_STORAGE", "0", "0.00", ""),
        ("r4", "2026-09-04T11:00Z", "NETWORK", "0", "0", ""),
        ("r5", "2026-09-04T12:00Z", "COMPUTE", "0", "0.00", "USD"),
    ]
    path.write_text(
        head
        + "".join(
            f"{ref},{tenant},{start},{start},{svc},ocid1.instance.{ref},{qty},{cost},{cur},false\n"
            for ref, start, svc, qty, cost, cur in rows
        )
    )
    return Plan([ctx.cli("oci", path)], {("oci", tenant, "2026-09-01", "USD"): Decimal("3.75")})


# ---- more mistakes -------------------------------------------------------------------------


@case("20-same-file-two-folders", "one export folder holding the file and an archived copy of it")
def _(ctx: Ctx) -> Plan:
    bill = ctx.sample.bill().first(200)
    folder = ctx / "cur-export"
    bill.write_csv(folder / "2026-09" / "cur.csv")
    (folder / "archive").mkdir()
    shutil.copyfile(folder / "2026-09" / "cur.csv", folder / "archive" / "2026-09-cur.csv")
    return Plan([ctx.cli("cur", folder)], bill.truth())


@case("21-manifest-lists-file-twice", "CUR 2.0 manifest whose dataFiles lists one key twice")
def _(ctx: Ctx) -> Plan:
    export = ctx.sample.copy_export(ctx / "saas-cur")
    manifest = export / "metadata" / f"BILLING_PERIOD={OPEN_MONTH}" / "saas-cur-Manifest.json"
    doc = json.loads(manifest.read_text())
    doc["dataFiles"] = doc["dataFiles"] * 2
    manifest.write_text(json.dumps(doc))
    return Plan([ctx.cli("cur", export)], ctx.sample.bill().truth())


@case("22-payer-and-member-exports", "payer export, then a member account's export of its lines")
def _(ctx: Ctx) -> Plan:
    bill = ctx.sample.bill()
    payer = bill.write_csv(ctx / "payer" / "payer-cur-00001.csv")
    member = bill.where(f"line_item_usage_account_id = '{MEMBER}'").write_csv(
        ctx / "member" / "member-cur-00001.csv"
    )
    return Plan(
        [
            ctx.cli("cur", payer, "--export", "payer-cur"),
            ctx.cli("cur", member, "--export", "member-cur"),
        ],
        bill.truth(),
    )


@case("23-query-log-day-reexported", "query_log, then one day re-exported under another export")
def _(ctx: Ctx) -> Plan:
    day = ctx / "reexport" / "query_log-2026-08-05.parquet"
    day.parent.mkdir()
    con = duck()
    con.execute(
        f"COPY (SELECT * FROM read_parquet(?) WHERE event_date = DATE '2026-08-05') "
        f"TO {lit(day)} (FORMAT parquet)",
        [str(ctx.sample.query_log)],
    )
    return Plan(
        [
            ctx.cli("query-log", ctx.sample.query_log, "--export", "ch-all-nodes"),
            ctx.cli("query-log", day, "--export", "ch-2026-08-05"),
        ],
        ctx.sample.query_log_truth(),
    )


@case("24-revenue-two-names", "revenue loaded twice: two file names, two export names")
def _(ctx: Ctx) -> Plan:
    copy = ctx / "finance" / "revenue-2026.csv"
    copy.parent.mkdir()
    shutil.copyfile(ctx.sample.revenue, copy)
    return Plan(
        [
            ctx.cli("revenue", ctx.sample.revenue, "--export", "billing-system"),
            ctx.cli("revenue", copy, "--export", "finance-sheet"),
        ],
        ctx.sample.revenue_truth(),
    )


@case("25-usage-two-exports", "usage metrics loaded twice under two export names")
def _(ctx: Ctx) -> Plan:
    copy = ctx / "warehouse-export" / "usage.parquet"
    copy.parent.mkdir()
    shutil.copyfile(ctx.sample.usage, copy)
    return Plan(
        [
            ctx.cli("usage", ctx.sample.usage, "--export", "product-db"),
            ctx.cli("usage", copy, "--export", "warehouse"),
        ],
        ctx.sample.usage_truth(),
    )


@case("26-gzip-and-plain-twin", "cur.csv and cur.csv.gz of the same lines in one folder")
def _(ctx: Ctx) -> Plan:
    bill = ctx.sample.bill().first(200)
    folder = ctx / "delivery"
    plain = bill.write_csv(folder / "cur.csv")
    with gzip.open(folder / "cur.csv.gz", "wb") as fh:
        fh.write(plain.read_bytes())
    return Plan([ctx.cli("cur", folder)], bill.truth())


@case("27-focus-two-export-names", "one FOCUS file loaded under two export names")
def _(ctx: Ctx) -> Plan:
    bill = ctx.sample.bill()
    focus = bill.write_focus_csv(ctx / "focus" / "focus-2026-09.csv")
    return Plan(
        [
            ctx.cli("focus", focus, "--export", "focus-daily"),
            ctx.cli("focus", focus, "--export", "focus-monthly"),
        ],
        bill.truth(),
    )


@case("28-cur-copy-relabelled", "a CUR file, then its backup copy loaded as another export")
def _(ctx: Ctx) -> Plan:
    bill = ctx.sample.bill().first(300)
    original = bill.write_csv(ctx / "delivery" / "cur-2026-09.csv")
    backup = ctx / "backup" / "2026-09" / "cur-2026-09.csv"
    backup.parent.mkdir(parents=True)
    shutil.copyfile(original, backup)
    return Plan(
        [ctx.cli("cur", original), ctx.cli("cur", backup.parent, "--export", "cur-backup")],
        bill.truth(),
    )


@case("29-utf16-csv", "CUR CSV saved as UTF-16 (Excel 'Unicode text')")
def _(ctx: Ctx) -> Plan:
    bill = ctx.sample.bill().first(100)
    path = bill.write_csv(ctx / "delivery" / "cur.csv")
    path.write_text(path.read_text(), encoding="utf-16")
    return Plan([ctx.cli("cur", path)], bill.truth())


@case("30-parquet-named-csv", "a parquet file named .csv")
def _(ctx: Ctx) -> Plan:
    bill = ctx.sample.bill().first(100)
    path = bill.write_parquet(ctx / "delivery" / "cur.parquet")
    path.rename(path.with_suffix(".csv"))
    return Plan([ctx.cli("cur", path.with_suffix(".csv"))], bill.truth())


@case("31-header-only-file", "a header-only CSV among good part files")
def _(ctx: Ctx) -> Plan:
    bill = ctx.sample.bill().first(200)
    folder = ctx / "delivery"
    bill.first(100).write_csv(folder / "cur-part-1.csv")
    bill.skip(100).write_csv(folder / "cur-part-2.csv")
    bill.where("false").write_csv(folder / "cur-part-3.csv")
    return Plan([ctx.cli("cur", folder)], bill.truth())


@case(
    "32-replace-other-export",
    "CUR 2.0 export, then a different legacy CUR of the month with --replace",
    expect="load",
)
def _(ctx: Ctx) -> Plan:
    export = ctx.sample.copy_export(ctx / "saas-cur")
    legacy = ctx.sample.bill().skip(5).plus_line("100")
    path = legacy.write_csv(ctx / "legacy" / "legacy-cur-00001.csv", legacy=True)
    return Plan(
        [ctx.cli("cur", export), ctx.cli("cur", path, "--export", "legacy-cur", "--replace")],
        legacy.truth(),
    )


@case("33-focus-then-cur2", "a FOCUS export, then the CUR 2.0 export of the same month")
def _(ctx: Ctx) -> Plan:
    bill = ctx.sample.bill()
    focus = bill.write_focus_csv(ctx / "focus" / "focus-2026-09.csv")
    export = ctx.sample.copy_export(ctx / "saas-cur")
    return Plan([ctx.cli("focus", focus), ctx.cli("cur", export)], bill.truth())


@case(
    "34-legacy-assemblies-no-manifest",
    "legacy CUR report folder with two assembly ids of one month, manifest not downloaded",
)
def _(ctx: Ctx) -> Plan:
    bill = ctx.sample.bill()
    month = ctx / "report" / "saas-report" / "20260901-20261001"
    early = bill.where("line_item_usage_start_date < TIMESTAMP '2026-09-15'")
    early.write_csv(month / "0f1e2d3c-early" / "saas-report-1.csv", legacy=True)
    bill.write_csv(month / "9a8b7c6d-final" / "saas-report-1.csv", legacy=True)
    return Plan([ctx.cli("cur", ctx / "report")], bill.truth())


@case("35-azure-two-exports", "Azure cost details of one month from a daily and a monthly export")
def _(ctx: Ctx) -> Plan:
    head = (
        "BillingAccountId,BillingAccountName,BillingPeriodStartDate,BillingPeriodEndDate,Date,"
        "SubscriptionId,MeterCategory,Quantity,CostInBillingCurrency,BillingCurrencyCode,"
        "ChargeType\n"
    )
    rows = "".join(
        f"8600001,Contoso,09/01/2026,09/30/2026,09/{day:02d}/2026,sub-1,Virtual Machines,24,"
        f"{cost},EUR,Usage\n"
        for day, cost in ((2, "10.50"), (3, "11.25"), (4, "9.75"))
    )
    daily = ctx / "azure" / "daily" / "part_0_0001.csv"
    monthly = ctx / "azure" / "monthly" / "contoso-actualcost-202609.csv"
    for path in (daily, monthly):
        path.parent.mkdir(parents=True)
        path.write_text(head + rows)
    return Plan(
        [
            ctx.cli("azure", daily, "--export", "azure-daily"),
            ctx.cli("azure", monthly, "--export", "azure-monthly"),
        ],
        {("azure", "8600001", "2026-09-01", "EUR"): Decimal("31.50")},
    )


@case("36-usage-repeated-rows", "usage CSV with 5 rows written twice")
def _(ctx: Ctx) -> Plan:
    path = ctx / "usage" / "usage-2026-08.csv"
    path.parent.mkdir()
    con = duck()
    rows = "SELECT * FROM read_parquet(?) WHERE date <= DATE '2026-08-03'"
    con.execute(
        f"COPY ({rows} UNION ALL ({rows} ORDER BY ALL LIMIT 5)) TO {lit(path)} (FORMAT csv)",
        [str(ctx.sample.usage), str(ctx.sample.usage)],
    )
    truth = _usage_truth(
        f"(SELECT * FROM read_parquet({lit(ctx.sample.usage)}) WHERE date <= DATE '2026-08-03')"
    )
    return Plan([ctx.cli("usage", path)], truth)


@case("37-parquet-and-csv-twins", "cur.parquet and cur.csv of the same lines in one folder")
def _(ctx: Ctx) -> Plan:
    bill = ctx.sample.bill().first(200)
    bill.write_parquet(ctx / "delivery" / "cur.parquet")
    bill.write_csv(ctx / "delivery" / "cur.csv")
    return Plan([ctx.cli("cur", ctx / "delivery")], bill.truth())


@case("38-focus-repeated-rows", "FOCUS CSV with 5 rows written twice")
def _(ctx: Ctx) -> Plan:
    bill = ctx.sample.bill().first(200)
    focus = bill.repeat_first(5).write_focus_csv(ctx / "focus" / "focus.csv")
    return Plan([ctx.cli("focus", focus)], bill.truth())


@case("39-cur2-csv-gz-then-parquet", "CUR 2.0 month as csv.gz export, then as parquet export")
def _(ctx: Ctx) -> Plan:
    bill = ctx.sample.bill()
    gz = bill.write_csv(ctx / "csv-export" / "saas-cur-csv-00001.csv.gz")
    export = ctx.sample.copy_export(ctx / "saas-cur")
    return Plan(
        [ctx.cli("cur", gz, "--export", "saas-cur-csv"), ctx.cli("cur", export)], bill.truth()
    )


@case(
    "40-usage-customerid-header",
    "usage days re-exported with the header 'customerid' instead of 'customer_id'",
    expect="refuse",
    mentions=("did you mean `customer_id`",),
)
def _(ctx: Ctx) -> Plan:
    # Same totals either way: only a refusal keeps the customers the days were split by.
    good = ctx / "usage" / "usage-2026-08.csv"
    bad = ctx / "incoming" / "usage-2026-08.csv"
    good.parent.mkdir()
    bad.parent.mkdir()
    # One line per (day, metric, product, feature, quantity), so that without its customer no
    # line repeats another: the bad file is refused for its header, not as a copy.
    rows = (
        f"SELECT * FROM read_parquet({lit(ctx.sample.usage)}) WHERE date <= DATE '2026-08-02' "
        "QUALIFY row_number() OVER (PARTITION BY date, metric, product, feature_id, quantity) = 1"
    )
    con = duck()
    con.execute(f"COPY ({rows}) TO {lit(good)} (FORMAT csv)")
    con.execute(
        f"COPY (SELECT * RENAME (customer_id AS customerid) FROM ({rows})) TO {lit(bad)} "
        "(FORMAT csv)"
    )
    return Plan(
        [ctx.cli("usage", good), overwrite(good, bad), ctx.cli("usage", good)],
        _usage_truth(f"({rows})"),
    )


# ---- controls: legitimate deliveries that must load ------------------------------------------


@case(
    "c1-control-normal-loads", "the sample's exports loaded normally, the CUR twice", expect="load"
)
def _(ctx: Ctx) -> Plan:
    export = ctx.sample.copy_export(ctx / "saas-cur")
    s = ctx.sample
    return Plan(
        [
            ctx.cli("cur", export),
            ctx.cli("cur", export),
            ctx.cli("usage", s.usage),
            ctx.cli("revenue", s.revenue),
            ctx.cli("query-log", s.query_log),
        ],
        merge(s.bill().truth(), s.usage_truth(), s.revenue_truth(), s.query_log_truth()),
    )


@case(
    "c2-control-closed-month-refund",
    "closed month re-delivered with a late -$50 refund line (booked to the month received)",
    expect="load",
)
def _(ctx: Ctx) -> Plan:
    a = ctx.sample.bill(CLOSED_MONTH)
    later = a.plus_line("-50", "late-refund-0001")
    target = a.write_csv(ctx / "delivery" / "cur-2026-08.csv")
    new = later.write_csv(ctx / "incoming" / "cur-2026-08.csv")
    received = dt.datetime.now(dt.UTC).date().replace(day=1).isoformat()
    truth = merge(a.truth(), {("aws", PAYER, received, "USD"): Decimal(-50)})
    return Plan([ctx.cli("cur", target), overwrite(target, new), ctx.cli("cur", target)], truth)


# --------------------------------------------------------------------------- judging


_BILL_TABLES = {
    "raw.aws_cur_line_items": (
        "'aws'",
        "bill_payer_account_id",
        "line_item_currency_code",
        "line_item_unblended_cost",
    ),
    "raw.focus_line_items": (
        "CASE WHEN lower(provider_name) IN ('aws', 'amazon web services') THEN 'aws' "
        "WHEN lower(provider_name) IN ('microsoft', 'azure', 'microsoft azure') THEN 'azure' "
        "WHEN lower(provider_name) IN ('oracle', 'oci', 'oracle cloud infrastructure') "
        "THEN 'oci' ELSE lower(provider_name) END",
        "billing_account_id",
        "billing_currency",
        "billed_cost",
    ),
    "raw.azure_cost_details": (
        "'azure'",
        "billing_account_id",
        "billing_currency_code",
        "cost_in_billing_currency",
    ),
    "raw.oci_cost_reports": ("'oci'", "line_item_tenant_id", "cost_currency_code", "cost_my_cost"),
}
_PERIOD = "strftime(coalesce(_correction_period, _billing_period), '%Y-%m-%d')"
_SIGN = "coalesce(_correction_sign, 1)"
_OTHER_TABLES = {
    "raw.usage_metrics": (
        "SELECT 'usage', metric, strftime(date, '%Y-%m-%d'), "
        "CAST(sum(quantity * {sign}) AS DECIMAL(38, 6)) FROM {t} GROUP BY ALL"
    ),
    "raw.revenue": (
        "SELECT 'revenue', strftime(month, '%Y-%m-%d'), upper(trim(coalesce(currency, ''))), "
        "sum(amount * {sign}) FROM {t} GROUP BY ALL"
    ),
    "raw.clickhouse_query_log": (
        "SELECT 'query_log', coalesce(hostname, ''), "
        "strftime(coalesce(event_date, CAST(event_time AS DATE)), '%Y-%m-%d'), count(*) "
        "FROM {t} GROUP BY ALL"
    ),
}


def db_state(db: Path) -> dict[str, tuple[object, ...]]:
    """conftest.snapshot of the warehouse file, or {} before it exists."""
    if not db.exists():
        return {}
    con = duckdb.connect(str(db), read_only=True)
    try:
        return snapshot(con)
    finally:
        con.close()


def warehouse_totals(db: Path) -> Totals:
    """What the raw tables say the bills (and usage, revenue, query_log rows) add up to."""
    if not db.exists():
        return {}
    con = duckdb.connect(str(db), read_only=True)
    try:
        present = {
            f"{s}.{t}"
            for s, t in con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables"
            ).fetchall()
        }
        out: Totals = {}
        for table, (provider, account, currency, cost) in _BILL_TABLES.items():
            if table not in present:
                continue
            rows = con.execute(
                f"SELECT {provider}, coalesce(CAST({account} AS VARCHAR), ''), {_PERIOD}, "
                f"upper(trim(coalesce({currency}, ''))), sum({cost} * {_SIGN}) "
                f"FROM {table} GROUP BY ALL"
            ).fetchall()
            out = merge(out, {tuple(r[:4]): Decimal(r[4] or 0) for r in rows})
        for table, sql in _OTHER_TABLES.items():
            if table in present:
                rows = con.execute(sql.format(t=table, sign=_SIGN)).fetchall()
                out = merge(out, {tuple(r[:3]): Decimal(r[3] or 0) for r in rows})
        return out
    finally:
        con.close()


def differences(got: Totals, truth: Totals) -> list[tuple[Key, Decimal, Decimal]]:
    """(key, got, bill) wherever they differ; keys that total zero on both sides are equal."""
    keys = sorted(set(got) | set(truth))
    out = []
    for key in keys:
        g, t = got.get(key, Decimal(0)), truth.get(key, Decimal(0))
        if abs(g - t) > TOLERANCE:
            out.append((key, g, t))
    return out


@dataclass(frozen=True)
class Outcome:
    """How a case ended. ``verdict``: refused, correct, warned (loaded as delivered, with a
    printed notice naming what the user should check), silent-wrong, bad-refusal,
    wrongly-refused (a legitimate delivery refused) or not-refused (loaded, must be refused)."""

    case: str
    verdict: str
    detail: str
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.verdict in ("refused", "correct", "warned")

    @property
    def text(self) -> str:
        return {
            "refused": f"refused: {self.detail}",
            "correct": "correct totals",
            "warned": f"loaded with a notice: {self.detail}",
            "silent-wrong": f"SILENT WRONG TOTAL ({self.detail})",
            "bad-refusal": f"BAD REFUSAL ({self.detail})",
            "wrongly-refused": f"WRONGLY REFUSED, must load: {self.detail}",
            "not-refused": f"LOADED, MUST BE REFUSED ({self.detail})",
        }[self.verdict]


_SPECIFIC = re.compile(
    r"row \d|column|\b\d{12}\b|\b\d{4}-\d{2}\b|\d{8}T\d{6}-[0-9a-f]{8}|export '",
    re.IGNORECASE,
)


def _error_line(stderr: str, returncode: int) -> str:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    if not lines:
        return f"exit {returncode} with nothing on stderr"
    return next((line for line in lines if "error:" in line), lines[0])


def _judge_refusal(
    c: Case,
    ctx: Ctx,
    proc: subprocess.CompletedProcess[str],
    before: dict[str, tuple[object, ...]],
) -> Outcome:
    err = proc.stderr.strip()
    # The table shows paths relative to the case's folder, so the message itself stays readable.
    line = _error_line(err, proc.returncode).replace(f"{ctx.dir}/", "")
    shown = line if len(line) <= 150 else line[:147] + "..."
    problems = []
    if db_state(ctx.db) != before:
        problems.append("the failed command changed the database")
    if "Traceback" in err:
        problems.append("traceback")
    if len(err.splitlines()) != 1 or not err.startswith("error: "):
        problems.append("not one 'error:' line")
    elif c.mentions and not any(m.lower() in err.lower() for m in c.mentions):
        problems.append(f"does not name {' / '.join(c.mentions)}")
    elif str(ctx.dir) not in err and not _SPECIFIC.search(err):
        problems.append("names no file, column, row, account, period or load")
    if problems:
        return Outcome(c.name, "bad-refusal", f"{'; '.join(problems)}: {shown}")
    if c.expect == "load":
        return Outcome(c.name, "wrongly-refused", shown)
    return Outcome(c.name, "refused", shown)


def _key_text(key: Key) -> str:
    """``aws 111122223333 2026-09 USD``; usage and query_log keys keep their day."""
    monthly = key[0] not in ("usage", "query_log")
    return " ".join(
        (part[:7] if monthly and len(part) == 10 and part[4] == "-" else part) or "''"
        for part in key
    )


def run_case(c: Case, root: Path, sample: Sample) -> Outcome:
    """Build the case's files under ``root/<name>``, run its commands, judge the result."""
    started = dt.datetime.now()
    work = root / c.name
    work.mkdir(parents=True)
    ctx = Ctx(work, work / "warehouse.duckdb", sample)
    plan = c.build(ctx)
    outcome = None
    notices: list[str] = []
    for step in plan.steps:
        if callable(step):
            step()
            continue
        before = db_state(ctx.db)
        proc = subprocess.run(
            [sys.executable, "-m", "ingest", *step],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if proc.returncode != 0:
            outcome = _judge_refusal(c, ctx, proc, before)
            break
        notices += [ln.strip() for ln in proc.stdout.splitlines() if "notice:" in ln]
    if outcome is None:
        wrong = differences(warehouse_totals(ctx.db), plan.truth)
        if wrong:
            key, got, bill = wrong[0]
            more = f"; +{len(wrong) - 1} more" if len(wrong) > 1 else ""
            detail = f"{_key_text(key)}: got {got:,.2f}, bill {bill:,.2f}{more}"
            # Not silent when the load said what it kept and why (a FOCUS file repeating a
            # line it has no id for is taken as delivered: real exports do that).
            outcome = (
                Outcome(c.name, "warned", notices[0][:140])
                if notices
                else Outcome(c.name, "silent-wrong", detail)
            )
        elif c.expect == "refuse":
            outcome = Outcome(c.name, "not-refused", "totals happen to be right")
        else:
            outcome = Outcome(c.name, "correct", "")
    seconds = (dt.datetime.now() - started).total_seconds()
    return Outcome(outcome.case, outcome.verdict, outcome.detail, seconds)


def run_cases(
    cases: Sequence[Case], root: Path, sample: Sample, workers: int | None = None
) -> dict[str, Outcome]:
    """Run cases side by side (each has its own folder and warehouse)."""
    workers = workers or max(2, min(4, (os.cpu_count() or 2) + 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = pool.map(lambda c: run_case(c, root, sample), cases)
        return {o.case: o for o in outcomes}


def table(outcomes: Iterable[Outcome]) -> str:
    """The ``mistake → outcome`` table."""
    rows = list(outcomes)
    width = max(len(o.case) for o in rows)
    lines = [f"{'delivery mistake':<{width}}  outcome", "-" * (width + 60)]
    lines += [f"{o.case:<{width}}  {o.text}" for o in rows]
    return "\n".join(lines)
