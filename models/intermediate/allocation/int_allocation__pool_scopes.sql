{#-
    The driver scopes of seeds/rules/allocation_pools.csv, one row per pool and scope term
    (docs/drivers.md). driver_scope = `key:pattern` terms separated by `|`; a driver row is in
    scope when it matches any term (pattern: SQL LIKE, `%` any text):
      hostname:<pattern>  a query_log pool counts only the queries run on matching hosts;
      provider:<name>     a cost_proportional pool counts only the direct cost of that cloud
                          (aws, azure, gcp, oci in any spelling the bills use, see
                          macros/cost/normalized_provider.sql, or an AI provider: openai);
      account:<pattern>   … of a billing or usage account;
      service:<pattern>   … of a service code.
    Blank = unscoped. `problem` says why a term is invalid (null when valid); the build fails
    on any (tests/assert_pool_scopes_are_valid.sql), so a typo never empties a driver.
-#}
{%- set max_terms = driver_scope_max_terms() -%}
with

pools as (

    select * from {{ ref('allocation_pools') }}

),

scoped_pools as (

    select
        pool_id,
        method,
        driver,
        driver_scope,
        length(driver_scope) - length(replace(driver_scope, '|', '')) + 1 as n_terms
    from pools
    where driver_scope is not null and trim(driver_scope) <> ''

),

terms as (

    {%- for n in range(1, max_terms + 1) %}

        select
            pool_id,
            method,
            driver,
            driver_scope,
            n_terms,
            {{ n }} as term_number,
            {#- guarded: Spark fails on an index past the end of the split #}
            case
                when n_terms >= {{ n }} then trim({{ dbt.split_part('driver_scope', "'|'", n) }})
            end as term
        from scoped_pools
        where n_terms >= {{ n }}
        {%- if not loop.last %}

            union all
        {%- endif %}
    {%- endfor %}

),

parsed as (

    select
        pool_id,
        method,
        driver,
        driver_scope,
        n_terms,
        term_number,
        term,
        case
            when {{ dbt.position("':'", 'term') }} > 0
                then lower(trim(substr(term, 1, {{ dbt.position("':'", 'term') }} - 1)))
        end as scope_key,
        case
            when {{ dbt.position("':'", 'term') }} > 0
                then trim(substr(term, {{ dbt.position("':'", 'term') }} + 1))
        end as scope_pattern
    from terms

),

final as (

    select
        pool_id,
        method,
        driver,
        driver_scope,
        term_number,
        term,
        scope_key,
        case
            when scope_key = 'provider' then {{ normalized_provider('scope_pattern') }}
            else scope_pattern
        end as scope_pattern,
        case
            when scope_key = 'hostname' then 'query_log'
            when scope_key in ('provider', 'account', 'service') then 'cost'
        end as scope_kind,
        case
            when n_terms > {{ max_terms }}
                then 'more than {{ max_terms }} terms'
            when
                scope_key is null
                or scope_key not in ('hostname', 'provider', 'account', 'service')
                then
                    'term "' || term || '" is not hostname:, provider:, account: or service:'
                    || ' followed by a value'
            when scope_pattern = ''
                then 'term "' || term || '" has no value after the colon'
            when scope_key = 'hostname' and method <> 'query_log'
                then 'hostname: scopes only a query_log pool, not method ' || method
            when
                scope_key <> 'hostname'
                and (method <> 'cost_proportional' or driver <> 'direct_effective_cost')
                then
                    scope_key || ': scopes only a cost_proportional pool on '
                    || 'direct_effective_cost, not method ' || method
        end as problem
    from parsed

)

select * from final
