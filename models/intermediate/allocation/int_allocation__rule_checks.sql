{#-
    Every problem in the rule seeds, checked against the loaded data: one row per problem with
    its severity, seed file, rule / pool id, column, bad value and a one-line message that says
    what is wrong and what to do. tests/assert_rules_are_valid.sql fails `dbt build` on any
    `error` row, printing every message, and int_allocation__signature_paths depends on this
    model, so a broken rule skips the allocation instead of building wrong numbers;
    tests/assert_rule_warnings.sql prints the `warn` rows (status warn) and the `note` rows.

    One principle decides the severity: if money can move silently, it is an error.
      errors  a pool / alternative driver, customer-driver metric or unit / request metric
              that is a near miss of a loaded metric (a typo: one or two letters off, or
              equal but for case, `_` and `-`; the message says "did you mean"); an
              opencost:<cluster> driver while other clusters are loaded; a product name
              products.csv lacks; a method, driver, fallback, grain, dimension or match
              source outside the vocabulary or an invalid combination of them; two pools at
              the same priority on one line without a product; two tag rules at the winning
              priority giving one line different values of a dimension.
      warns   a metric name that resembles no loaded metric (usage not loaded yet: a partial
              load or a new product; the warning says what is lost, and the unallocated
              summary shows the money); a metric with no rows for the product naming it; no
              usage or no OpenCost export loaded at all.
      notes   a rule or pool that matches nothing in the loaded bill or is shadowed on every
              line it matches (printed by the build and by `ingest check-rules`, status pass).
    Why a typo and not "any unknown metric" is the error: a warehouse with partial usage (a
    worked example, a first load, a product not yet metered) would otherwise fail on every
    metric it has not loaded yet, while a typo is never fixed by loading more data. A
    warehouse with no usage at all gets one warning, not one per metric. Product names are
    checked only when products.csv has rows (the catalogue is optional).
-#}
{{ config(materialized='table') }}
{%- set method_drivers = {
    'query_log': ['read_bytes', 'cpu_time_us', 'duration_ms'],
    'split_cost': ['split_cost'],
    'cost_proportional': ['direct_effective_cost'],
} -%}
{%- set methods = ['driver', 'query_log', 'split_cost', 'cost_proportional', 'even', 'residual'] -%}
{%- set driverless_methods = ['even', 'residual'] -%}
{%- set fallbacks = ['previous_period', 'even', 'unallocated'] -%}
{%- set grains = ['day', 'month'] -%}
{%- set dimensions = [
    'product', 'team', 'customer_id', 'environment', 'feature_id', 'component',
] -%}
{%- set sources = rule_match_sources() -%}
{%- set built_in_drivers = ['read_bytes', 'cpu_time_us', 'duration_ms', 'split_cost',
    'direct_effective_cost'] -%}
{#- the vocabularies above render as long IN lists and messages: their lines are kept whole #}
-- noqa: disable=LT05
with

pools as (

    select * from {{ ref('allocation_pools') }}

),

alternatives as (

    select * from {{ ref('allocation_pool_alternatives') }}

),

tag_rules as (

    select * from {{ ref('allocation_tag_rules') }}

),

customer_drivers as (

    select * from {{ ref('customer_drivers') }}

),

products as (

    select * from {{ ref('products') }}

),

user_products as (

    select * from {{ ref('clickhouse_user_products') }}

),

storage_parameters as (

    select * from {{ ref('storage_cost_parameters') }}

),

usage_metrics as (

    select * from {{ ref('stg_usage__metrics') }}

),

opencost_allocations as (

    select * from {{ ref('stg_opencost__allocations') }}

),

signatures as (

    select * from {{ ref('int_allocation__signatures') }}

),

signature_days as (

    select * from {{ ref('int_allocation__signature_days') }}

),

rule_matches as (

    select * from {{ ref('int_allocation__rule_matches') }}

),

pool_matches as (

    select * from {{ ref('int_allocation__pool_matches') }}

),

signature_dimensions as (

    select * from {{ ref('int_allocation__signature_dimensions') }}

),

coverage as (

    select * from {{ ref('int_allocation__rule_coverage') }}

),

{#- ---------------------------------------------------------------- what is loaded #}

metric_products as (

    select
        metric,
        product
    from usage_metrics
    group by metric, product

),

loaded_metrics as (

    select metric
    from metric_products
    group by metric

),

loaded_drivers as (

    select metric as driver from loaded_metrics
    union all
    select distinct 'opencost:' || cluster as driver from opencost_allocations
    {%- for driver in built_in_drivers %}
        union all
        select '{{ driver }}' as driver
    {%- endfor %}

),

loaded as (

    select
        (select count(*) from loaded_metrics) as n_metrics,
        (select count(*) from opencost_allocations) as n_opencost_rows,
        (select count(*) from products) as n_products,
        (select count(*) from signatures) as n_signatures,
        (
            select {{ dbt.listagg('metric', "', '", 'order by metric') }}
            from loaded_metrics
        ) as known_metrics,
        (
            select {{ dbt.listagg('driver', "', '", 'order by driver') }}
            from (select distinct 'opencost:' || cluster as driver from opencost_allocations) as c
        ) as known_clusters,
        (
            select {{ dbt.listagg('product', "', '", 'order by product') }}
            from products
        ) as known_products

),

{#- a signature in words, with its cost, for "e.g." in messages #}

signature_costs as (

    select
        signature_id,
        sum(effective_cost) as effective_cost,
        {{ dbt.listagg(
            "cast(cast(round(effective_cost_in_currency, 2) as decimal(38, 2)) as "
            ~ dbt.type_string() ~ ") || ' ' || billing_currency",
            "', '", 'order by billing_currency') }} as cost_text
    from (
        select
            signature_id,
            billing_currency,
            sum(effective_cost) as effective_cost_in_currency,
            sum(effective_cost) as effective_cost
        from signature_days
        group by signature_id, billing_currency
    ) as by_currency
    group by signature_id

),

signature_words as (

    select
        signatures.signature_id,
        coalesce(signature_costs.effective_cost, 0) as effective_cost,
        'signature ' || cast(signatures.signature_id as {{ dbt.type_string() }})
        || ': service ' || coalesce(signatures.service_code, '-')
        || ', usage_type ' || coalesce(nullif(signatures.usage_type, ''), '-')
        || ', resource ' || coalesce(nullif(signatures.resource_id, ''), '-')
        || ', account ' || coalesce(nullif(signatures.sub_account_id, ''), '-')
        || ', tags ' || coalesce(cast(signatures.tags as {{ dbt.type_string() }}), '{}')
        || ', ' || coalesce(signature_costs.cost_text, '0.00') as description
    from signatures
    left join signature_costs
        on signatures.signature_id = signature_costs.signature_id

),

{#- ---------------------------------------------------------------- allocation_pools.csv #}

pool_problems as (

    {{ rule_vocabulary_problems(
        'pools', rules_file('allocation_pools'), 'pool', 'pool_id', 'method', methods, 'method'
    ) }}

    union all

    {{ rule_vocabulary_problems(
        'pools', rules_file('allocation_pools'), 'pool', 'pool_id', 'share_grain', grains, 'grain'
    ) }}

    union all

    {{ rule_vocabulary_problems(
        'pools', rules_file('allocation_pools'), 'pool', 'pool_id', 'zero_driver_fallback',
        fallbacks, 'fallback',
        allow_when="coalesce(zero_driver_fallback, '') = '' and method in ('"
            ~ driverless_methods | join("', '") ~ "')"
    ) }}

    union all

    select
        'error' as severity,
        '{{ rules_file("allocation_pools") }}' as seed_file,
        'pool ' || pool_id as subject,
        pool_id as rule_id,
        'driver' as column_name,
        driver as bad_value,
        case
            when
                method in (
                    '{{ driverless_methods | join("', '") }}'
                )
                then
                    'method ' || method || ' takes no driver, yet driver is '''
                    || driver || ''' (it would be ignored)'
            else 'method ' || method || ' needs a driver and driver is empty'
        end as problem,
        cast(null as {{ dbt.type_string() }}) as example,
        case
            when
                method in (
                    '{{ driverless_methods | join("', '") }}'
                )
                then 'clear the driver, or use method driver to split by it'
            else 'name the driver (docs/rules.md lists them)'
        end as fix
    from pools
    where
        (
            method in (
                '{{ driverless_methods | join("', '") }}'
            )
            and coalesce(driver, '') <> ''
        )
        or (
            method in (
                '{{ methods | join("', '") }}'
            )
            and method not in (
                '{{ driverless_methods | join("', '") }}'
            )
            and coalesce(driver, '') = ''
        )

    {%- for method, drivers in method_drivers.items() %}

        union all

        select
            'error' as severity,
            '{{ rules_file("allocation_pools") }}' as seed_file,
            'pool ' || pool_id as subject,
            pool_id as rule_id,
            'driver' as column_name,
            driver as bad_value,
            'method {{ method }} splits by ' || '{{ drivers | join(", ") }}' || ', not by '''
            || driver || '''' as problem,
            cast(null as {{ dbt.type_string() }}) as example,
            'set driver to ' || '{{ drivers | join(", ") }}' || ', or use method driver' as fix
        from pools
        where
            method = '{{ method }}'
            and coalesce(driver, '') <> ''
            and driver not in (
                '{{ drivers | join("', '") }}'
            )
    {%- endfor %}

),

{#- pool and alternative drivers that name nothing loaded #}

declared_drivers as (

    select
        '{{ rules_file("allocation_pools") }}' as seed_file,
        'pool ' || pool_id as subject,
        pool_id as rule_id,
        driver
    from pools
    where method = 'driver' and coalesce(driver, '') <> ''

    union all

    select
        '{{ rules_file("allocation_pool_alternatives") }}' as seed_file,
        'alternative ' || alternative_id || ' (pool ' || coalesce(pool_id, '') || ')' as subject,
        alternative_id as rule_id,
        driver
    from alternatives
    where coalesce(driver, '') <> ''

),

driver_problems as (

    select
        case
            when declared_drivers.driver like 'opencost:%' and loaded.n_opencost_rows = 0
                then 'warn'
            else 'error'
        end as severity,
        declared_drivers.seed_file,
        declared_drivers.subject,
        declared_drivers.rule_id,
        'driver' as column_name,
        declared_drivers.driver as bad_value,
        case
            when declared_drivers.driver like 'opencost:%' and loaded.n_opencost_rows = 0
                then
                    'driver ''' || declared_drivers.driver || ''' has no data: no OpenCost'
                    || ' export is loaded, so the pool falls back to its zero_driver_fallback'
            when declared_drivers.driver like 'opencost:%'
                then
                    'driver ''' || declared_drivers.driver || ''' is not a loaded OpenCost'
                    || ' cluster (known: ' || coalesce(loaded.known_clusters, '') || ')'
        end as problem,
        cast(null as {{ dbt.type_string() }}) as example,
        'fix the cluster name or load its OpenCost export' as fix
    from declared_drivers
    cross join loaded
    left join loaded_drivers
        on declared_drivers.driver = loaded_drivers.driver
    where
        loaded_drivers.driver is null
        {#- usage metrics are checked with the other metric references below #}
        and declared_drivers.driver like 'opencost:%'

),

alternative_problems as (

    select
        'error' as severity,
        '{{ rules_file("allocation_pool_alternatives") }}' as seed_file,
        'alternative ' || alternatives.alternative_id as subject,
        alternatives.alternative_id as rule_id,
        'pool_id' as column_name,
        alternatives.pool_id as bad_value,
        'pool_id ''' || coalesce(alternatives.pool_id, '')
        || ''' is not a pool of {{ rules_file("allocation_pools") }}' as problem,
        cast(null as {{ dbt.type_string() }}) as example,
        'fix the pool_id or add the pool' as fix
    from alternatives
    left join pools
        on alternatives.pool_id = pools.pool_id
    where pools.pool_id is null

),

{#- two pools tied at the winning priority of a line without a product #}

unowned_pool_matches as (

    select
        pool_matches.signature_id,
        pool_matches.pool_id,
        pool_matches.priority,
        min(pool_matches.priority) over (
            partition by pool_matches.signature_id
        ) as best_priority
    from pool_matches
    left join signature_dimensions
        on pool_matches.signature_id = signature_dimensions.signature_id
    where signature_dimensions.product is null

),

pool_ties as (

    select
        first_pool.pool_id as first_pool_id,
        second_pool.pool_id as second_pool_id,
        first_pool.priority,
        first_pool.signature_id,
        signature_words.effective_cost,
        signature_words.description
    from unowned_pool_matches as first_pool
    inner join unowned_pool_matches as second_pool
        on
            first_pool.signature_id = second_pool.signature_id
            and first_pool.priority = second_pool.priority
            and first_pool.pool_id < second_pool.pool_id
    inner join signature_words
        on first_pool.signature_id = signature_words.signature_id
    where first_pool.priority = first_pool.best_priority

),

pool_tie_examples as (

    select
        first_pool_id,
        second_pool_id,
        priority,
        description,
        count(*) over (partition by first_pool_id, second_pool_id) as n_signatures,
        sum(effective_cost) over (partition by first_pool_id, second_pool_id) as tied_cost,
        row_number() over (
            partition by first_pool_id, second_pool_id
            order by abs(effective_cost) desc, signature_id
        ) as example_rank
    from pool_ties

),

pool_tie_problems as (

    select
        'error' as severity,
        '{{ rules_file("allocation_pools") }}' as seed_file,
        'pools ' || first_pool_id || ' and ' || second_pool_id as subject,
        first_pool_id || ', ' || second_pool_id as rule_id,
        'priority' as column_name,
        cast(priority as {{ dbt.type_string() }}) as bad_value,
        'both at priority ' || cast(priority as {{ dbt.type_string() }}) || ' match the same '
        || cast(n_signatures as {{ dbt.type_string() }}) || ' signature(s) without a product ('
        || cast(cast(round(tied_cost, 2) as decimal(38, 2)) as {{ dbt.type_string() }})
        || ' of cost), and only the pool_id order would pick one'
            as problem,
        description as example,
        'give one pool a different priority or narrow its match' as fix
    from pool_tie_examples
    where example_rank = 1

),

{#- ---------------------------------------------------------------- allocation_tag_rules.csv #}

rule_problems as (

    {{ rule_vocabulary_problems(
        'tag_rules', rules_file('allocation_tag_rules'), 'rule', 'rule_id', 'dimension',
        dimensions, 'dimension'
    ) }}

    union all

    select
        'error' as severity,
        '{{ rules_file("allocation_tag_rules") }}' as seed_file,
        'rule ' || rule_id as subject,
        rule_id,
        'output_value' as column_name,
        output_value as bad_value,
        'output_value is empty, and only source tag copies a value, so the rule sets nothing'
            as problem,
        cast(null as {{ dbt.type_string() }}) as example,
        'write the value the rule gives' as fix
    from tag_rules
    where coalesce(output_value, '') = '' and coalesce(source, '') <> 'tag'

),

{#- ------------------------------------------- what pools and tag rules match, checked alike #}

match_rules as (

    select
        '{{ rules_file("allocation_pools") }}' as seed_file,
        'pool' as kind,
        pool_id as rule_id,
        'match_source' as source_column,
        match_source as source,
        'match_value' as match_column,
        match_value as match,
        priority
    from pools

    union all

    select
        '{{ rules_file("allocation_tag_rules") }}' as seed_file,
        'rule' as kind,
        rule_id,
        'source' as source_column,
        source,
        'match' as match_column,
        match,
        priority
    from tag_rules

),

match_problems as (

    select
        'error' as severity,
        seed_file,
        kind || ' ' || rule_id as subject,
        rule_id,
        source_column as column_name,
        source as bad_value,
        source_column || ' ''' || coalesce(source, '') || ''' is not a match source, so the '
        || kind || ' matches nothing' as problem,
        cast(null as {{ dbt.type_string() }}) as example,
        'use tag:<key> or one of ' || '{{ sources | join(", ") }}' || ' (docs/rules.md)' as fix
    from match_rules
    where
        coalesce(source, '') not in (
            '{{ sources | join("', '") }}'
        )
        and not (source like 'tag:_%')

    union all

    select
        'error' as severity,
        seed_file,
        kind || ' ' || rule_id as subject,
        rule_id,
        match_column as column_name,
        match as bad_value,
        case
            when coalesce(match, '') = ''
                then match_column || ' is empty, so the ' || kind || ' matches nothing'
            else match_column || ' ''' || match || ''' is not key=value'
        end as problem,
        cast(null as {{ dbt.type_string() }}) as example,
        'write what to match (tag_equals takes key=value)' as fix
    from match_rules
    where
        (coalesce(match, '') = '' and coalesce(source, '') <> 'unused_commitment')
        or (source = 'tag_equals' and match not like '%_=%')

    union all

    select
        'error' as severity,
        seed_file,
        kind || ' ' || rule_id as subject,
        rule_id,
        'priority' as column_name,
        cast(null as {{ dbt.type_string() }}) as bad_value,
        'priority is empty' as problem,
        cast(null as {{ dbt.type_string() }}) as example,
        'give the ' || kind || ' a priority (the lowest matching priority wins)' as fix
    from match_rules
    where priority is null

),

{#- two rules at the winning priority of a signature giving different values #}

winning_priorities as (

    select
        signature_id,
        dimension,
        min(priority) as best_priority
    from rule_matches
    group by signature_id, dimension

),

at_best as (

    select rule_matches.*
    from rule_matches
    inner join winning_priorities
        on
            rule_matches.signature_id = winning_priorities.signature_id
            and rule_matches.dimension = winning_priorities.dimension
            and rule_matches.priority = winning_priorities.best_priority

),

rule_conflicts as (

    select
        first_rule.rule_id as first_rule_id,
        second_rule.rule_id as second_rule_id,
        first_rule.dimension,
        first_rule.priority,
        first_rule.signature_id,
        first_rule.matched_value as first_value,
        second_rule.matched_value as second_value,
        signature_words.effective_cost,
        signature_words.description
    from at_best as first_rule
    inner join at_best as second_rule
        on
            first_rule.signature_id = second_rule.signature_id
            and first_rule.dimension = second_rule.dimension
            and first_rule.rule_id < second_rule.rule_id
            and first_rule.matched_value <> second_rule.matched_value
    inner join signature_words
        on first_rule.signature_id = signature_words.signature_id

),

rule_conflict_examples as (

    select
        first_rule_id,
        second_rule_id,
        dimension,
        priority,
        first_value,
        second_value,
        description,
        count(*) over (partition by first_rule_id, second_rule_id) as n_signatures,
        sum(effective_cost) over (partition by first_rule_id, second_rule_id) as conflict_cost,
        row_number() over (
            partition by first_rule_id, second_rule_id
            order by abs(effective_cost) desc, signature_id
        ) as example_rank
    from rule_conflicts

),

rule_conflict_problems as (

    select
        'error' as severity,
        '{{ rules_file("allocation_tag_rules") }}' as seed_file,
        'rules ' || first_rule_id || ' and ' || second_rule_id as subject,
        first_rule_id || ', ' || second_rule_id as rule_id,
        'priority' as column_name,
        cast(priority as {{ dbt.type_string() }}) as bad_value,
        'both at priority ' || cast(priority as {{ dbt.type_string() }}) || ' give '
        || dimension || ' different values on '
        || cast(n_signatures as {{ dbt.type_string() }}) || ' signature(s) ('
        || cast(cast(round(conflict_cost, 2) as decimal(38, 2)) as {{ dbt.type_string() }})
        || ' of cost), so the rule_id order would pick one' as problem,
        '''' || first_value || ''' from ' || first_rule_id || ' vs ''' || second_value
        || ''' from ' || second_rule_id || ' on ' || description as example,
        'give one rule a different priority or narrow its match' as fix
    from rule_conflict_examples
    where example_rank = 1

),

{#- ---------------------------------------------------------------- metrics and products #}

metric_references as (

    select
        seed_file,
        subject,
        rule_id,
        cast(null as {{ dbt.type_string() }}) as product,
        'driver' as column_name,
        driver as metric,
        case
            when seed_file = '{{ rules_file("allocation_pools") }}'
                then 'the pool falls back to its zero_driver_fallback'
            else 'the alternative splits nothing'
        end as consequence,
        'fix the driver or load the metric' as fix
    from declared_drivers
    where
        driver not like 'opencost:%'
        and driver not in ('{{ built_in_drivers | join("', '") }}')

    union all

    select
        '{{ rules_file("customer_drivers") }}' as seed_file,
        'customer driver of ' || product as subject,
        product as rule_id,
        product,
        'metric' as column_name,
        metric,
        'the product''s cost reaches no customer' as consequence,
        'fix the metric or load it' as fix
    from customer_drivers

    union all

    select
        '{{ rules_file("products") }}' as seed_file,
        'product ' || product as subject,
        product as rule_id,
        product,
        'unit_metric' as column_name,
        unit_metric as metric,
        'the product has no cost per unit' as consequence,
        'fix the metric or load it' as fix
    from products
    where coalesce(unit_metric, '') <> ''

    union all

    select
        '{{ rules_file("products") }}' as seed_file,
        'product ' || product as subject,
        product as rule_id,
        product,
        'request_metric' as column_name,
        request_metric as metric,
        'the product has no cost per request' as consequence,
        'fix the metric or load it' as fix
    from products
    where coalesce(request_metric, '') <> ''

),

{#- an unknown name one or two letters from a loaded metric (or equal but for case, `_`
    and `-`) is a typo: an error. One that resembles nothing is data not loaded yet (a
    partial load, a product without usage): a warning that says what is lost. #}

metric_suggestions as (

    select
        metric_references.metric,
        loaded_metrics.metric as suggestion,
        row_number() over (
            partition by metric_references.metric
            order by
                levenshtein(lower(metric_references.metric), lower(loaded_metrics.metric)),
                loaded_metrics.metric
        ) as suggestion_rank
    from metric_references
    cross join loaded_metrics
    where
        metric_references.metric <> loaded_metrics.metric
        and (
            levenshtein(lower(metric_references.metric), lower(loaded_metrics.metric)) <= 2
            or replace(replace(lower(metric_references.metric), '_', ''), '-', '')
            = replace(replace(lower(loaded_metrics.metric), '_', ''), '-', '')
        )

),

metric_problems as (

    select
        case
            when loaded_metrics.metric is null and metric_suggestions.suggestion is not null
                then 'error'
            else 'warn'
        end as severity,
        metric_references.seed_file,
        metric_references.subject,
        metric_references.rule_id,
        metric_references.column_name,
        metric_references.metric as bad_value,
        case
            when loaded_metrics.metric is null and metric_suggestions.suggestion is not null
                then
                    metric_references.column_name || ' ''' || metric_references.metric
                    || ''' is not a loaded usage metric (did you mean '''
                    || metric_suggestions.suggestion || '''? known: ' || loaded.known_metrics
                    || ')'
            when loaded_metrics.metric is null
                then
                    metric_references.column_name || ' ''' || metric_references.metric
                    || ''' has no usage loaded (known: ' || loaded.known_metrics || '), so '
                    || metric_references.consequence
            else
                metric_references.column_name || ' ''' || metric_references.metric
                || ''' has no usage rows for product ' || metric_references.product || ', so '
                || metric_references.consequence
        end as problem,
        cast(null as {{ dbt.type_string() }}) as example,
        case
            when loaded_metrics.metric is null and metric_suggestions.suggestion is not null
                then metric_references.fix
            when loaded_metrics.metric is null
                then 'load the metric, or fix the name if it is a typo'
            else
                'load the metric with product ' || metric_references.product
                || ', or pick a metric that has it'
        end as fix
    from metric_references
    cross join loaded
    left join loaded_metrics
        on metric_references.metric = loaded_metrics.metric
    left join metric_products
        on
            metric_references.metric = metric_products.metric
            and metric_references.product = metric_products.product
    left join metric_suggestions
        on
            metric_references.metric = metric_suggestions.metric
            and metric_suggestions.suggestion_rank = 1
    where
        {#- no usage at all is one warning (no_usage), not one per reference #}
        loaded.n_metrics > 0
        and (
            loaded_metrics.metric is null
            or (metric_references.product is not null and metric_products.metric is null)
        )

),

product_references as (

    select
        '{{ rules_file("allocation_tag_rules") }}' as seed_file,
        'rule ' || rule_id as subject,
        rule_id,
        'output_value' as column_name,
        output_value as product
    from tag_rules
    where dimension = 'product' and coalesce(output_value, '') <> ''

    union all

    select
        '{{ rules_file("customer_drivers") }}' as seed_file,
        'customer driver of ' || product as subject,
        product as rule_id,
        'product' as column_name,
        product
    from customer_drivers

    union all

    select
        '{{ rules_file("clickhouse_user_products") }}' as seed_file,
        'user ' || clickhouse_user as subject,
        clickhouse_user as rule_id,
        'product' as column_name,
        product
    from user_products

    union all

    select
        '{{ rules_file("storage_cost_parameters") }}' as seed_file,
        'product ' || product as subject,
        product as rule_id,
        'product' as column_name,
        product
    from storage_parameters

),

product_problems as (

    select
        'error' as severity,
        product_references.seed_file,
        product_references.subject,
        product_references.rule_id,
        product_references.column_name,
        product_references.product as bad_value,
        product_references.column_name || ' ''' || coalesce(product_references.product, '')
        || ''' is not a product of {{ rules_file("products") }} (known: ' || loaded.known_products || ')'
            as problem,
        cast(null as {{ dbt.type_string() }}) as example,
        'fix the product or add it to {{ rules_file("products") }}' as fix
    from product_references
    cross join loaded
    left join products
        on product_references.product = products.product
    {#- a service pool as target (docs/allocation.md, "Services that serve services") #}
    left join pools as service_pools
        on product_references.product = 'pool:' || service_pools.pool_id
    where
        loaded.n_products > 0
        and products.product is null
        and service_pools.pool_id is null

),

{#- ---------------------------------------------------------------- coverage warnings #}

coverage_totals as (

    select
        rule_kind,
        rule_id,
        seed_file,
        dimension,
        sum(n_lines_matched) as n_lines_matched,
        sum(n_signatures_matched) as n_signatures_matched,
        sum(n_signatures_won) as n_signatures_won
    from coverage
    where rule_kind in ('tag_rule', 'pool')
    group by rule_kind, rule_id, seed_file, dimension

),

rule_winners as (

    select
        signature_id,
        dimension,
        rule_id,
        row_number() over (
            partition by signature_id, dimension
            order by priority, rule_id
        ) as rule_rank
    from rule_matches

),

shadowing as (

    select
        'tag_rule' as rule_kind,
        shadowed.rule_id,
        min(winner.rule_id) as winner_id
    from rule_winners as shadowed
    inner join rule_winners as winner
        on
            shadowed.signature_id = winner.signature_id
            and shadowed.dimension = winner.dimension
            and winner.rule_rank = 1
    where shadowed.rule_rank > 1
    group by shadowed.rule_id

    union all

    select
        'pool' as rule_kind,
        shadowed.pool_id as rule_id,
        min(winner.pool_id) as winner_id
    from unowned_pool_matches as shadowed
    inner join pool_matches as winner
        on
            shadowed.signature_id = winner.signature_id
            and winner.pool_rank = 1
            and shadowed.pool_id <> winner.pool_id
    group by shadowed.pool_id

),

coverage_problems as (

    -- a note, not a warning: a rule for data this bill lacks, or a fallback that a better rule
    -- always beats, is normal (generic rules, well-tagged bills) and moves no money by itself
    select
        'note' as severity,
        coverage_totals.seed_file,
        case when coverage_totals.rule_kind = 'pool' then 'pool ' else 'rule ' end
        || coverage_totals.rule_id as subject,
        coverage_totals.rule_id,
        case
            when coverage_totals.rule_kind = 'pool' then 'match_value' else 'match'
        end as column_name,
        cast(null as {{ dbt.type_string() }}) as bad_value,
        case
            when coverage_totals.n_signatures_matched = 0 and coverage_totals.rule_kind = 'pool'
                then 'matches no line without a product in the loaded bill'
            when coverage_totals.n_signatures_matched = 0
                then 'matches no line in the loaded bill'
            when coverage_totals.rule_kind = 'pool'
                then
                    'matches ' || cast(coverage_totals.n_lines_matched as {{ dbt.type_string() }})
                    || ' line(s) but pool ' || coalesce(shadowing.winner_id, '?')
                    || ' (a lower priority number) takes every one'
            else
                'matches ' || cast(coverage_totals.n_lines_matched as {{ dbt.type_string() }})
                || ' line(s) but rule ' || coalesce(shadowing.winner_id, '?')
                || ' wins ' || coverage_totals.dimension || ' on every one'
        end as problem,
        cast(null as {{ dbt.type_string() }}) as example,
        case
            when coverage_totals.n_signatures_matched = 0
                then 'check the match, or delete the row if it is for data you do not have'
            else 'lower its priority number, narrow the other, or delete it'
        end as fix
    from coverage_totals
    cross join loaded
    left join shadowing
        on
            coverage_totals.rule_kind = shadowing.rule_kind
            and coverage_totals.rule_id = shadowing.rule_id
    where
        loaded.n_signatures > 0
        and coverage_totals.n_signatures_won = 0

),

no_usage as (

    select
        'warn' as severity,
        '{{ rules_file("allocation_pools") }}' as seed_file,
        'usage' as subject,
        cast(null as {{ dbt.type_string() }}) as rule_id,
        cast(null as {{ dbt.type_string() }}) as column_name,
        cast(null as {{ dbt.type_string() }}) as bad_value,
        'no usage metric is loaded, so pools split by one fall back, products have no unit'
        || ' cost and no product cost reaches a customer' as problem,
        cast(null as {{ dbt.type_string() }}) as example,
        'load usage (python -m ingest usage)' as fix
    from loaded
    where n_metrics = 0

),

problems as (

    select * from pool_problems
    union all
    select * from driver_problems
    union all
    select * from alternative_problems
    union all
    select * from pool_tie_problems
    union all
    select * from rule_problems
    union all
    select * from match_problems
    union all
    select * from rule_conflict_problems
    union all
    select * from metric_problems
    union all
    select * from product_problems
    union all
    select * from coverage_problems
    union all
    select * from no_usage

),

final as (

    select
        severity,
        seed_file,
        rule_id,
        column_name,
        bad_value,
        seed_file || ' ' || coalesce(subject, '(a row without an id)') || ': '
        || coalesce(problem, '(a value is missing)')
        || coalesce(' (e.g. ' || example || ')', '') || ' — ' || fix as message,
        example
    from problems

)

select * from final
