"""One name per concept across the marts, and money a BI tool shows as money.

The vocabulary (docs/unit-economics.md): the month of a monthly row is ``cost_month``, the
currency is ``billing_currency``, a scope's cost is ``total_cost``. The retired names must not
come back in a mart, its docs, the semantic layer or a consumer's SQL. The yml checks are
static (contracts are enforced, so a mart's yml columns are its columns); the warehouse checks
read the built sample's information_schema.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from ingest.tests.conftest import PROJECT_DIR

MARTS = PROJECT_DIR / "models" / "marts"
# Retired everywhere in the marts: another name for cost_month, billing_currency or total_cost.
RETIRED = {
    "economics_month",
    "showback_month",
    "charge_month",
    "allocation_month",
    "team_cost",
    "feature_cost",
    "currency",
    "cost",
}
# allocated_cost is a scope total nowhere; it stays only where it is the bill's side of a
# calibration (estimated_cost vs allocated_cost).
ALLOCATED_COST_ONLY_IN = {"fct_feature_cost_calibration_monthly"}
MONTH_NAMES = re.compile(r"\b(economics_month|showback_month|charge_month|allocation_month)\b")
# Where a mart's column names are written by hand: its consumers.
CONSUMERS = [
    *sorted((PROJECT_DIR / "ingest").glob("*.py")),
    *sorted((PROJECT_DIR / "ingest" / "tests").glob("*.py")),
    *sorted((PROJECT_DIR / "tests").glob("*.sql")),
    *sorted((PROJECT_DIR / "bench").glob("*.*")),
    *sorted((PROJECT_DIR / "docs").glob("*.md")),
    PROJECT_DIR / "README.md",
    *sorted(MARTS.rglob("*.*")),
]
# Exact to the cent by construction (a decimal(38,2) seed, amounts rounded on purpose).
CENT_COLUMNS = {
    ("fct_team_showback_monthly", "budget"),
    ("fct_cost_ranges_monthly", "low_cost"),
    ("fct_cost_ranges_monthly", "high_cost"),
    ("fct_margin_robustness_monthly", "min_cost"),
    ("fct_margin_robustness_monthly", "max_cost"),
}


def _mart_columns() -> dict[str, set[str]]:
    """Columns of every fct_ / rpt_ mart, from the marts' yml."""
    found: dict[str, set[str]] = {}
    for path in sorted(MARTS.rglob("*.yml")):
        doc: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
        for model in doc.get("models", []):
            if model["name"].startswith(("fct_", "rpt_")):
                found[model["name"]] = {c["name"] for c in model.get("columns", [])}
    return found


def test_the_mart_yml_uses_one_name_per_concept() -> None:
    marts = _mart_columns()
    assert len(marts) >= 20, "the marts' yml were not found"
    for mart, columns in marts.items():
        assert not columns & RETIRED, f"{mart} has retired column(s) {columns & RETIRED}"
        if mart not in ALLOCATED_COST_ONLY_IN:
            assert "allocated_cost" not in columns, f"{mart}: a scope's cost is total_cost"
        if mart.endswith("_monthly") or "cost_allocation" in mart or mart.startswith("rpt_"):
            assert "cost_month" in columns, f"{mart}: its month is cost_month"
        if any(c.endswith("_cost") for c in columns):
            assert "billing_currency" in columns, f"{mart}: its currency is billing_currency"
    for mart in (
        "fct_product_economics_monthly",
        "fct_customer_economics_monthly",
        "fct_customer_cost_breakdown_monthly",
        "rpt_negative_margin_customers",
        "fct_feature_economics_monthly",
        "fct_team_showback_monthly",
        "fct_unit_cost_ratios_monthly",
        "fct_cost_ranges_monthly",
    ):
        assert "total_cost" in marts[mart], f"{mart}: a scope's cost is total_cost"


def test_the_semantic_layer_uses_the_mart_names() -> None:
    doc = yaml.safe_load((MARTS / "_semantic_layer.yml").read_text())
    for model in doc["semantic_models"]:
        names = [
            str(item.get(key) or "")
            for group in ("dimensions", "measures", "entities")
            for item in model.get(group, [])
            for key in ("name", "expr")
        ]
        assert not set(names) & (RETIRED | {"allocated_cost"}), model["name"]


@pytest.mark.parametrize("path", CONSUMERS, ids=lambda p: str(p.relative_to(PROJECT_DIR)))
def test_no_consumer_uses_a_retired_month_name(path: Path) -> None:
    if path == Path(__file__) or not path.is_file():
        return
    hits = MONTH_NAMES.findall(path.read_text(errors="replace"))
    assert not hits, f"{path.name} still says {sorted(set(hits))}: the month is cost_month"


def _warehouse(db: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_the_built_marts_use_one_name_per_concept(built_sample: Path) -> None:
    rows = _warehouse(
        built_sample,
        """select table_name, column_name from information_schema.columns
           where table_schema = 'marts' and (table_name like 'fct\\_%' escape '\\'
                                              or table_name like 'rpt\\_%' escape '\\')""",
    )
    assert rows
    retired = sorted(
        (t, c)
        for t, c in rows
        if c in RETIRED or (c == "allocated_cost" and t not in ALLOCATED_COST_ONLY_IN)
    )
    assert not retired, f"retired column names in the warehouse: {retired}"


def test_cent_exact_money_displays_as_money(built_sample: Path) -> None:
    types = dict(
        ((t, c), d)
        for t, c, d in _warehouse(
            built_sample,
            """select table_name, column_name, data_type from information_schema.columns
               where table_schema = 'marts'""",
        )
    )
    for key in CENT_COLUMNS:
        assert types[key] == "DECIMAL(38,2)", f"{key}: {types[key]}"
    [(budget, low, zero)] = _warehouse(
        built_sample,
        """select (select min(budget) from marts.fct_team_showback_monthly),
                  (select min(low_cost) from marts.fct_cost_ranges_monthly),
                  (select min(budget) * 0 from marts.fct_team_showback_monthly)""",
    )
    assert isinstance(budget, Decimal) and budget.as_tuple().exponent == -2, budget
    assert isinstance(low, Decimal) and low.as_tuple().exponent == -2, low
    assert str(zero) == "0.00", f"a zero shows as {zero}"


def test_costs_keep_their_sub_cent_digits(built_sample: Path) -> None:
    """Costs are not cent-exact (bill lines carry sub-cent amounts, and allocation keeps the
    residue so every mart ties to the bill exactly), so their type keeps 12 places: narrowing
    it to the cent would round money silently."""
    [(sub_cent, scale)] = _warehouse(
        built_sample,
        """select count(*) filter (where total_cost <> round(total_cost, 2)),
                  max(numeric_scale) from marts.fct_product_economics_monthly,
                  information_schema.columns
           where table_schema = 'marts' and table_name = 'fct_product_economics_monthly'
             and column_name = 'total_cost'""",
    )
    assert sub_cent > 0, "the sample's costs are cent-exact: total_cost could become money()"
    assert scale == 12
