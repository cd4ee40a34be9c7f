{#-
    Split each group's amount across its targets by `share` so that the cents tie exactly.

    For every amount column:
      1. each target gets its share rounded toward zero to the cent;
      2. the cents still missing to reach the group amount rounded to the cent go, one each, to
         the targets with the largest remainders (ties: the larger share, then `tiebreak`);
      3. the sub-cent residue of the group amount (amount − amount rounded to the cent) goes to
         the target with the largest share, so Σ allocated = the amount exactly.
    Negative amounts (credits) are split on their absolute value and signed back.

    `relation` holds one row per (group, target), the group amount repeated on each row and
    shares summing to 1 per group. Returns its columns plus `allocated_<amount>` per amount.
-#}
{% macro largest_remainder(relation, amounts, share, group_by, tiebreak) -%}
    {%- set part = group_by | join(', ') -%}
    select
        ranked.*
        {%- for amount in amounts %},
        {#- not sign(): it is a double on Spark. Every term is cast to the money type, so no
            engine widens or rounds a mixed-scale sum differently #}
        cast(
            (case when ranked.{{ amount }} < 0 then -1 else 1 end) * (
                ranked._floor_{{ amount }}
                + case
                    when ranked._rank_{{ amount }} <= ranked._missing_cents_{{ amount }}
                        then cast(0.01 as decimal(38, 2))
                    else cast(0 as decimal(38, 2))
                end
            ) as decimal(38, 12)
        )
        + case
            when ranked._share_rank = 1
                then cast(ranked.{{ amount }} as decimal(38, 12))
                - cast(
                    (case when ranked.{{ amount }} < 0 then -1 else 1 end)
                    * round(abs(ranked.{{ amount }}), 2) as decimal(38, 12)
                )
            else cast(0 as decimal(38, 12))
        end as allocated_{{ amount }}
        {%- endfor %}
    from (
        select
            floored.*,
            row_number() over (
                partition by {{ part }}
                order by floored.{{ share }} desc, floored.{{ tiebreak }}
            ) as _share_rank
            {%- for amount in amounts %},
            cast(round(
                round(abs(floored.{{ amount }}), 2) * 100
                - sum(floored._floor_{{ amount }} * 100) over (partition by {{ part }})
            ) as integer) as _missing_cents_{{ amount }},
            row_number() over (
                partition by {{ part }}
                order by
                    floored._remainder_{{ amount }} desc,
                    floored.{{ share }} desc,
                    floored.{{ tiebreak }}
            ) as _rank_{{ amount }}
            {%- endfor %}
        from (
            select
                src.*
                {%- for amount in amounts %},
                {#- the share is a ratio (double); the money stays exact decimal -#}
                cast(
                    floor(abs(src.{{ amount }}) * src.{{ share }} * 100) / 100 as decimal(38, 2)
                ) as _floor_{{ amount }},
                abs(src.{{ amount }}) * src.{{ share }} * 100
                - floor(abs(src.{{ amount }}) * src.{{ share }} * 100) as _remainder_{{ amount }}
                {%- endfor %}
            from {{ relation }} as src
        ) as floored
    ) as ranked
{%- endmacro %}
