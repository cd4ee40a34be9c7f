{#-
    The feature cost model's config (var feature_cost_model in dbt_project.yml) as SQL rows.

    feature_cost_rows('feature_taxonomy') → feature_id, taxonomy, product, is_enabled
    feature_cost_rows('rate_cards')       → taxonomy, cpu_per_ms, memory_per_ms, db_query_base,
                                            gpu_per_ms, currency
    feature_cost_rows('shared_resources') → service_name, product, component (null = every
                                            component of the product)

    Rendered as portable `select … union all select …`. The config is checked first: a wrong
    key stops the build at compile time with an error naming it (a typo in a rate card would
    otherwise price a feature at nothing, quietly).
-#}
{% macro feature_cost_config() -%}
    {%- set config = var('feature_cost_model', {}) -%}
    {%- set where = 'var feature_cost_model' -%}
    {%- for key in ['feature_taxonomy', 'rate_cards', 'shared_resources'] -%}
        {%- if config.get(key) is not mapping -%}
            {{ exceptions.raise_compiler_error(where ~ '.' ~ key ~ ': missing (a mapping is expected)') }}
        {%- endif -%}
    {%- endfor -%}
    {%- set rates = config['rate_cards'] -%}
    {%- if 'unmapped' not in rates -%}
        {{ exceptions.raise_compiler_error(where ~ '.rate_cards.unmapped: missing (prices spans of features not in feature_taxonomy)') }}
    {%- endif -%}
    {%- for name, card in rates.items() -%}
        {%- if card is not mapping -%}
            {{ exceptions.raise_compiler_error(where ~ '.rate_cards.' ~ name ~ ': not a mapping') }}
        {%- endif -%}
        {%- for rate in ['cpu_per_ms', 'memory_per_ms', 'db_query_base', 'gpu_per_ms'] -%}
            {%- set value = card.get(rate) -%}
            {%- set text = (value | string) | trim -%}
            {%- if value is none or value is boolean or not modules.re.fullmatch('[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?', text) -%}
                {{ exceptions.raise_compiler_error(where ~ '.rate_cards.' ~ name ~ '.' ~ rate ~ ': ' ~ (value | string) ~ ' is not a rate (a number >= 0 is expected)') }}
            {%- endif -%}
        {%- endfor -%}
        {%- if not modules.re.fullmatch('[A-Z]{3}', card.get('currency') | string) -%}
            {{ exceptions.raise_compiler_error(where ~ '.rate_cards.' ~ name ~ '.currency: ' ~ (card.get('currency') | string) ~ ' is not a currency code like USD') }}
        {%- endif -%}
    {%- endfor -%}
    {%- for feature, entry in config['feature_taxonomy'].items() -%}
        {%- if entry is not mapping or entry.get('taxonomy') not in rates -%}
            {{ exceptions.raise_compiler_error(where ~ '.feature_taxonomy.' ~ feature ~ '.taxonomy: ' ~ ((entry.get('taxonomy') if entry is mapping else entry) | string) ~ ' is not a rate card in rate_cards') }}
        {%- endif -%}
        {%- if entry.get('enabled', true) is not boolean -%}
            {{ exceptions.raise_compiler_error(where ~ '.feature_taxonomy.' ~ feature ~ '.enabled: true or false expected') }}
        {%- endif -%}
    {%- endfor -%}
    {%- for service, entry in config['shared_resources'].items() -%}
        {%- if entry is not mapping or not entry.get('product') -%}
            {{ exceptions.raise_compiler_error(where ~ '.shared_resources.' ~ service ~ '.product: missing') }}
        {%- endif -%}
        {%- for component in entry.get('components') or [] -%}
            {%- if component not in var('cost_components') -%}
                {{ exceptions.raise_compiler_error(where ~ '.shared_resources.' ~ service ~ '.components: ' ~ component ~ ' is not one of var cost_components') }}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(config) }}
{%- endmacro %}

{% macro _feature_cost_text(value) -%}
    {%- if value is none -%}cast(null as {{ dbt.type_string() }})
    {%- else -%}cast('{{ (value | string) | replace("'", "''") }}' as {{ dbt.type_string() }})
    {%- endif -%}
{%- endmacro %}

{% macro _feature_cost_rate(value) -%}
    cast('{{ (value | string) | trim }}' as decimal(38, 12))
{%- endmacro %}

{% macro feature_cost_rows(kind) -%}
    {%- set config = feature_cost_config() -%}
    {%- set selects = [] -%}
    {%- if kind == 'feature_taxonomy' -%}
        {%- for feature, entry in config['feature_taxonomy'].items() -%}
            {%- do selects.append(
                'select ' ~ _feature_cost_text(feature) ~ ' as feature_id, '
                ~ _feature_cost_text(entry['taxonomy']) ~ ' as taxonomy, '
                ~ _feature_cost_text(entry.get('product')) ~ ' as product, '
                ~ ('true' if entry.get('enabled', true) else 'false') ~ ' as is_enabled'
            ) -%}
        {%- endfor -%}
        {%- set empty = 'select cast(null as ' ~ dbt.type_string() ~ ') as feature_id, cast(null as '
            ~ dbt.type_string() ~ ') as taxonomy, cast(null as ' ~ dbt.type_string()
            ~ ') as product, true as is_enabled' -%}
    {%- elif kind == 'rate_cards' -%}
        {%- for name, card in config['rate_cards'].items() -%}
            {%- do selects.append(
                'select ' ~ _feature_cost_text(name) ~ ' as taxonomy, '
                ~ _feature_cost_rate(card['cpu_per_ms']) ~ ' as cpu_per_ms, '
                ~ _feature_cost_rate(card['memory_per_ms']) ~ ' as memory_per_ms, '
                ~ _feature_cost_rate(card['db_query_base']) ~ ' as db_query_base, '
                ~ _feature_cost_rate(card['gpu_per_ms']) ~ ' as gpu_per_ms, '
                ~ _feature_cost_text(card['currency']) ~ ' as currency'
            ) -%}
        {%- endfor -%}
    {%- elif kind == 'shared_resources' -%}
        {%- for service, entry in config['shared_resources'].items() -%}
            {%- for component in entry.get('components') or [none] -%}
                {%- do selects.append(
                    'select ' ~ _feature_cost_text(service) ~ ' as service_name, '
                    ~ _feature_cost_text(entry['product']) ~ ' as product, '
                    ~ _feature_cost_text(component) ~ ' as component'
                ) -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- set empty = 'select cast(null as ' ~ dbt.type_string() ~ ') as service_name, cast(null as '
            ~ dbt.type_string() ~ ') as product, cast(null as ' ~ dbt.type_string()
            ~ ') as component' -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error('feature_cost_rows: unknown kind ' ~ kind) }}
    {%- endif -%}
    {%- if selects -%}
        {{ selects | join('\n    union all\n    ') }}
    {%- else -%}
        {{ empty }}
        where 1 = 0
    {%- endif -%}
{%- endmacro %}
