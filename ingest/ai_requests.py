"""AI / LLM request logs: ``timestamp, customer_id, feature_id, provider, model, input_tokens,
output_tokens, cached_input_tokens, is_batch`` (plus optional ``request_id`` and ``product``).

One row per request as the gateway logged it. ``input_tokens`` counts every prompt token, the
cached ones included (OpenAI's ``prompt_tokens`` convention); ``cached_input_tokens`` says how
many of them were served from the prompt cache. ``tenant_id`` is accepted for ``customer_id``.
Prices are not in the log: dbt prices each request from the rate card in
``seeds/ai_model_rates.csv``. A load replaces the (provider, day) partitions it contains.
"""

from __future__ import annotations

from ingest.core import Column, TableSpec, snake_name

SPEC = TableSpec(
    source="ai_requests",
    table="raw.ai_requests",
    columns=(
        Column("timestamp", "TIMESTAMP", required=True),
        Column("request_id", "VARCHAR"),
        Column("customer_id", "VARCHAR", aliases=("tenant_id", "tenant")),
        Column("feature_id", "VARCHAR"),
        Column("product", "VARCHAR"),
        Column("provider", "VARCHAR", required=True),
        Column("model", "VARCHAR", required=True),
        Column("input_tokens", "BIGINT", required=True),
        Column("output_tokens", "BIGINT", required=True),
        Column("cached_input_tokens", "BIGINT"),
        Column("is_batch", "BOOLEAN"),
    ),
    maps=(),
    normalise=snake_name,
    account_column="provider",
    period_column="timestamp",
    period_grain="day",
    currency_column=None,
    billed_column=None,
)
