"""AI / LLM request logs: ``timestamp, customer_id, feature_id, provider, model, input_tokens,
output_tokens, cached_input_tokens, is_batch`` (plus optional ``request_id`` and ``product``).

One row per request as the gateway logged it. ``input_tokens`` counts every prompt token, the
cached ones included (OpenAI's ``prompt_tokens`` convention); ``cached_input_tokens`` says how
many of them were served from the prompt cache. ``tenant_id`` is accepted for ``customer_id``.
Prices are not in the log: dbt prices each request from the rate card in
``seeds/common/ai_model_rates.csv``. A load replaces the (provider, day) partitions it contains.
"""

from __future__ import annotations

from ingest.load.spec import CUSTOMER_LOOK_ALIKES, Column, TableSpec, snake_name
from ingest.registry import Source, register

SPEC = TableSpec(
    source="ai_requests",
    table="raw.ai_requests",
    columns=(
        Column("timestamp", "TIMESTAMP", required=True),
        Column("request_id", "VARCHAR"),
        Column(
            "customer_id",
            "VARCHAR",
            aliases=("tenant_id", "tenant"),
            look_alikes=tuple(n for n in CUSTOMER_LOOK_ALIKES if not n.startswith("tenant")),
            if_missing="AI request cost cannot be split to customers",
        ),
        Column(
            "feature_id",
            "VARCHAR",
            look_alikes=("feature",),
            if_missing="AI request cost cannot be split to features",
        ),
        Column(
            "product",
            "VARCHAR",
            look_alikes=("product_id",),
            if_missing="AI request cost has no product (it is allocated as untagged)",
        ),
        Column("provider", "VARCHAR", required=True, look_alikes=("vendor",)),
        Column("model", "VARCHAR", required=True, look_alikes=("model_name", "model_id")),
        Column("input_tokens", "BIGINT", required=True, look_alikes=("prompt_tokens",)),
        Column("output_tokens", "BIGINT", required=True, look_alikes=("completion_tokens",)),
        Column(
            "cached_input_tokens",
            "BIGINT",
            look_alikes=("cached_tokens",),
            if_missing="no input token is priced at the cached rate",
        ),
        Column(
            "is_batch",
            "BOOLEAN",
            look_alikes=("batch",),
            if_missing="no request is priced at the batch rate",
        ),
    ),
    maps=(),
    normalise=snake_name,
    account_column="provider",
    period_column="timestamp",
    period_grain="day",
    currency_column=None,
    billed_column=None,
    narrow=True,
)


register(
    Source(
        SPEC,
        command="ai-requests",
        label="an AI request log",
        help="AI request log: timestamp, customer_id, feature_id, provider, model, tokens, is_batch",
        description="Load an AI request log (columns timestamp, customer_id, feature_id, provider, model, tokens, is_batch).",
    )
)
