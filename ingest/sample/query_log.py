"""The sample company's ClickHouse ``system.query_log`` export (``clickhouse/query_log.parquet``).

One logical query per product workload and tenant (tenants weighted by plan size), logged as the
server does: a ``QueryStart`` row and an end row, secondary queries on both shards for a quarter
of the distributed reads, ``ExceptionBeforeStart`` without a start row, and a messy
``log_comment``. Reads the company's ``months`` and ``customer_products`` tables.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import duckdb

from ingest.sample.company import sql

logger = logging.getLogger(__name__)

CLICKHOUSE_HOSTS: tuple[str, ...] = ("ch-0", "ch-1")
CLICKHOUSE_USERS: Mapping[str, str | None] = {
    "replay_svc": "replay",
    "analytics_svc": "analytics",
    "flags_svc": "flags",
    "ai_svc": "ai_assistant",
    # the monitoring service keeps its metrics in ClickHouse: a service pool, not a product
    "metrics_svc": "pool:monitoring",
    "etl": None,
    "default": None,
}

_QUERY_TEMPLATES_SQL = r"""
CREATE OR REPLACE TABLE query_templates AS SELECT * FROM (VALUES
    ('replay', 0, 'Select', 'replay', 'replay.session_replay_events',
     'SELECT session_id, min(first_timestamp), max(last_timestamp), sum(click_count) FROM replay.session_replay_events WHERE team_id = {team} AND min_first_timestamp >= now() - INTERVAL 7 DAY GROUP BY session_id ORDER BY 2 DESC LIMIT 50'),
    ('replay', 1, 'Select', 'replay', 'replay.session_replay_events',
     'SELECT count() FROM replay.session_replay_events WHERE team_id = {team} AND session_id = ''{session}'''),
    ('replay', 2, 'Insert', 'replay', 'replay.session_replay_events',
     'INSERT INTO replay.session_replay_events FORMAT JSONEachRow'),
    ('analytics', 0, 'Select', 'analytics', 'analytics.events',
     'SELECT toStartOfDay(timestamp) AS day, count() FROM analytics.events WHERE team_id = {team} AND event = ''$pageview'' AND timestamp >= now() - INTERVAL 30 DAY GROUP BY day ORDER BY day'),
    ('analytics', 1, 'Select', 'analytics', 'analytics.events',
     'SELECT uniqExact(person_id) FROM analytics.events WHERE team_id = {team} AND timestamp >= now() - INTERVAL 7 DAY'),
    ('analytics', 2, 'Insert', 'analytics', 'analytics.events',
     'INSERT INTO analytics.events FORMAT Native'),
    ('flags', 0, 'Select', 'flags', 'flags.flag_evaluations',
     'SELECT flag_key, countIf(result) AS enabled, count() FROM flags.flag_evaluations WHERE team_id = {team} AND timestamp >= today() - 1 GROUP BY flag_key'),
    ('flags', 1, 'Select', 'flags', 'flags.flag_evaluations',
     'SELECT distinct_id FROM flags.flag_evaluations WHERE team_id = {team} AND flag_key = ''new-onboarding'' LIMIT 1000'),
    ('flags', 2, 'Insert', 'flags', 'flags.flag_evaluations',
     'INSERT INTO flags.flag_evaluations FORMAT JSONEachRow'),
    ('ai_assistant', 0, 'Select', 'ai', 'ai.generations',
     'SELECT model, sum(input_tokens), sum(output_tokens) FROM ai.generations WHERE team_id = {team} GROUP BY model'),
    ('ai_assistant', 1, 'Select', 'ai', 'ai.embeddings',
     'SELECT doc_id, cosineDistance(embedding, {vec}) AS d FROM ai.embeddings WHERE team_id = {team} ORDER BY d LIMIT 20'),
    ('ai_assistant', 2, 'Insert', 'ai', 'ai.generations',
     'INSERT INTO ai.generations FORMAT JSONEachRow'),
    ('etl', 0, 'Insert', 'analytics', 'analytics.events_daily',
     'INSERT INTO analytics.events_daily SELECT toDate(timestamp) AS day, team_id, event, count() FROM analytics.events WHERE toDate(timestamp) = yesterday() GROUP BY ALL'),
    ('etl', 1, 'Select', 'replay', 'replay.session_replay_events',
     'SELECT team_id, count() FROM replay.session_replay_events WHERE min_first_timestamp >= yesterday() GROUP BY team_id'),
    ('etl', 2, 'Select', 'analytics', 'analytics.events',
     'SELECT team_id, uniq(person_id) FROM analytics.events WHERE timestamp >= yesterday() GROUP BY team_id'),
    ('metrics', 0, 'Insert', 'metrics', 'metrics.samples',
     'INSERT INTO metrics.samples FORMAT RowBinary'),
    ('metrics', 1, 'Select', 'metrics', 'metrics.samples',
     'SELECT metric, avg(value) FROM metrics.samples WHERE timestamp >= now() - INTERVAL 1 HOUR GROUP BY metric'),
    ('metrics', 2, 'Select', 'metrics', 'metrics.samples',
     'SELECT quantile(0.99)(value) FROM metrics.samples WHERE metric = ''query_duration_ms'' AND timestamp >= now() - INTERVAL 1 DAY'),
    ('default', 0, 'Select', 'system', 'system.parts',
     'SELECT database, table, sum(bytes_on_disk) FROM system.parts WHERE active GROUP BY database, table'),
    ('default', 1, 'Select', 'system', 'system.one', 'SELECT 1'),
    ('default', 2, 'Select', 'system', 'system.processes',
     'SELECT query_id, elapsed, query FROM system.processes')
) t(product, template_no, query_kind, database, table_name, template);
"""

_QUERY_LOG_QUERIES_SQL = r"""
CREATE OR REPLACE TABLE ql_ids AS SELECT range AS q FROM range(@n_queries@);

