{#- A line matching two tag rules at the same priority with different values is reported,
    never silently resolved or counted twice. -#}
select * from {{ ref('int_allocation__tag_rule_conflicts') }}
