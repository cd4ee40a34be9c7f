"""Commitment analysis: Savings Plan / RI utilization and coverage, break-even, recommendation.

One warehouse for the module (a single dbt build): the real public samples with commitments
(AWS workshop CUR with RIs, the CostOpt CUR with Savings Plans, the FOCUS 1.0 sample) plus two
small hand-made bills whose utilization and coverage are known exactly. Expected figures on
the real samples are computed here straight from the raw files with plain DuckDB SQL,
independently of the loaders and the models.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ingest import aws_cur, focus
from ingest.demo import dbt_build
from ingest.load.db import connect
from ingest.load.land import load_path
from ingest.registry import ensure_all_tables

WORKSHOP = "aws_cur/well_architected_labs/{}2018-WorkshopCUR-00001.snappy.parquet"
STEP5 = "aws_cur/well_architected_labs/CostOpt_Step5CUR.gz"
STEP5_HEADER = "aws_cur/well_architected_labs/HEADER_Step4-5_155cols_INFERRED.txt"
FOCUS_SAMPLE = "focus/focus_1.0_sample_1000.csv"

HAND_ACCOUNT = "111122223333"
FOCUS_ACCOUNT = "focus-hand"

CUR_COLUMNS = [
    "bill_billing_period_start_date",
    "bill_payer_account_id",
    "line_item_usage_account_id",
    "line_item_line_item_type",
    "line_item_usage_start_date",
    "line_item_product_code",
    "line_item_usage_type",
    "line_item_operation",
    "line_item_currency_code",
    "line_item_unblended_cost",
    "pricing_public_on_demand_cost",
    "savings_plan_savings_plan_a_r_n",
    "savings_plan_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment",
    "reservation_reservation_a_r_n",
    "reservation_effective_cost",
    "reservation_amortized_upfront_fee_for_billing_period",
    "reservation_unused_amortized_upfront_fee_for_billing_period",
    "reservation_unused_recurring_fee",
]
SP = "arn:aws:savingsplans::111122223333:savingsplan/sp-1"
RI = "arn:aws:rds:us-east-1:111122223333:ri:ri-1"
# (type, product, usage type, operation, unblended, on-demand, SP eff, SP total, SP used,
#  RI eff, RI amortized upfront, RI unused upfront, RI unused recurring)
HAND_CUR = [
    # A Savings Plan: covered usage 10 at on-demand price, paid 6; the negation cancels the 10;
    # the recurring fee: commitment 8, used 6 → utilization 0.75, 2 unused.
    (
        "SavingsPlanCoveredUsage",
        "AmazonEC2",
        "BoxUsage:m5.large",
        "RunInstances",
        "10",
        "10",
        "6",
        "",
        "",
        "",
        "",
        "",
        "",
    ),
    (
        "SavingsPlanNegation",
        "AmazonEC2",
        "BoxUsage:m5.large",
        "RunInstances",
        "-10",
        "10",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ),
    (
        "SavingsPlanRecurringFee",
        "ComputeSavingsPlans",
        "ComputeSP:1yrNoUpfront",
        "",
        "8",
        "",
        "",
        "8",
        "6",
        "",
        "",
        "",
        "",
    ),
    # On-demand EC2 instance hours (eligible for both), Spot and S3 (eligible for neither).
    (
        "Usage",
        "AmazonEC2",
        "BoxUsage:m5.large",
        "RunInstances",
        "30",
        "30",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ),
    (
        "Usage",
        "AmazonEC2",
        "SpotUsage:m5.large",
        "RunInstances:SV001",
        "5",
        "5",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ),
    (
        "Usage",
        "AmazonS3",
        "TimedStorage-ByteHrs",
        "StandardStorage",
        "7",
        "7",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ),
    # An RDS reservation: covered usage 20 at on-demand price, effective 12; the RIFee: recurring
    # 9 + amortized upfront 6 = 15 committed, 1 + 2 unused → utilization 0.8.
    (
        "DiscountedUsage",
        "AmazonRDS",
        "InstanceUsage:db.r5.large",
        "CreateDBInstance:0002",
        "0",
        "20",
        "",
        "",
        "",
        "12",
        "",
        "",
        "",
    ),
    (
        "RIFee",
        "AmazonRDS",
        "HeavyUsage:db.r5.large",
        "CreateDBInstance:0002",
        "9",
        "",
        "",
        "",
        "",
        "",
        "6",
        "1",
        "2",
    ),
    (
        "Usage",
        "AmazonRDS",
        "InstanceUsage:db.r5.large",
        "CreateDBInstance:0002",
        "60",
        "60",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ),
    # The reservation's upfront payment: already in the covered usage, in no role here.
    ("Fee", "AmazonRDS", "HeavyUsage:db.r5.large", "", "72", "", "", "", "", "", "", "", ""),
]

FOCUS_COLUMNS = (
    "BillingAccountId,BillingCurrency,BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,"
    "ChargePeriodEnd,ChargeCategory,ProviderName,ServiceName,ChargeDescription,"
    "CommitmentDiscountId,CommitmentDiscountStatus,CommitmentDiscountType,PricingCategory,"
    "BilledCost,EffectiveCost,ListCost"
)
# A FOCUS Savings Plan: 8 bought, 6 used on usage listed at 10, 2 unused; 30 on-demand EC2.
HAND_FOCUS = [
    (
        "Usage",
        "Amazon Elastic Compute Cloud",
        "$0.1 per On Demand Linux m5.large Instance Hour",
        "sp-f",
        "Used",
        "Savings Plan",
        "Committed",
        "0",
        "6",
        "10",
    ),
    (
        "Usage",
        "Amazon Elastic Compute Cloud",
        "Savings Plan unused commitment",
        "sp-f",
        "Unused",
        "Savings Plan",
        "Committed",
        "0",
        "2",
        "0",
    ),
    (
        "Usage",
        "Amazon Elastic Compute Cloud",
        "$0.1 per On Demand Linux m5.large Instance Hour",
        "",
        "",
        "",
        "Standard",
        "30",
        "30",
        "30",
    ),
    (
        "Purchase",
        "Savings Plans for AWS Compute usage",
        "Savings Plan recurring fee",
        "sp-f",
        "",
        "Savings Plan",
        "Committed",
        "8",
        "0",
        "0",
    ),
]


def write_hand_cur(path: Path) -> Path:
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(CUR_COLUMNS)
        for row in HAND_CUR:
            kind, product, usage_type, operation, unblended, od, *rest = row
            sp_eff, sp_total, sp_used, ri_eff, ri_upfront, ri_unused_up, ri_unused_rec = rest
            sp_arn = SP if kind.startswith("SavingsPlan") else ""
            ri_arn = RI if kind in ("DiscountedUsage", "RIFee", "Fee") else ""
            out.writerow(
                [
                    "2026-03-01T00:00:00Z", HAND_ACCOUNT, HAND_ACCOUNT, kind,
                    "2026-03-01T00:00:00Z", product, usage_type, operation, "USD", unblended,
                    od, sp_arn, sp_eff, sp_total, sp_used, ri_arn, ri_eff, ri_upfront,
                    ri_unused_up, ri_unused_rec,
                ]
            )  # fmt: skip
    return path


def write_hand_focus(path: Path) -> Path:
    lines = [FOCUS_COLUMNS]
    for category, service, description, cid, status, ctype, pricing, billed, eff, lst in HAND_FOCUS:
        lines.append(
            f"{FOCUS_ACCOUNT},USD,2026-03-01T00:00:00Z,2026-04-01T00:00:00Z,"
            f"2026-03-02T00:00:00Z,2026-03-03T00:00:00Z,{category},AWS,{service},{description},"
            f"{cid},{status},{ctype},{pricing},{billed},{eff},{lst}"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def warehouse(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The samples with commitments and the hand-made bills, loaded and built once."""
    root = tmp_path_factory.mktemp("commitments")
    db = root / "warehouse.duckdb"
    con = connect(db)
    ensure_all_tables(con)
    for month in ("Oct", "Nov"):
        aws_cur.load(con, shared_data / WORKSHOP.format(month))
    header = (shared_data / STEP5_HEADER).read_text().split()
    aws_cur.load(con, shared_data / STEP5, header_names=header)
    aws_cur.load(con, write_hand_cur(root / "hand-cur.csv"), export_name="hand-cur")
    load_path(con, focus.SPEC, shared_data / FOCUS_SAMPLE, export_name="focus-sample")
    load_path(con, focus.SPEC, write_hand_focus(root / "hand-focus.csv"), export_name="hand")
    con.close()
    assert dbt_build(db), "dbt build failed (see the dbt output above)"
    return db


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def utilization(db: Path, account: str, month: str) -> dict[str, tuple]:
    rows = query(
        db,
        "select commitment_type, total_commitment_cost, used_commitment_cost, "
        "unused_commitment_cost, utilization from marts.fct_commitment_utilization_monthly "
        "where billing_account_id = ? and cost_month = ? order by 1",
        [account, month],
    )
    return {r[0]: r[1:] for r in rows}


