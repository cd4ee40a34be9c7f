"""Entry point for the sample data: ``generate()`` writes every source, ``main()`` is its CLI.

Every value comes from ``hash(key..., seed)``, so the same arguments always give the same
content (parquet row order may differ between runs: DuckDB writes in parallel).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from ingest.sample import company, cur, customers, otel, query_log, revenue, usage
from ingest.sample.company import CURRENCY

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SampleSummary:
    """What ``generate()`` wrote: paths, row counts and the billed total per billing period."""

    out_dir: Path
    seed: int
    granularity: str  # "daily" or "hourly" CUR lines
    billing_periods: tuple[str, ...]
    cur_data_files: tuple[Path, ...]
    cur_manifest_files: tuple[Path, ...]
    query_log_file: Path
    usage_file: Path
    revenue_file: Path
    customers_file: Path
    spans_file: Path
    zero_driver_date: date
    row_counts: Mapping[str, int] = field(hash=False)
    cur_rows_by_period: Mapping[str, int] = field(hash=False)
    unblended_cost_by_period: Mapping[str, Decimal] = field(hash=False)

    @property
    def files(self) -> tuple[Path, ...]:
        """Every file written, CUR first."""
        return (
            *self.cur_data_files,
            *self.cur_manifest_files,
            self.query_log_file,
            self.usage_file,
            self.revenue_file,
            self.customers_file,
            self.spans_file,
        )

    def __str__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        """Human-readable multi-line summary for printing."""
        lines = [f"sample data in {self.out_dir} (seed={self.seed}, {self.granularity} CUR lines)"]
        lines += [f"  {name:<10} {rows:>12,} rows" for name, rows in self.row_counts.items()]
        for period in self.billing_periods:
            lines.append(
                f"  CUR {period}: {self.cur_rows_by_period[period]:>12,} rows, "
                f"unblended {self.unblended_cost_by_period[period]:,.2f} {CURRENCY}"
            )
        lines.append(f"  zero-requests driver day: {self.zero_driver_date.isoformat()}")
        return "\n".join(lines)


def generate(
    out_dir: Path,
    *,
    cur_lines: int = 20_000,
    query_log_rows: int | None = None,
    seed: int = 42,
    start_month: str = "2026-08",
    months: int = 3,
) -> SampleSummary:
    """Write the full sample data set under ``out_dir`` and return what was written.

    ``cur_lines`` is the approximate total number of CUR rows across all billing periods (hit
    within a few percent above ~5 000 lines; below that the minimal fleet is generated anyway).
    ``query_log_rows`` defaults to about ``cur_lines``. Output paths owned by the generator are
    replaced, nothing else under ``out_dir`` is touched.
    """
    out_dir = Path(out_dir)
    if cur_lines <= 0:
        raise ValueError("cur_lines must be positive")
    if months <= 0:
        raise ValueError("months must be positive")
    if query_log_rows is not None and query_log_rows <= 0:
        raise ValueError("query_log_rows must be positive")
    seed = int(seed)
    calendar = company.calendar_months(company.parse_month(start_month), months)
    plan = cur.plan_export(cur_lines, calendar)
    q_rows = cur_lines if query_log_rows is None else query_log_rows
    started = time.perf_counter()
    logger.info(
        "generating sample data: %s CUR lines (%s), %s query_log rows, seed=%s, %s months from %s",
        cur_lines,
        plan.granularity,
        q_rows,
        seed,
        months,
        start_month,
    )

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        # Row order is not part of the contract (tests compare sorted content); letting DuckDB
        # write out of order keeps memory flat and COPY fully parallel.
        con.execute("SET preserve_insertion_order = false")
        company.create_tables(con, calendar, seed)
        cur.create_tables(con, plan)
        cur_files, manifests, rows_by_period, cost_by_period = cur.write(con, out_dir, plan, seed)
        query_log_file, n_query_log = query_log.write(con, out_dir, q_rows, seed)
        zero_day = usage.zero_driver_date(calendar)
        usage_file, n_usage = usage.write(con, out_dir, zero_day)
        revenue_file, n_revenue = revenue.write(con, out_dir)
        customers_file, n_customers = customers.write(con, out_dir)
    finally:
        con.close()
    spans_file = otel.write(out_dir, start_month=start_month, months=months, seed=seed)

    summary = SampleSummary(
        out_dir=out_dir,
        seed=seed,
        granularity=plan.granularity,
        billing_periods=tuple(m.billing_period for m in calendar),
        cur_data_files=tuple(cur_files),
        cur_manifest_files=tuple(manifests),
        query_log_file=query_log_file,
        usage_file=usage_file,
        revenue_file=revenue_file,
        customers_file=customers_file,
        spans_file=spans_file,
        zero_driver_date=zero_day,
        row_counts={
            "cur": sum(rows_by_period.values()),
            "query_log": n_query_log,
            "usage": n_usage,
            "revenue": n_revenue,
            "customers": n_customers,
        },
        cur_rows_by_period=rows_by_period,
        unblended_cost_by_period=cost_by_period,
    )
    logger.info("sample data written in %.2f s", time.perf_counter() - started)
    return summary


def main(argv: list[str] | None = None) -> int:
    """Generate the sample data from the command line and print a summary."""
    parser = argparse.ArgumentParser(
        prog="python -m ingest.sample_data",
        description="Generate the deterministic sample CUR / query_log / usage / revenue data.",
    )
    parser.add_argument("out_dir", type=Path, help="directory to write into")
    parser.add_argument("--cur-lines", type=int, default=20_000, help="approximate CUR rows")
    parser.add_argument("--query-log-rows", type=int, default=None, help="default: ~cur-lines")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--start-month", default="2026-08", help="first billing period YYYY-MM")
    parser.add_argument("--months", type=int, default=3)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    started = time.perf_counter()
    summary = generate(
        args.out_dir,
        cur_lines=args.cur_lines,
        query_log_rows=args.query_log_rows,
        seed=args.seed,
        start_month=args.start_month,
        months=args.months,
    )
    print(summary.describe())
    print(f"  elapsed: {time.perf_counter() - started:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
