"""Write "one new day" of data: a CUR 2.0 export's last day of the newest billing period, moved
one day on, as the next billing period's first delivery (a new partition) — what arrives when a
month turns over — and the same for ClickHouse query_log (the newest day's rows, one day on).
Used by the benchmark's incremental step and the incremental-model tests."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb


def write_new_day(cur_export_dir: Path, out_file: Path) -> tuple[str, int]:
    """Write the new day's lines to ``out_file`` (parquet); return (billing period, rows)."""
    files = sorted((cur_export_dir / "data").glob("BILLING_PERIOD=*/*.parquet"))
    if not files:
        raise SystemExit(f"{cur_export_dir}: no CUR 2.0 parquet files under data/")
    newest = files[-1].parent
    source = f"read_parquet('{newest.as_posix()}/*.parquet', hive_partitioning = false)"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    last_day = con.execute(
        f"select max(cast(line_item_usage_start_date as date)) from {source}"
    ).fetchone()[0]
    out_file.parent.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"""
        copy (
            select * replace (
                identity_line_item_id || '-next' as identity_line_item_id,
                line_item_usage_start_date + interval 1 day as line_item_usage_start_date,
                line_item_usage_end_date + interval 1 day as line_item_usage_end_date,
                date_trunc('month', line_item_usage_start_date + interval 1 day)
                    as bill_billing_period_start_date,
                date_trunc('month', line_item_usage_start_date + interval 1 day)
                    + interval 1 month as bill_billing_period_end_date
            )
            from {source}
            where cast(line_item_usage_start_date as date) = date '{last_day}'
        ) to '{out_file.as_posix()}' (format parquet)
        """
    )
    rows = con.execute(f"select count(*) from read_parquet('{out_file.as_posix()}')").fetchone()[0]
    period = con.execute(
        f"select strftime(min(bill_billing_period_start_date), '%Y-%m') "
        f"from read_parquet('{out_file.as_posix()}')"
    ).fetchone()[0]
    return period, int(rows)


def write_query_log_new_day(query_log_dir: Path, out_file: Path) -> tuple[str, int]:
    """Write query_log's newest day moved one day on to ``out_file``; return (day, rows)."""
    files = sorted(query_log_dir.glob("**/*.parquet"))
    if not files:
        raise SystemExit(f"{query_log_dir}: no query_log parquet files")
    source = "read_parquet([" + ", ".join(f"'{f.as_posix()}'" for f in files) + "])"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    last_day = con.execute(f"select max(event_date) from {source}").fetchone()[0]
    out_file.parent.mkdir(parents=True, exist_ok=True)
    shifted = ", ".join(
        f"{column} + interval 1 day as {column}"
        for column in (
            "event_time",
            "event_time_microseconds",
            "query_start_time",
            "query_start_time_microseconds",
        )
    )
    con.execute(
        f"""
        copy (
            select * replace (
                cast(event_date + interval 1 day as date) as event_date,
                {shifted},
                query_id || '-next' as query_id,
                initial_query_id || '-next' as initial_query_id
            )
            from {source}
            where event_date = date '{last_day}'
        ) to '{out_file.as_posix()}' (format parquet)
        """
    )
    rows = con.execute(f"select count(*) from read_parquet('{out_file.as_posix()}')").fetchone()[0]
    return str(con.execute(f"select date '{last_day}' + 1").fetchone()[0]), int(rows)


if __name__ == "__main__":
    print(write_new_day(Path(sys.argv[1]), Path(sys.argv[2])))