def coverage(db: Path, account: str, month: str) -> dict[str, tuple]:
    rows = query(
        db,
        "select commitment_type, covered_list_cost, covered_effective_cost, "
        "eligible_on_demand_list_cost, coverage from marts.fct_commitment_coverage_monthly "
        "where billing_account_id = ? and cost_month = ? order by 1",
        [account, month],
    )
    return {r[0]: r[1:] for r in rows}


D = Decimal


def test_hand_made_cur_utilization(warehouse: Path) -> None:
    got = utilization(warehouse, HAND_ACCOUNT, "2026-03-01")
    assert got == {
        "reserved_instance": (D(15), D(12), D(3), pytest.approx(0.8)),
        "savings_plan": (D(8), D(6), D(2), pytest.approx(0.75)),
    }


def test_hand_made_cur_coverage(warehouse: Path) -> None:
    # SP: covered 10 of (10 + the 30 on-demand EC2 hours); Spot, S3 and RDS are not SP-eligible.
    # RI: covered 20 of (20 + 60 on-demand RDS + 30 on-demand EC2 hours).
    got = coverage(warehouse, HAND_ACCOUNT, "2026-03-01")
    assert got == {
        "reserved_instance": (D(20), D(12), D(90), pytest.approx(20 / 110)),
        "savings_plan": (D(10), D(6), D(30), pytest.approx(0.25)),
    }