-- One row per logical query, materialised so the row expansion below scans in parallel.
CREATE OR REPLACE TABLE ql_queries AS
WITH span AS (
    SELECT epoch_us(min(period_start)::TIMESTAMP) AS t0, epoch_us(max(period_end)::TIMESTAMP) AS t1
    FROM months
),
cust_lists AS (
    -- tenants weighted by plan size, so big customers issue most queries
    SELECT period_start, product, list(customer_id ORDER BY customer_id, w) AS ids
    FROM (SELECT cp.*, unnest(range(greatest(1, round(sqrt(cp.size) * 2)::BIGINT))) AS w
          FROM customer_products cp)
    GROUP BY ALL
),
texts AS (
    -- the literal team id is baked into each customer's query text once, not per query
    SELECT t.product, t.template_no, t.query_kind, t.database, t.table_name,
        coalesce(c.customer_id, '') AS customer_key,
        replace(replace(t.template, '{team}', coalesce(ltrim(substr(c.customer_id, 6), '0'), '1')),
                '{vec}', '[0.12, -0.03, 0.44]') AS text,
        contains(t.template, '{session}') AS has_session
    FROM query_templates t
    LEFT JOIN (SELECT DISTINCT product, customer_id FROM customer_products) c
      ON c.product = t.product
),
q AS (
    SELECT
        i.q,
        rnd(i.q, 1, 1) AS u_user, rnd(i.q, 1, 2) AS u_comment,
        rnd(i.q, 1, 3) AS u_status, rnd(i.q, 1, 4) AS u_dist,
        rnd(i.q, 1, 5) AS u_kind, rnd(i.q, 1, 6) AS u_size,
        rnd(i.q, 1, 7) AS u_dur, (hash(i.q, 1, 8, @seed@) % 12)::INTEGER AS code_pick,
        span.t0 + (rnd(i.q, 1, 9) * (span.t1 - span.t0))::BIGINT AS start_us
    FROM ql_ids i CROSS JOIN span
),
q2 AS (
    SELECT q.*,
        CASE WHEN u_user < 0.30 THEN 'replay' WHEN u_user < 0.65 THEN 'analytics'
             WHEN u_user < 0.80 THEN 'flags' WHEN u_user < 0.92 THEN 'ai_assistant'
             WHEN u_user < 0.94 THEN 'metrics' WHEN u_user < 0.96 THEN 'etl'
             ELSE 'default' END AS workload,
        CASE WHEN u_status < 0.02 THEN 'ExceptionBeforeStart'
             WHEN u_status < 0.05 THEN 'ExceptionWhileProcessing'
             ELSE 'QueryFinish' END AS outcome
    FROM q
),
q3 AS (
    SELECT q2.*,
        hexid('q', q) AS h0,
        -- only distributed reads get shard query ids, and only some templates a session id
        CASE WHEN u_dist < 0.25 THEN hexid('q1', q) END AS h1,
        CASE WHEN u_dist < 0.25 THEN hexid('q2', q) END AS h2,
        CASE WHEN u_user < 0.30 THEN hexid('session', q) END AS hs,
        CASE workload WHEN 'replay' THEN 'replay_svc' WHEN 'analytics' THEN 'analytics_svc'
             WHEN 'flags' THEN 'flags_svc' WHEN 'ai_assistant' THEN 'ai_svc'
             WHEN 'metrics' THEN 'metrics_svc' ELSE workload END
            AS user_name,
        -- a sixth of product traffic is ingestion (inserts), the rest reads
        CASE WHEN workload IN ('etl', 'default', 'metrics') THEN (hash(q, 21, @seed@) % 3)::INTEGER
             WHEN u_kind < 0.17 THEN 2
             ELSE (hash(q, 22, @seed@) % 2)::INTEGER END AS template_no,
        cl.ids[1 + (hash(q, 23, @seed@) % len(cl.ids))::INTEGER] AS customer_id,
        CASE hash(q, 24, @seed@) % 3 WHEN 0 THEN 'session_summary' WHEN 1 THEN 'sql_assistant'
             ELSE 'insight_chat' END AS feature_id,
        CASE hash(q, 25, @seed@) % 2 WHEN 0 THEN 'ch-0' ELSE 'ch-1' END AS host
    FROM q2
    LEFT JOIN cust_lists cl
      ON cl.product = q2.workload
     AND cl.period_start = date_trunc('month', make_timestamp(q2.start_us))::DATE
)
SELECT
    q3.q, q3.host, q3.user_name, q3.workload, q3.outcome, q3.start_us, q3.u_size,
    t.query_kind, t.database, t.table_name,
    CASE WHEN t.has_session THEN replace(t.text, '{session}', uuid_fmt(q3.hs)) ELSE t.text END
        AS query_text,
    hash(q3.workload, q3.template_no) AS normalized_query_hash,
    -- distributed fan-out: a quarter of successful reads run on both shards
    q3.outcome = 'QueryFinish' AND t.query_kind = 'Select' AND q3.workload <> 'default'
        AND q3.u_dist < 0.25 AS is_distributed,
    CASE
        WHEN q3.workload IN ('etl', 'default', 'metrics') THEN
            CASE WHEN q3.workload = 'etl' AND q3.u_comment < 0.5
                 THEN '{"job": "daily_rollup"}' ELSE '' END
        WHEN q3.u_comment < 0.80 THEN
            '{"product": "' || q3.workload || '", "customer_id": "' || q3.customer_id || '"'
            || CASE WHEN q3.workload = 'ai_assistant'
                    THEN ', "feature_id": "' || q3.feature_id || '"' ELSE '' END || '}'
        WHEN q3.u_comment < 0.96 THEN ''   -- no comment: attribute by user instead
        ELSE '{"product": "' || q3.workload || '"'   -- truncated by a client bug
    END AS log_comment,
    uuid_fmt(q3.h0) AS query_id,
    uuid_fmt(q3.h1) AS child1_query_id,
    uuid_fmt(q3.h2) AS child2_query_id,
    -- rows scanned: log-uniform 10^3 .. 10^8.5 for reads, inserts write 10^3 .. 10^6; each
    -- shard scans its own share and the initiator reports the sum of its shards
    round(pow(10, 3 + 5.5 * q3.u_size))::BIGINT AS base_rows,
    round(pow(10, 3 + 3 * q3.u_size))::BIGINT AS insert_rows,
    (round(pow(10, 3 + 5.5 * q3.u_size)) * (0.35 + 0.3 * rnd(q3.q, 1, 31)))::BIGINT AS shard1_rows,
    (round(pow(10, 3 + 5.5 * q3.u_size)) * (0.35 + 0.3 * rnd(q3.q, 2, 31)))::BIGINT AS shard2_rows,
    CASE WHEN q3.workload = 'replay' THEN 220 WHEN q3.workload = 'ai_assistant' THEN 90
         ELSE 48 END AS bytes_per_row,
    CASE WHEN q3.outcome = 'ExceptionBeforeStart' THEN 1 + (q3.u_dur * 20)::BIGINT
         ELSE 2 + (pow(10, 4 * q3.u_dur) * (1 + q3.u_size))::BIGINT END AS total_ms,
    CASE WHEN q3.outcome = 'QueryFinish' THEN 0
         WHEN q3.outcome = 'ExceptionBeforeStart'
              THEN CASE q3.code_pick % 4 WHEN 0 THEN 60 WHEN 1 THEN 62 WHEN 2 THEN 497 ELSE 202 END
         ELSE CASE q3.code_pick % 3 WHEN 0 THEN 241 WHEN 1 THEN 159 ELSE 394 END
    END AS exception_code
