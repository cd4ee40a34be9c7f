{#-
    The one matching vocabulary of seeds/rules/allocation_tag_rules.csv (source, match) and
    seeds/rules/allocation_pools.csv (match_source, match_value); docs/rules.md has the table.

      tag              match is a tag key: the signature carries that tag (a tag rule with an
                       empty output_value copies the tag's value)
      tag:<key>        the tag <key> equals match
      tag_equals       match is key=value: the tag key equals value
      account          the sub account id equals match
      service          the service code equals match (service_code is the same)
      usage_type       the usage type is LIKE match (% and _ wildcards)
      resource_id      the resource id is LIKE match
      charge_category  the charge category equals match (Usage, Tax, Credit, ...)
      unused_commitment  unused Savings Plan / RI commitment (match is ignored)
-#}
{% macro rule_match_sources() -%}
    {{ return([
        'tag', 'tag_equals', 'account', 'service', 'service_code', 'usage_type',
        'resource_id', 'charge_category', 'unused_commitment',
    ]) }}
{%- endmacro %}

{#- True when the signature row `sig` matches (source, match); null-safe: false otherwise. -#}
{% macro rule_matches_signature(source, match, sig='signatures') -%}
    (
        (
            {{ source }} = 'tag'
            and {{ tag_value(sig ~ '.tags', match) }} is not null
        )
        or (
            {{ source }} like 'tag:%'
            and {{ tag_value(sig ~ '.tags', 'substr(' ~ source ~ ', 5)') }} = {{ match }}
        )
        or (
            {{ source }} = 'tag_equals'
            and {{ tag_value(sig ~ '.tags', dbt.split_part(match, "'='", 1)) }}
            = {{ dbt.split_part(match, "'='", 2) }}
        )
        or ({{ source }} = 'account' and {{ sig }}.sub_account_id = {{ match }})
        or (
            {{ source }} in ('service', 'service_code')
            and {{ sig }}.service_code = {{ match }}
        )
        or ({{ source }} = 'usage_type' and {{ sig }}.usage_type like {{ match }})
        or ({{ source }} = 'resource_id' and {{ sig }}.resource_id like {{ match }})
        or ({{ source }} = 'charge_category' and {{ sig }}.charge_category = {{ match }})
        or ({{ source }} = 'unused_commitment' and {{ sig }}.is_unused_commitment)
    )
{%- endmacro %}
