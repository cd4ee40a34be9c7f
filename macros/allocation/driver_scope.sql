{#-
    Scoped drivers (seeds/rules/allocation_pools.csv driver_scope, docs/drivers.md): a scope is up to
    driver_scope_max_terms() `key:pattern` terms separated by `|`; a driver row counts when it
    matches any term. Which drivers a scope key restricts:
      hostname                  → the ClickHouse work drivers (read_bytes, cpu_time_us, duration_ms)
      provider, account, service → the direct cost driver (direct_effective_cost)
    Every other driver is never scoped.
-#}
{% macro driver_scope_max_terms() -%}
    {{ return(8) }}
{%- endmacro %}

{#- 'query_log' or 'cost': the scope kind a driver accepts (null: the driver is never scoped) -#}
{% macro driver_scope_kind(driver) -%}
    case
        when {{ driver }} in ('read_bytes', 'cpu_time_us', 'duration_ms') then 'query_log'
        when {{ driver }} = 'direct_effective_cost' then 'cost'
    end
{%- endmacro %}

{#- An expression that fails the statement with `message` when evaluated: a build error that
    names the bad value, where a failing test would only count rows. -#}
{% macro raise_row_error(message) -%}
    {{ return(adapter.dispatch('raise_row_error', 'cost_to_serve')(message)) }}
{%- endmacro %}

{% macro default__raise_row_error(message) -%}
    error({{ message }})
{%- endmacro %}

{% macro spark__raise_row_error(message) -%}
    raise_error({{ message }})
{%- endmacro %}
