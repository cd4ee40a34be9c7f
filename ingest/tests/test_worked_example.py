"""The worked example of docs/allocation.md, reproduced on fixture data through the whole pipeline.

Ingress load balancer: $100.00 on one day. Requests that day: replay 800, flags 200, so flags is
20 % of traffic and gets 20 % of ingress ($20.00), replay $80.00. Flags' cost then follows flag
evaluations per customer: cust_a 150, cust_b 50 → $15.00 / $5.00. A $9.99 untagged volume stays
visible as `untagged`; a $10.00 direct instance tagged product=flags (customer tag cust_b) is
100 % cust_b's.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ingest.cli import main
from ingest.demo import run_dbt

CUR = """\
bill/BillingPeriodStartDate,bill/PayerAccountId,lineItem/UsageAccountId,lineItem/LineItemType,\
lineItem/UsageStartDate,lineItem/ProductCode,lineItem/UsageType,lineItem/ResourceId,\
lineItem/CurrencyCode,lineItem/UnblendedCost,resourceTags/user:service,resourceTags/user:Product,\
resourceTags/user:customer
2026-08-01T00:00:00Z,1,2,Usage,2026-08-05T00:00:00Z,AWSELB,LoadBalancerUsage,alb-1,USD,100.00,ingress-alb,,
2026-08-01T00:00:00Z,1,2,Usage,2026-08-05T00:00:00Z,AmazonEC2,EBS:VolumeUsage,vol-9,USD,9.99,,,
2026-08-01T00:00:00Z,1,2,Usage,2026-08-05T00:00:00Z,AmazonEC2,BoxUsage:m5.large,i-1,USD,10.00,,flags,cust_b
"""

USAGE = """\
date,metric,product,customer_id,feature_id,quantity
2026-08-05,requests,replay,,,800
2026-08-05,requests,flags,,,200
2026-08-05,flag_requests,flags,cust_a,,150
2026-08-05,flag_requests,flags,cust_b,,50
"""


@pytest.fixture(scope="module")
def worked_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("worked")
    (root / "cur.csv").write_text(CUR)
    (root / "usage.csv").write_text(USAGE)
    db = root / "w.duckdb"
    assert main(["cur", str(root / "cur.csv"), "--db", str(db), "--quiet"]) == 0
    assert main(["usage", str(root / "usage.csv"), "--db", str(db), "--quiet"]) == 0
    proc = run_dbt(db, "build", capture=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    (root / "build.log").write_text(proc.stdout)
    return root


def rows(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_flags_gets_its_20_percent_of_ingress(worked_example: Path) -> None:
    got = rows(
        worked_example / "w.duckdb",
        """
        select product, customer_id, driver_name, product_share, customer_share,
               cast(allocated_effective_cost as double)
        from marts.fct_cost_allocation where rule_id = 'ingress_alb' order by 1, 2
    """,
    )
    assert got == [
        ("flags", "cust_a", "requests", 0.2, 0.75, 15.0),
        ("flags", "cust_b", "requests", 0.2, 0.25, 5.0),
        ("replay", None, "requests", 0.8, 1.0, 80.0),
    ]


def test_direct_and_untagged_lines(worked_example: Path) -> None:
    got = rows(
        worked_example / "w.duckdb",
        """
        select rule_id, method, product, customer_id, unallocated_reason,
               cast(allocated_effective_cost as double)
        from marts.fct_cost_allocation where source_kind = 'line_group' order by 1
    """,
    )
    assert got == [
        ("product_from_tag", "direct", "flags", "cust_b", None, 10.0),
        ("untagged", "residual", None, None, "untagged", 9.99),
    ]


def test_build_output_shows_unallocated_share(worked_example: Path) -> None:
    log = (worked_example / "build.log").read_text()
    assert "Cost allocation (effective cost):" in log
    assert "untagged" in log and "8.3 %" in log  # 9.99 of 119.99
