"""FOCUS 1.3 Contract Commitment dataset (CSV or Parquet): the commitments of a contract.

A provider's FOCUS 1.3 export can come with a second dataset beside Cost and Usage: one row per
contract commitment (a minimum spend or usage over a period: an EDP, a MACC, a committed use
discount), which cost rows point at through their ``ContractApplied`` JSON. It holds no
charge, so it is not a bill: it lands in ``raw.focus_contract_commitments`` and
``fct_contract_commitment_progress`` sets it against what the bill applied. A commitment is one
fact per contract, commitment and period start: the same commitment in a second export under
another name is refused (``--replace`` makes the new export count), and a re-export of a
contract replaces its rows.
"""

from __future__ import annotations

from ingest.load.spec import MONEY, Column, TableSpec, snake_name
from ingest.registry import Source, register


def _t(name: str, *aliases: str, required: bool = False) -> Column:
    return Column(name, "VARCHAR", aliases, required)


SPEC = TableSpec(
    source="focus_contract_commitments",
    table="raw.focus_contract_commitments",
    columns=(
        _t("contract_id", required=True),
        _t("contract_commitment_id", required=True),
        _t("contract_commitment_type"),
        _t("contract_commitment_category", required=True),
        Column("contract_commitment_cost", MONEY),
        Column("contract_commitment_quantity", MONEY),
        _t("contract_commitment_unit"),
        _t("contract_commitment_description"),
        Column("contract_commitment_period_start", "TIMESTAMP", required=True),
        Column("contract_commitment_period_end", "TIMESTAMP", required=True),
        Column("contract_period_start", "TIMESTAMP"),
        Column("contract_period_end", "TIMESTAMP"),
        _t("billing_currency"),  # checked by the loader's currency check
    ),
    maps=(),
    normalise=snake_name,
    account_column="contract_id",
    period_column="contract_commitment_period_start",
    currency_column="billing_currency",
    billed_column=None,
    natural_key=("contract_id", "contract_commitment_id", "contract_commitment_period_start"),
    null_strings=("", "NULL"),
)


register(
    Source(
        SPEC,
        command="focus-commitments",
        label="a FOCUS Contract Commitment dataset",
        help="FOCUS 1.3 Contract Commitment dataset (CSV/parquet)",
        description="Load a FOCUS 1.3 Contract Commitment dataset (CSV or Parquet): the "
        "commitments of a contract the cost rows' ContractApplied points at.",
    )
)