def test_hand_made_focus_utilization_and_coverage(warehouse: Path) -> None:
    assert utilization(warehouse, FOCUS_ACCOUNT, "2026-03-01") == {
        "savings_plan": (D(8), D(6), D(2), pytest.approx(0.75)),
    }
    assert coverage(warehouse, FOCUS_ACCOUNT, "2026-03-01") == {
        "reserved_instance": (D(0), D(0), D(30), pytest.approx(0.0)),
        "savings_plan": (D(10), D(6), D(30), pytest.approx(0.25)),
    }


def test_focus_unused_rows_are_unused_commitment(warehouse: Path) -> None:
    # FOCUS puts unused commitment on Usage rows (CommitmentDiscountStatus = Unused): the
    # unified table must flag them so the allocation keeps them in its unused bucket.
    rows = query(
        warehouse,
        "select charge_category, effective_cost from marts.fct_cost_line_items "
        "where billing_account_id = ? and is_unused_commitment",
        [FOCUS_ACCOUNT],
    )
    assert rows == [("Usage", D(2))]


def test_workshop_ri_utilization_ties_to_raw_file(warehouse: Path, shared_data: Path) -> None:
    con = duckdb.connect()
    for month, start in (("Oct", "2018-10-01"), ("Nov", "2018-11-01")):
        path = str(shared_data / WORKSHOP.format(month))
        account, total, unused = con.execute(
            """
            select bill_payer_account_id,
                   sum(cast(reservation_amortized_upfront_fee_for_billing_period
                            as decimal(38, 12))
                       + cast(line_item_unblended_cost as decimal(38, 12))),
                   sum(coalesce(cast(reservation_unused_amortized_upfront_fee_for_billing_period
                                     as decimal(38, 12)), 0)
                       + coalesce(cast(reservation_unused_recurring_fee as decimal(38, 12)), 0))
            from read_parquet(?) where line_item_line_item_type = 'RIFee' group by 1
            """,
            [path],
        ).fetchone()
        ((got_total, got_used, got_unused, got_utilization),) = query(
            warehouse,
            "select total_commitment_cost, used_commitment_cost, unused_commitment_cost, "
            "utilization from marts.fct_commitment_utilization_monthly "
            "where billing_account_id = ? and cost_month = ? "
            "and commitment_type = 'reserved_instance'",
            [account, start],
        )
        assert (got_total, got_unused) == (total, unused)
        assert got_used == total - unused
        assert got_utilization == pytest.approx(float((total - unused) / total))
    # Oct 2018: 281.25 committed, 49.00 unused → 82.6 % used.
    assert float(total) > 0