FROM q3
JOIN texts t
  ON t.product = q3.workload AND t.template_no = q3.template_no
 AND t.customer_key = coalesce(q3.customer_id, '');
"""

_QUERY_LOG_SQL = r"""
COPY (
WITH parts AS (
    -- part 0 = the initial query; parts 1..2 = its secondary queries on each shard
    SELECT q.*, p.part, p.phase
    FROM ql_queries q
    CROSS JOIN (VALUES (0, 'start'), (0, 'end'), (1, 'start'), (1, 'end'), (2, 'start'),
                       (2, 'end')) p(part, phase)
    WHERE (p.part = 0 OR q.is_distributed)
      -- ExceptionBeforeStart is logged without a QueryStart row, like the real server
      AND NOT (p.phase = 'start' AND q.outcome = 'ExceptionBeforeStart')
),
r AS (
    SELECT parts.*,
        CASE part WHEN 0 THEN host WHEN 1 THEN 'ch-0' ELSE 'ch-1' END AS row_host,
        CASE WHEN outcome = 'ExceptionBeforeStart' THEN 0
             WHEN query_kind = 'Insert' THEN insert_rows
             WHEN part = 1 THEN shard1_rows
             WHEN part = 2 THEN shard2_rows
             WHEN is_distributed THEN shard1_rows + shard2_rows
             -- a query killed mid-flight has still burnt part of the scan
             WHEN outcome = 'ExceptionWhileProcessing' THEN base_rows * 3 // 10
             ELSE base_rows END AS rows_read,
        CASE part WHEN 0 THEN total_ms ELSE greatest(1, total_ms - 2 - part) END AS dur_ms,
        CASE part WHEN 0 THEN start_us ELSE start_us + 900 + 300 * part END AS row_start_us,
        phase = 'start' AS is_start
    FROM parts
),
f AS (
    SELECT r.*, rows_read * bytes_per_row AS bytes_read,
        row_start_us + CASE WHEN is_start THEN 0 ELSE dur_ms * 1000 END AS event_us
    FROM r
)
SELECT
    row_host::VARCHAR AS hostname,
    '26.9.2.1'::VARCHAR AS clickhouse_version,
    CASE WHEN is_start THEN 'QueryStart' ELSE outcome END::VARCHAR AS type,
    make_timestamp(event_us)::DATE AS event_date,
    make_timestamp(event_us - event_us % 1000000)::TIMESTAMPTZ AS event_time,
    make_timestamp(event_us + CASE WHEN is_start THEN 0 ELSE 37 END)::TIMESTAMPTZ
        AS event_time_microseconds,
    make_timestamp(row_start_us - row_start_us % 1000000)::TIMESTAMPTZ AS query_start_time,
    make_timestamp(row_start_us)::TIMESTAMPTZ AS query_start_time_microseconds,
    CASE WHEN is_start THEN 0 ELSE dur_ms END::UBIGINT AS query_duration_ms,
    CASE WHEN is_start THEN 0 ELSE rows_read END::UBIGINT AS read_rows,
    CASE WHEN is_start THEN 0 ELSE bytes_read END::UBIGINT AS read_bytes,
    CASE WHEN is_start OR query_kind <> 'Insert' OR outcome <> 'QueryFinish' THEN 0
         ELSE rows_read END::UBIGINT AS written_rows,
    CASE WHEN is_start OR query_kind <> 'Insert' OR outcome <> 'QueryFinish' THEN 0
         ELSE bytes_read * 2 END::UBIGINT AS written_bytes,
    CASE WHEN is_start OR outcome <> 'QueryFinish' OR query_kind = 'Insert' THEN 0
         ELSE 1 + (q * 7919 + part) % 1000 END::UBIGINT AS result_rows,
    CASE WHEN is_start OR outcome <> 'QueryFinish' OR query_kind = 'Insert' THEN 0
         ELSE 64 + ((q * 7919 + part) % 1000) * 64 END::UBIGINT AS result_bytes,
    CASE WHEN is_start THEN 0 ELSE 4194304 + bytes_read // 20 END::UBIGINT AS memory_usage,
    database::VARCHAR AS current_database,
    CASE WHEN part = 0 THEN query_text
         ELSE replace(query_text, table_name, table_name || '_local') END::VARCHAR AS query,
    normalized_query_hash::UBIGINT AS normalized_query_hash,
    query_kind::VARCHAR AS query_kind,
    CASE WHEN outcome = 'ExceptionBeforeStart' THEN []::VARCHAR[] ELSE [database] END
        AS databases,
    CASE WHEN outcome = 'ExceptionBeforeStart' THEN []::VARCHAR[]
         WHEN part = 0 THEN [table_name] ELSE [table_name || '_local'] END AS tables,
    CASE WHEN is_start THEN 0 ELSE exception_code END::INTEGER AS exception_code,
    CASE WHEN is_start OR exception_code = 0 THEN ''
         WHEN exception_code = 60 THEN 'Code: 60. DB::Exception: Unknown table expression '
             || 'identifier ''' || table_name || '_v2''. (UNKNOWN_TABLE)'
         WHEN exception_code = 62 THEN 'Code: 62. DB::Exception: Syntax error: failed at '
             || 'position 42 (end of query). (SYNTAX_ERROR)'
         WHEN exception_code = 497 THEN 'Code: 497. DB::Exception: ' || user_name
             || ': Not enough privileges. (ACCESS_DENIED)'
         WHEN exception_code = 202 THEN 'Code: 202. DB::Exception: Too many simultaneous '
             || 'queries. Maximum: 100. (TOO_MANY_SIMULTANEOUS_QUERIES)'
         WHEN exception_code = 241 THEN 'Code: 241. DB::Exception: Memory limit (for query) '
             || 'exceeded: would use 9.31 GiB (attempt to allocate chunk of 4194304 bytes), '
             || 'maximum: 9.31 GiB. (MEMORY_LIMIT_EXCEEDED)'
         WHEN exception_code = 159 THEN 'Code: 159. DB::Exception: Timeout exceeded: elapsed '
             || '30.000431 seconds, maximum: 30. (TIMEOUT_EXCEEDED)'
         ELSE 'Code: 394. DB::Exception: Query was cancelled. (QUERY_WAS_CANCELLED)'
    END::VARCHAR AS exception,
    (part = 0)::UTINYINT AS is_initial_query,
    user_name::VARCHAR AS user,
    CASE part WHEN 0 THEN query_id WHEN 1 THEN child1_query_id ELSE child2_query_id END::VARCHAR
        AS query_id,
    user_name::VARCHAR AS initial_user,
    query_id::VARCHAR AS initial_query_id,
    CASE WHEN part > 0 OR user_name IN ('etl', 'default') THEN 'TCP' ELSE 'HTTP' END::VARCHAR
        AS interface,
    (part > 0)::UBIGINT AS distributed_depth,
    log_comment::VARCHAR AS log_comment,
    CASE WHEN is_start THEN 0 ELSE 1 + (u_size * 15)::BIGINT END::UBIGINT AS peak_threads_usage,
    CASE WHEN is_start THEN MAP {}::MAP(VARCHAR, UBIGINT)
         -- a STRUCT cast builds the map ~4x faster than MAP(keys, values) (no per-row key check)
         WHEN query_kind = 'Insert' THEN {
            'Query': 1, 'InsertQuery': 1, 'InsertedRows': rows_read,
            'InsertedBytes': bytes_read * 2, 'RealTimeMicroseconds': dur_ms * 1000,
            'UserTimeMicroseconds': dur_ms * 600,
            'OSCPUVirtualTimeMicroseconds': (dur_ms * 700 * (1 + u_size))::BIGINT,
            'SelectedRows': 0, 'SelectedBytes': 0}::MAP(VARCHAR, UBIGINT)
         ELSE {
            'Query': 1, 'SelectQuery': 1, 'RealTimeMicroseconds': dur_ms * 1000,
            'UserTimeMicroseconds': (dur_ms * 900 * (1 + 8 * u_size))::BIGINT,
            'OSCPUVirtualTimeMicroseconds': (dur_ms * 1000 * (1 + 8 * u_size))::BIGINT,
            'SelectedRows': rows_read, 'SelectedBytes': bytes_read,
            'SelectedParts': 1 + rows_read // 1000000,
            'SelectedMarks': 1 + rows_read // 8192}::MAP(VARCHAR, UBIGINT)
    END AS ProfileEvents
FROM f
) TO '@path@' (FORMAT parquet, COMPRESSION snappy)
"""


def write(
    con: duckdb.DuckDBPyConnection, out_dir: Path, target_rows: int, seed: int
) -> tuple[Path, int]:
    """Write ``clickhouse/query_log.parquet`` with about ``target_rows`` rows."""
    # Expected rows per logical query: 2 % ExceptionBeforeStart (1 row), the rest Start + end
    # (2 rows); a quarter of successful non-system reads also log 2 shards x 2 rows.
    p_finish_select = 0.95 * (1 - 0.92 * 0.17 - 0.08 * 0.4) * 0.96
    rows_per_query = 0.02 * 1 + 0.98 * 2 + p_finish_select * 0.25 * 4
    n_queries = max(1, round(target_rows / rows_per_query))
    path = out_dir / "clickhouse" / "query_log.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(_QUERY_TEMPLATES_SQL)
    con.execute(sql(_QUERY_LOG_QUERIES_SQL, n_queries=n_queries, seed=seed))
    result = con.execute(sql(_QUERY_LOG_SQL, path=path.as_posix())).fetchone()
    rows = int(result[0]) if result else 0
    logger.info("query_log: %s rows from %s queries", rows, n_queries)
    return path, rows
