"""The `bi` views: the start-here marts with money a BI tool shows as money (21.51, 0.00),
rounded to the cent without losing one (macros/bi/cents.sql, docs/unit-economics.md).

Guarantees, per view, checked on the built sample against the exact marts:
- every money column is DECIMAL(18,2) and a zero reads as Decimal('0.00');
- every mart row appears once, with the same key;
- per month and currency, the anchored columns (total_cost, revenue / mrr, budget) sum to the
  mart's exact sum rounded to the cent (gross_profit and budget_remaining within a cent of it;
  a part of total_cost within a cent per row of the month);
- on every row the parts add up exactly (direct + shared = total; the components = total;
  gross_profit = revenue − total_cost; budget_remaining = budget − total_cost);
- every rounded amount is within a cent of the mart's (a difference of two within two).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

COMPONENTS = ["compute", "storage", "network", "database", "clickhouse", "ai", "other"]
PARTS = ["direct_cost", "shared_cost", *(f"{c}_cost" for c in COMPONENTS)]
# view → (mart, row key, anchored money, parts within a cent, derived money within two cents)
VIEWS: dict[str, tuple[str, str, list[str], list[str], list[str]]] = {
    "product_economics_monthly": (
        "fct_product_economics_monthly",
        "product",
        ["total_cost", "revenue"],
        PARTS,
        ["gross_profit"],
    ),
    "customer_economics_monthly": (
        "fct_customer_economics_monthly",
        "customer_id",
        ["total_cost", "mrr"],
        [],
        ["gross_profit"],
    ),
    "team_showback_monthly": (
        "fct_team_showback_monthly",
        "team",
        ["total_cost", "budget"],
        ["direct_cost", "shared_cost"],
        ["budget_remaining"],
    ),
}
RATIOS = {"cost_per_unit", "revenue_per_unit", "gross_margin", "mom_cost_change", "budget_used"}


def _query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def _joined(view: str) -> str:
    mart, key, *_ = VIEWS[view]
    return f"""bi.{view} as v
        full outer join marts.{mart} as m
            on v.cost_month = m.cost_month and v.{key} = m.{key}
            and v.billing_currency = m.billing_currency"""


def test_money_columns_are_cents_and_ratios_stay_precise(built_sample: Path) -> None:
    types = {
        (t, c): d
        for t, c, d in _query(
            built_sample,
            """select table_name, column_name, data_type from information_schema.columns
               where table_schema = 'bi'""",
        )
    }
    assert {t for t, _ in types} == set(VIEWS), "the bi schema has other or missing views"
    for view, (mart, _, anchored, parts, derived) in VIEWS.items():
        money = {*anchored, *parts, *derived} | (
            {"previous_month_cost"} if (view, "previous_month_cost") in types else set()
        )
        for column in money:
            assert types[(view, column)] == "DECIMAL(18,2)", (view, column, types[(view, column)])
        decimals = {c for (t, c), d in types.items() if t == view and d.startswith("DECIMAL")}
        assert all(types[(view, c)] == "DECIMAL(18,2)" for c in decimals), view
        for column in RATIOS & {c for t, c in types if t == view}:
            assert types[(view, column)] == "DOUBLE", (view, column)
        mart_columns = [
            c
            for (c,) in _query(
                built_sample,
                f"""select column_name from information_schema.columns
                    where table_schema = 'marts' and table_name = '{mart}'
                    order by ordinal_position""",
            )
        ]
        view_columns = [c for t, c in types if t == view]
        assert sorted(view_columns) == sorted(mart_columns), view


def test_zero_reads_as_zero_point_zero_zero(built_sample: Path) -> None:
    rows = _query(
        built_sample,
        """select v.mrr, m.mrr
           from bi.customer_economics_monthly as v
           join marts.fct_customer_economics_monthly as m
               using (cost_month, customer_id, billing_currency)
           where m.mrr = 0""",
    )
    assert rows, "the sample has no customer without revenue: this test checks nothing"
    assert {str(mart) for _, mart in rows} == {"0E-12"}, "the mart's zero is no longer 0E-12"
    assert all(isinstance(v, Decimal) and str(v) == "0.00" for v, _ in rows), rows[:3]
    [(cost,)] = _query(built_sample, "select min(total_cost) from bi.product_economics_monthly")
    assert cost.as_tuple().exponent == -2, cost


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_every_mart_row_appears_once(built_sample: Path, view: str) -> None:
    _, key, *_ = VIEWS[view]
    [(rows, only_view, only_mart, keys)] = _query(
        built_sample,
        f"""select count(*), count(*) filter (where m.cost_month is null),
                   count(*) filter (where v.cost_month is null),
                   count(distinct (v.cost_month, v.{key}, v.billing_currency))
            from {_joined(view)}""",
    )
    assert rows > 0 and only_view == 0 and only_mart == 0, (rows, only_view, only_mart)
    assert keys == rows, f"{view}: a key appears more than once"


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_each_month_and_currency_ties_to_the_cent(built_sample: Path, view: str) -> None:
    """Anchored columns tie exactly; a difference of two anchored columns (gross_profit,
    budget_remaining) within a cent; a part within a cent per row of the month."""
    _, _, anchored, parts, derived = VIEWS[view]
    gap = "coalesce(abs(sum(v.{c}) - round(sum(m.{c}), 2)), 0)"
    limits = {
        **{c: "0" for c in anchored},
        **{c: "0.01" for c in derived},
        **{c: "0.01 * count(*)" for c in parts},
    }
    checks = ", ".join(f"{gap.format(c=c)} <= {limit}" for c, limit in limits.items())
    rows = _query(
        built_sample,
        f"select m.cost_month, m.billing_currency, {checks} from {_joined(view)} group by all",
    )
    assert len(rows) >= 3, rows
    broken = [(r[0], r[1], c) for r in rows for c, ok in zip(limits, r[2:], strict=True) if not ok]
    assert not broken, f"{view}: these month sums do not tie: {broken}"


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_rows_add_up_and_stay_within_a_cent(built_sample: Path, view: str) -> None:
    _, _, anchored, parts, derived = VIEWS[view]
    checks = {
        **{
            f"{c} within a cent": f"(v.{c} is null and m.{c} is null) or abs(v.{c} - m.{c}) < 0.01"
            for c in anchored + parts
        },
        **{
            f"{c} within two cents": f"(v.{c} is null and m.{c} is null) or abs(v.{c} - m.{c}) < 0.02"
            for c in derived
        },
    }
    if view == "product_economics_monthly":
        components = " + ".join(f"v.{c}_cost" for c in COMPONENTS)
        checks["components = total"] = f"{components} = v.total_cost"
        checks["direct + shared = total"] = "v.direct_cost + v.shared_cost = v.total_cost"
        checks["profit = revenue − cost"] = "v.gross_profit = v.revenue - v.total_cost"
        checks["previous month"] = """v.previous_month_cost is not distinct from (
            select p.total_cost from bi.product_economics_monthly as p
            where p.product = v.product and p.billing_currency = v.billing_currency
              and p.cost_month = v.cost_month - interval 1 month)"""
    if view == "customer_economics_monthly":
        checks["profit = mrr − cost"] = "v.gross_profit = v.mrr - v.total_cost"
        checks["previous month"] = (
            "(v.previous_month_cost is null) = (m.previous_month_cost is null)"
        )
    if view == "team_showback_monthly":
        checks["direct + shared = total"] = "v.direct_cost + v.shared_cost = v.total_cost"
        checks["remaining = budget − cost"] = (
            "v.budget is null or v.budget_remaining = v.budget - v.total_cost"
        )
    for name, condition in checks.items():
        [(broken,)] = _query(
            built_sample,
            f"select count(*) filter (where not coalesce({condition}, false)) from {_joined(view)}",
        )
        assert broken == 0, f"{view}: {broken} rows break '{name}'"


def test_a_zero_part_stays_zero(built_sample: Path) -> None:
    """A component or share the mart has as exactly 0 never receives a rounding cent."""
    total_zeros = 0
    for view, (_, _, _, parts, _) in VIEWS.items():
        if not parts:
            continue
        conditions = " or ".join(f"(m.{c} = 0 and v.{c} <> 0)" for c in parts)
        zeros = " + ".join(f"count(*) filter (where m.{c} = 0)" for c in parts)
        [(broken, found)] = _query(
            built_sample,
            f"select count(*) filter (where {conditions}), {zeros} from {_joined(view)}",
        )
        assert broken == 0, f"{view}: {broken} rows show a cent on a part that is 0"
        total_zeros += found
    assert total_zeros > 0, "the sample has no zero part: this test checks nothing"
