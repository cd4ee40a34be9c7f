"""Hostile tag keys and values are stored verbatim and flow to the marts; no SQL is injected."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb

from ingest.cli import main
from ingest.demo import run_dbt

HOSTILE = [
    'it\'s "quoted"',
    "semi;colon; DROP TABLE raw.aws_cur_line_items; --",
    "back\\slash\\\\n",
    "new\nline",
    "unicodé ✓ 中文 \U0001f600",
    "'); DELETE FROM raw._loads; --",
    "x" * 10_000,
]
HOSTILE_KEY = "user:we'ird\"; DROP TABLE x; --"


def test_hostile_values_land_verbatim_and_reach_the_marts(tmp_path: Path) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "bill/PayerAccountId",
            "bill/BillingPeriodStartDate",
            "lineItem/LineItemType",
            "lineItem/UsageStartDate",
            "lineItem/CurrencyCode",
            "lineItem/UnblendedCost",
            "lineItem/ResourceId",
            "resourceTags/user:product",
            f"resourceTags/{HOSTILE_KEY}",
        ]
    )
    for i, value in enumerate(HOSTILE):
        writer.writerow(
            [
                "111122223333",
                "2026-08-01T00:00:00Z",
                "Usage",
                "2026-08-02T00:00:00Z",
                "USD",
                f"{i + 1}.00",
                f"r-{i}",
                value,
                value,
            ]
        )
    f = tmp_path / "hostile.csv"
    f.write_text(buffer.getvalue(), encoding="utf-8")
    db = tmp_path / "w.duckdb"
    assert main(["cur", str(f), "--db", str(db), "--quiet"]) == 0

    con = duckdb.connect(str(db))
    raw = con.execute(
        "select resource_tags['user:product'], resource_tags[?] from raw.aws_cur_line_items "
        "order by line_item_unblended_cost",
        [HOSTILE_KEY],
    ).fetchall()
    con.close()
    assert raw == [(v, v) for v in HOSTILE]

    build = run_dbt(db, "build", capture=True)
    assert build.returncode == 0, build.stdout[-3000:]
    con = duckdb.connect(str(db), read_only=True)
    products = con.execute(
        "select product, cast(sum(allocated_effective_cost) as double) "
        "from marts.fct_cost_allocation group by 1 order by 2"
    ).fetchall()
    tables = {
        r[0]
        for r in con.execute(
            "select table_schema || '.' || table_name from information_schema.tables"
        ).fetchall()
    }
    con.close()
    assert products == [(v, float(i + 1)) for i, v in enumerate(HOSTILE)]
    assert {"raw.aws_cur_line_items", "raw._loads"} <= tables
