"""End to end: bundled sample → loaders → ``dbt build`` → hand-checkable invariants; plus lint."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ingest.demo import dbt_build, run_dbt
from ingest.tests.conftest import PROJECT_DIR


def query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_every_raw_line_is_in_the_unified_table_once(built_sample: Path) -> None:
    raw = query(
        built_sample,
        """
        select (select count(*) from raw.aws_cur_line_items) + (select count(*) from raw.focus_line_items)
             + (select count(*) from raw.azure_cost_details) + (select count(*) from raw.oci_cost_reports)
    """,
    )
    assert query(
        built_sample,
        "select count(*), count(distinct cost_line_key) from marts.fct_cost_line_items",
    ) == [(raw[0][0], raw[0][0])]


def test_savings_plan_and_ri_amortize_to_what_was_billed(built_sample: Path) -> None:
    # The sample's SP and RI are no-upfront and live within each month, so over a month the
    # amortized cost of their lines equals what was billed for them.
    rows = query(
        built_sample,
        """
        select billing_period,
               sum(billed_cost) filter (where line_item_type like 'SavingsPlan%'),
               sum(effective_cost) filter (where line_item_type like 'SavingsPlan%'),
               sum(billed_cost) filter (where line_item_type in ('DiscountedUsage', 'RIFee')),
               sum(effective_cost) filter (where line_item_type in ('DiscountedUsage', 'RIFee'))
        from marts.fct_cost_line_items where source_system = 'aws_cur' and export_name = 'saas-cur'
        group by 1 order by 1
    """,
    )
    assert len(rows) >= 3
    for period, sp_billed, sp_eff, ri_billed, ri_eff in rows:
        assert sp_billed > 0 and ri_billed > 0, period
        assert abs(sp_billed - sp_eff) < 0.01, period
        assert abs(ri_billed - ri_eff) < 0.01, period


def test_unused_commitment_is_visible(built_sample: Path) -> None:
    (unused,) = query(
        built_sample,
        "select sum(effective_cost) from marts.fct_cost_line_items "
        "where is_unused_commitment and export_name = 'saas-cur'",
    )[0]
    assert unused > 0


def test_split_cost_pods_never_double_count_their_parent(built_sample: Path) -> None:
    rows = query(
        built_sample,
        """
        select count(*), sum(billed_cost), sum(effective_cost), sum(split_cost)
        from marts.fct_cost_line_items where is_split_cost_line
    """,
    )
    n, billed, effective, split = rows[0]
    assert n > 0 and billed == 0 and effective == 0 and split > 0


def test_credits_tax_and_fees_are_kept(built_sample: Path) -> None:
    cats = dict(
        query(
            built_sample,
            "select charge_category, count(*) from marts.fct_cost_line_items "
            "where export_name = 'saas-cur' group by 1",
        )
    )
    assert {"Usage", "Purchase", "Tax", "Credit"} <= set(cats)


def test_tag_spellings_are_normalised(built_sample: Path) -> None:
    keys = {
        k
        for (k,) in query(
            built_sample, "select distinct unnest(map_keys(tags)) from marts.fct_cost_line_items"
        )
    }
    assert "product" in keys and "user_product" not in keys


def test_sqlfluff_lint_is_clean(tmp_path: Path) -> None:
    # The dbt templater opens the warehouse; give it a throwaway one.
    env = {**os.environ, "COST_MODEL_DB": str(tmp_path / "lint.duckdb")}
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "sqlfluff"), "lint", "models", "tests"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def test_conservation_tests_catch_a_one_cent_drift(built_sample: Path, tmp_path: Path) -> None:
    only_singular = ("--select", "test_type:singular", "--resource-type", "test")
    # one copy, untampered then tampered: the second build reuses the first one's parse
    tampered = tmp_path / "tampered.duckdb"
    tampered.write_bytes(built_sample.read_bytes())
    assert dbt_build(tampered, *only_singular)  # the same selection passes untampered
    con = duckdb.connect(str(tampered))
    con.execute(
        "update marts.fct_cost_line_items set billed_cost = billed_cost + 0.01 "
        "where cost_line_key = (select min(cost_line_key) from marts.fct_cost_line_items)"
    )
    con.close()
    assert not dbt_build(tampered, *only_singular)


def test_allocation_ties_to_the_bill_per_month(built_sample: Path) -> None:
    got = query(
        built_sample,
        """
        with a as (
            select cost_month as m, billing_currency as c,
                   sum(allocated_effective_cost) as e, sum(allocated_billed_cost) as b
            from marts.fct_cost_allocation group by all
        ), l as (
            select date_trunc('month', charge_date)::date as m, billing_currency as c,
                   sum(effective_cost) as e, sum(billed_cost) as b
            from marts.fct_cost_line_items where not is_split_cost_line group by all
        )
        select count(*), count(*) filter (where a.e = l.e and a.b = l.b)
        from l full join a using (m, c)
    """,
    )
    ((n, equal),) = got
    assert n > 0 and n == equal  # exact decimal equality, every month and currency


def test_eks_nodes_are_split_by_pods_and_pods_never_allocated(built_sample: Path) -> None:
    pods = query(
        built_sample, "select count(*) from marts.fct_cost_line_items where is_split_cost_line"
    )
    assert pods[0][0] > 0
    pods_in_allocation = query(
        built_sample,
        """
        select count(*) from intermediate.int_allocation__lines as a
        join marts.fct_cost_line_items as l using (cost_line_key)
        where l.is_split_cost_line
    """,
    )
    assert pods_in_allocation == [(0,)]
    # every other line is traced to exactly one path, and the aggregate holds them all
    traced = query(
        built_sample,
        """
        select
            (select count(*) from marts.fct_cost_line_items where not is_split_cost_line),
            (select count(*) from intermediate.int_allocation__lines),
            (select count(distinct cost_line_key) from intermediate.int_allocation__lines),
            (select sum(n_lines) from intermediate.int_allocation__signature_costs)
    """,
    )
    assert len(set(traced[0])) == 1 and traced[0][0] > 0
    eks = query(
        built_sample,
        "select distinct driver_name, method from marts.fct_cost_allocation "
        "where rule_id = 'eks_cluster'",
    )
    assert eks == [("split_cost", "driver")]


def test_zero_request_day_uses_previous_day_shares(built_sample: Path) -> None:
    bases = query(
        built_sample,
        """
        select distinct share_basis from marts.fct_cost_allocation
        where rule_id = 'ingress_alb' and period_start = date '2026-09-15'
    """,
    )
    assert bases == [("previous_period",)]


def test_clickhouse_split_by_query_work_with_unattributed_bucket(built_sample: Path) -> None:
    reasons = dict(
        query(
            built_sample,
            """
        select coalesce(unallocated_reason, 'allocated'), count(*)
        from marts.fct_cost_allocation where rule_id = 'clickhouse' group by 1
    """,
        )
    )
    assert reasons.get("allocated", 0) > 0 and reasons.get("unattributed_queries", 0) > 0
    assert query(
        built_sample,
        "select distinct driver_name from marts.fct_cost_allocation where rule_id = 'clickhouse'",
    ) == [("read_bytes",)]


def test_unallocated_share_is_small_and_explained(built_sample: Path) -> None:
    ((total, unallocated, reasons),) = query(
        built_sample,
        """
        select sum(allocated_effective_cost),
               sum(allocated_effective_cost) filter (where is_unallocated),
               list(distinct unallocated_reason order by unallocated_reason)
                   filter (where is_unallocated)
        from marts.fct_cost_allocation where billing_currency = 'USD'
            and source_key not like '%focus%'
    """,
    )
    assert 0 < unallocated / total < 0.05
    assert set(reasons) <= {"untagged", "no_driver", "unattributed_queries", "unused_commitment"}


def test_a_stale_source_fails_the_build(built_sample: Path, tmp_path: Path) -> None:
    only_singular = ("--select", "assert_sources_are_fresh", "--resource-type", "test")
    stale = tmp_path / "stale.duckdb"
    stale.write_bytes(built_sample.read_bytes())
    assert dbt_build(stale, *only_singular)
    con = duckdb.connect(str(stale))
    con.execute("update raw.usage_metrics set _loaded_at = _loaded_at - interval 4 day")
    con.close()
    assert not dbt_build(stale, *only_singular)


@pytest.mark.parametrize(
    "change",
    [
        # a signature-day row lost: its lines would never be allocated
        "delete from intermediate.int_allocation__signature_days where rowid = "
        "(select min(rowid) from intermediate.int_allocation__signature_days)",
        # one cent moved into a row: allocated money would not be the bill's
        "update intermediate.int_allocation__signature_days set effective_cost = effective_cost "
        "+ 0.01 where rowid = (select min(rowid) from intermediate.int_allocation__signature_days)",
    ],
    ids=["lost-row", "extra-cent"],
)
def test_signature_day_tie_out_catches_a_lost_row_or_cent(
    built_sample: Path, tmp_path: Path, change: str
) -> None:
    """The allocation reads signature × day sums, not lines: the singular test holds the sums
    to the bill lines, per partition, to the exact decimal and line count."""
    db = tmp_path / "copy.duckdb"
    shutil.copy(built_sample, db)
    check = "assert_signature_days_tie_to_cost_lines"
    assert run_dbt(db, "test", "--select", check, capture=True).returncode == 0
    with duckdb.connect(str(db)) as con:
        con.execute(change)
    result = run_dbt(db, "test", "--select", check, capture=True)
    assert result.returncode != 0 and check in result.stdout