def test_workshop_ri_used_matches_discounted_usage(warehouse: Path, shared_data: Path) -> None:
    # AWS's two views of a used reservation agree: the RIFee's used part (total − unused) and the
    # effective cost of the DiscountedUsage lines it covered, to the cent.
    rows = query(
        warehouse,
        "select u.cost_month, u.used_commitment_cost, c.covered_effective_cost, c.coverage "
        "from marts.fct_commitment_utilization_monthly u "
        "join marts.fct_commitment_coverage_monthly c using "
        "(billing_account_id, cost_month, commitment_type, billing_currency) "
        "where u.commitment_type = 'reserved_instance' and u.cost_month < '2019-01-01' "
        "order by 1",
    )
    assert len(rows) == 2
    for _, used, covered_effective, _ in rows:
        assert abs(used - covered_effective) < D("0.01")
    con = duckdb.connect()
    path = str(shared_data / WORKSHOP.format("Oct"))
    covered, on_demand = con.execute(
        """
        select
            sum(case when line_item_line_item_type = 'DiscountedUsage'
                     then cast(pricing_public_on_demand_cost as decimal(38, 12)) end),
            sum(case when line_item_line_item_type = 'Usage'
                      and line_item_usage_type not like '%DataTransfer%'
                      and ((line_item_product_code = 'AmazonEC2'
                            and line_item_operation like '%RunInstances%'
                            and line_item_usage_type not like '%Spot%')
                           or (line_item_product_code = 'AmazonRDS'
                               and line_item_usage_type like '%Usage:db.%'))
                     then coalesce(cast(pricing_public_on_demand_cost as decimal(38, 12)),
                                   cast(line_item_unblended_cost as decimal(38, 12))) end)
        from read_parquet(?)
        """,
        [path],
    ).fetchone()
    assert rows[0][3] == pytest.approx(float(covered / (covered + on_demand)))


def test_costopt_savings_plan_ties_to_raw_file(warehouse: Path, shared_data: Path) -> None:
    names = (shared_data / STEP5_HEADER).read_text().split()
    columns = {n: "VARCHAR" for n in names}
    con = duckdb.connect()
    account, total, used, covered_list, covered_eff, on_demand = con.execute(
        f"""
        select
            any_value(bill_payer_account_id),
            sum(case when line_item_line_item_type = 'SavingsPlanRecurringFee'
                     then cast(savings_plan_total_commitment_to_date as decimal(38, 12)) end),
            sum(case when line_item_line_item_type = 'SavingsPlanRecurringFee'
                     then cast(savings_plan_used_commitment as decimal(38, 12)) end),
            sum(case when line_item_line_item_type = 'SavingsPlanCoveredUsage'
                     then cast(pricing_public_on_demand_cost as decimal(38, 12)) end),
            sum(case when line_item_line_item_type = 'SavingsPlanCoveredUsage'
                     then cast(savings_plan_savings_plan_effective_cost as decimal(38, 12)) end),
            sum(case when line_item_line_item_type = 'Usage'
                      and line_item_product_code = 'AmazonEC2'
                      and line_item_operation like '%RunInstances%'
                      and line_item_usage_type not like '%Spot%'
                      and line_item_usage_type not like '%DataTransfer%'
                     then coalesce(cast(pricing_public_on_demand_cost as decimal(38, 12)),
                                   cast(line_item_unblended_cost as decimal(38, 12))) end)
        from read_csv(?, delim = '\x01', nullstr = '\\N', header = false, quote = '',
                      escape = '', columns = {columns!r})
        """,
        [str(shared_data / STEP5)],
    ).fetchone()
    assert utilization(warehouse, account, "2019-11-01")["savings_plan"] == (
        total,
        used,
        total - used,
        pytest.approx(float(used / total)),
    )
    assert coverage(warehouse, account, "2019-11-01")["savings_plan"] == (
        covered_list,
        covered_eff,
        on_demand,
        pytest.approx(float(covered_list / (covered_list + on_demand))),
    )
    # The sample's Savings Plans were fully used: 12.696 committed, 12.696 used.
    assert (total, used) == (D("12.696"), D("12.696"))


def test_focus_sample_commitments_tie_to_raw_file(warehouse: Path, shared_data: Path) -> None:
    con = duckdb.connect()
    expected = con.execute(
        """
        select BillingAccountId,
               sum(cast(ListCost as decimal(38, 12))),
               sum(cast(EffectiveCost as decimal(38, 12)))
        from read_csv(?, all_varchar = true, nullstr = 'NULL')
        where ChargeCategory = 'Usage' and CommitmentDiscountStatus = 'Used'
        group by 1
        """,
        [str(shared_data / FOCUS_SAMPLE)],
    ).fetchall()
    assert len(expected) == 1
    ((account, covered_list, covered_eff),) = expected
    sp = coverage(warehouse, account, "2024-09-01")["savings_plan"]
    assert sp[:2] == (covered_list, covered_eff)
    # The anonymised sample zeroes EffectiveCost on its 4 covered rows and has no Unused rows:
    # nothing committed shows, so utilization is unknown rather than 0 or 100 %.
    assert utilization(warehouse, account, "2024-09-01")["savings_plan"] == (D(0), D(0), D(0), None)


