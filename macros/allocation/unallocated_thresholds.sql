{#-
    Unallocated money per reason, measured against var('unallocated_thresholds'): one place
    for the numbers the threshold test (tests/assert_unallocated_within_thresholds.sql) and the
    build summary (macros/report_unallocated.sql) both print. A reason's percentage is its
    effective cost over the whole allocated effective cost of its currency.
-#}

{#- The thresholds of one reason: its own keys, else `default`'s; null = never. #}
{% macro unallocated_threshold(reason) %}
    {%- set configured = var('unallocated_thresholds', {}) or {} -%}
    {%- set fallback = configured.get('default') or {'warn_pct': 5, 'error_pct': 50} -%}
    {%- set own = configured.get(reason) or {} -%}
    {%- set chosen = {} -%}
    {%- for key in ['warn_pct', 'error_pct'] -%}
        {%- do chosen.update({key: own[key] if key in own else fallback.get(key)}) -%}
    {%- endfor -%}
    {{ return(chosen) }}
{% endmacro %}

{#- What to do about a reason, for the warning and error messages. #}
{% macro unallocated_hint(reason) %}
    {%- set hints = {
        'no_driver': "A pool's driver found no usage: check the driver names in " ~ rules_file("allocation_pools") ~ " against the usage metrics, and that usage is loaded for those days",
        'no_customer': "Product cost no customer driver reached (the '(unallocated)' customer): check " ~ rules_file("customer_drivers") ~ " and that the usage files carry customer_id",
        'untagged': "Bill lines no tag rule matched: add product rules to " ~ rules_file("allocation_tag_rules"),
        'unused_commitment': "Savings Plan / reservation commitment nobody used",
        'unattributed_queries': "ClickHouse work of no product: map its users in " ~ rules_file("clickhouse_user_products"),
        'unattributed_workloads': "Kubernetes workloads without a product label",
        'idle_capacity': "Idle Kubernetes node capacity",
    } -%}
    {{ return(hints.get(reason, "See the fct_cost_allocation rows with unallocated_reason '" ~ reason ~ "'")) }}
{% endmacro %}

{#- One row per currency and reason: the reasons present plus every reason named in the
    thresholds (at 0), each with amount, pct, thresholds and status ok / WARN / FAIL. #}
{% macro unallocated_status(relation) %}
    {%- set query -%}
        select
            billing_currency,
            coalesce(unallocated_reason, '(allocated)') as reason,
            cast(sum(allocated_effective_cost) as double) as effective_cost
        from {{ relation }}
        group by 1, 2
        order by 1, 2
    {%- endset -%}
    {%- set result = run_query(query) -%}
    {%- set totals = {} -%}
    {%- set amounts = {} -%}
    {%- for row in result -%}
        {%- set currency = row[0] -%}
        {%- do totals.update({currency: totals.get(currency, 0.0) + (row[2] | float)}) -%}
        {%- do amounts.update({(currency, row[1]): row[2] | float}) -%}
    {%- endfor -%}
    {%- set named = (var('unallocated_thresholds', {}) or {}).keys() | reject('equalto', 'default') | list -%}
    {%- for currency in totals.keys() -%}
        {%- for reason in named if (currency, reason) not in amounts -%}
            {%- do amounts.update({(currency, reason): 0.0}) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set rows = [] -%}
    {%- for key in amounts.keys() | sort -%}
        {%- set currency, reason = key -%}
        {%- set amount = amounts[key] -%}
        {%- set total = totals[currency] -%}
        {%- set pct = (100.0 * amount / total) if total != 0 else 0.0 -%}
        {%- set limits = unallocated_threshold(reason) -%}
        {%- set status = '' -%}
        {%- if reason != '(allocated)' -%}
            {%- if limits.error_pct is not none and pct | abs > limits.error_pct | float -%}
                {%- set status = 'FAIL' -%}
            {%- elif limits.warn_pct is not none and pct | abs > limits.warn_pct | float -%}
                {%- set status = 'WARN' -%}
            {%- else -%}
                {%- set status = 'ok' -%}
            {%- endif -%}
        {%- endif -%}
        {%- do rows.append({
            'currency': currency, 'reason': reason, 'amount': amount, 'total': total,
            'pct': pct, 'warn_pct': limits.warn_pct, 'error_pct': limits.error_pct,
            'status': status,
        }) -%}
    {%- endfor -%}
    {{ return(rows) }}
{% endmacro %}

{#- "warn above 1 %, fail above 5 %" (or "never fails"). #}
{% macro unallocated_limits_text(row) %}
    {%- set parts = [] -%}
    {%- if row.warn_pct is not none -%}{%- do parts.append('warn above ' ~ row.warn_pct ~ ' %') -%}{%- endif -%}
    {%- if row.error_pct is not none -%}
        {%- do parts.append('fail above ' ~ row.error_pct ~ ' %') -%}
    {%- else -%}
        {%- do parts.append('never fails') -%}
    {%- endif -%}
    {{ return(parts | join(', ')) }}
{% endmacro %}

{#- The message naming the reason, currency, amount and percent. #}
{% macro unallocated_message(row) %}
    {{ return(
        "reason '%s': %s %s = %.1f %% of the %s cost %s (%s; var unallocated_thresholds.%s). %s."
        | format(
            row.reason, row.currency, '{:,.2f}'.format(row.amount), row.pct, row.currency,
            '{:,.2f}'.format(row.total), unallocated_limits_text(row), row.reason,
            unallocated_hint(row.reason),
        )
    ) }}
{% endmacro %}
