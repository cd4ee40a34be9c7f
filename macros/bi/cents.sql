{#-
    Money for display (the `bi` views): exact amounts rounded to whole cents so that totals still
    tie. Largest remainder, as macros/allocation/largest_remainder.sql, in integer cents:

      * every amount starts at its floor in cents (toward −∞, so credits round the same way);
      * the cents still missing to reach a target go, one each, to the amounts with the largest
        sub-cent remainders (ties: a stable tiebreak).

    The target is always between the floor and the ceiling of the exact sum in cents, so the
    missing cents are between 0 and the number of amounts with a remainder: every rounded
    amount is the floor or the ceiling of its exact value (within one cent), and an exact zero
    stays 0.00. Everything is integer cents (bigint) until cents_to_money() types the result.
-#}

{#- amount × 100 without losing a digit: decimal(30,12) × decimal(3,0) fits decimal(38,12) on
    every engine (Spark would cut the scale of decimal(38,12) × 100). -#}
{% macro _times_100(amount) -%}
    (cast({{ amount }} as decimal(30, 12)) * cast(100 as decimal(3, 0)))
{%- endmacro %}

{#- Select-list fragment: `_floor_<amount>` (bigint cents) and `_remainder_<amount>` (the
    sub-cent part, in cents, in [0, 1)) for each amount column. -#}
{% macro cent_floors(amounts, prefix='') -%}
    {%- for amount in amounts %}
        cast(floor({{ _times_100(prefix ~ amount) }}) as bigint) as _floor_{{ amount }},
        {{ _times_100(prefix ~ amount) }} - floor({{ _times_100(prefix ~ amount) }})
            as _remainder_{{ amount }}{% if not loop.last %},{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- A relation over `relation` (which has the cent_floors() columns of `amounts`) adding
    `<amount>_cents` per amount: the column rounded by largest remainder per `partition_by`, so
    its sum per partition = the exact sum rounded to the cent (half away from zero). -#}
{% macro cents_by_column(relation, amounts, partition_by, tiebreak) -%}
    {%- set part = partition_by | join(', ') -%}
    select
        ranked.*
        {%- for amount in amounts %},
        ranked._floor_{{ amount }}
        + case
            when ranked._rank_{{ amount }} <= ranked._missing_{{ amount }} then 1 else 0
        end as {{ amount }}_cents
        {%- endfor %}
    from (
        select
            src.*
            {%- for amount in amounts %},
            cast(
                round(sum(src.{{ amount }}) over (partition by {{ part }}), 2)
                * cast(100 as decimal(3, 0)) as bigint
            )
            - sum(src._floor_{{ amount }}) over (partition by {{ part }})
                as _missing_{{ amount }},
            row_number() over (
                partition by {{ part }}
                order by src._remainder_{{ amount }} desc, src.{{ tiebreak }}
            ) as _rank_{{ amount }}
            {%- endfor %}
        from {{ relation }} as src
    ) as ranked
{%- endmacro %}

{#- Select-list fragment: `<part>_cents` for each of `parts` (columns whose exact sum is the
    row's total, with their cent_floors() columns), splitting `total_cents` (the row's total
    already rounded, within a cent of the exact one) by largest remainder within the row, so
    the parts add up to it exactly. Ties: the earlier part in `parts`. -#}
{% macro cents_within_row(total_cents, parts) -%}
    {%- for part in parts %}
        _floor_{{ part }} + case
            when 1
                {%- for other in parts if other != part %}
                + case
                    when _remainder_{{ other }} > _remainder_{{ part }}
                        {%- if parts.index(other) < parts.index(part) %}
                        or _remainder_{{ other }} = _remainder_{{ part }}
                        {%- endif %} then 1
                    else 0
                end
                {%- endfor %}
                <= {{ total_cents }}
                {%- for each in parts %} - _floor_{{ each }}{% endfor %}
                then 1
            else 0
        end as {{ part }}_cents{% if not loop.last %},{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- Integer cents → the display money type, decimal(18,2) on every engine (null stays null). -#}
{% macro cents_to_money(cents) -%}
    cast(cast({{ cents }} as decimal(18, 0)) * cast(0.01 as decimal(3, 2)) as decimal(18, 2))
{%- endmacro %}