def test_break_even_issue_figure(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select on_demand_monthly_cost, reserved_monthly_cost, upfront_cost, break_even_months "
        "from marts.fct_commitment_break_even where scenario_id = 'issue_example'",
    )
    assert rows == [(D(5000), D(1500), D(8750), 2.5)]


def test_commitment_money_ties_and_no_line_in_two_roles(warehouse: Path) -> None:
    # Every line is in one role only, and the marts' money comes back to the unified table:
    # covered + unused commitment of the marts = the covered-usage and unused-commitment lines.
    assert query(
        warehouse,
        "select count(*) - count(distinct line_group_key) from intermediate.int_commitments__lines",
    ) == [(0,)]
    # every CUR line with a role is counted in exactly one group: Σ n_lines = the lines
    ((grouped, lines),) = query(
        warehouse,
        "select (select sum(n_lines) from intermediate.int_commitments__line_days "
        "where source_system = 'aws_cur'), (select count(*) from marts.fct_cost_line_items "
        "where source_system = 'aws_cur' and not is_split_cost_line and line_item_type in "
        "('SavingsPlanCoveredUsage', 'DiscountedUsage', 'SavingsPlanRecurringFee', 'RIFee', "
        "'Usage'))",
    )
    assert grouped == lines > 0
    ((mart_total,),) = query(
        warehouse,
        "select sum(x) from (select covered_effective_cost as x "
        "from marts.fct_commitment_coverage_monthly union all "
        "select unused_commitment_cost from marts.fct_commitment_utilization_monthly)",
    )
    ((bill_total,),) = query(
        warehouse,
        "select sum(effective_cost) from marts.fct_cost_line_items "
        "where is_unused_commitment or line_item_type in "
        "('SavingsPlanCoveredUsage', 'DiscountedUsage') "
        "or (source_system = 'focus' and charge_category = 'Usage' "
        "and nullif(commitment_discount_id, '') is not null)",
    )
    assert mart_total == bill_total
    # Σ unused commitment = the allocation's unused_commitment bucket, per month, to the cent.
    rows = query(
        warehouse,
        """
        with mart as (
            select cost_month, billing_currency, sum(unused_commitment_cost) as cost
            from marts.fct_commitment_utilization_monthly group by all),
        alloc as (
            select cost_month, billing_currency,
                   sum(allocated_effective_cost) as cost
            from marts.fct_cost_allocation where unallocated_reason = 'unused_commitment'
            group by all)
        select cost_month, coalesce(mart.cost, 0), coalesce(alloc.cost, 0)
        from mart full join alloc using (cost_month, billing_currency) order by 1
        """,
    )
    assert rows and all(m == a for _, m, a in rows), rows
    months = {str(m): c for m, c, _ in rows}
    assert months["2026-03-01"] == D(7)  # hand-made: SP 2 + RI 3 + FOCUS 2


def test_recommendation_baseline_and_burst_tie(warehouse: Path) -> None:
    # Σ eligible on-demand spend of the recommendation = the on-demand lines of the bill it
    # reads, per account, month and type; baseline + burst = eligible (also a dbt test).
    rows = query(
        warehouse,
        """
        with rec as (
            select distinct billing_account_id, cost_month, billing_currency,
                   commitment_type, eligible_on_demand_cost
            from marts.fct_commitment_recommendation_monthly),
        lines as (
            select billing_account_id, cost_month, billing_currency, 'savings_plan' as t,
                   sum(effective_cost) as cost
            from intermediate.int_commitments__lines
            where commitment_role = 'on_demand_usage' and is_savings_plan_eligible group by all
            union all
            select billing_account_id, cost_month, billing_currency, 'reserved_instance',
                   sum(effective_cost)
            from intermediate.int_commitments__lines
            where commitment_role = 'on_demand_usage' and is_reservation_eligible group by all)
        select rec.eligible_on_demand_cost, lines.cost
        from rec full join lines
          on rec.billing_account_id = lines.billing_account_id
         and rec.cost_month = lines.cost_month
         and rec.billing_currency = lines.billing_currency and rec.commitment_type = lines.t
        """,
    )
    assert rows and all(a == b for a, b in rows)
    # The hand-made bill: everything on one day, so the whole eligible spend is the baseline.
    assert query(
        warehouse,
        "select scenario_id, baseline_daily_cost, burst_on_demand_cost "
        "from marts.fct_commitment_recommendation_monthly where billing_account_id = ? "
        "order by 1",
        [HAND_ACCOUNT],
    ) == [
        ("compute_sp_1yr_no_upfront", D(30), D(0)),
        ("issue_example", D(90), D(0)),
    ]
