{#-
    Gross margin = (revenue − cost) / revenue, as a ratio rounded to 4 places (0.8300 = 83 %).

    Convention when there is no revenue (free plans, trials): cost > 0 on zero revenue is −100 %
    (−1), not −∞ or null, so a free customer who costs money sorts with the loss-makers and a
    chart's axis stays finite; no cost and no revenue is null (nothing to say). Negative revenue
    (refunds larger than the month's billing) is null too: a margin on it means nothing.
-#}
{% macro gross_margin(revenue, cost) -%}
    case
        when {{ revenue }} > 0
            then round(cast(({{ revenue }} - {{ cost }}) / {{ revenue }} as {{ type_double() }}), 4)
        when {{ revenue }} = 0 and {{ cost }} > 0 then -1.0
    end
{%- endmacro %}

{#- numerator / denominator as a double; null when the denominator is zero or null. -#}
{% macro safe_ratio(numerator, denominator) -%}
    cast({{ numerator }} as {{ type_double() }})
    / nullif(cast({{ denominator }} as {{ type_double() }}), 0)
{%- endmacro %}
