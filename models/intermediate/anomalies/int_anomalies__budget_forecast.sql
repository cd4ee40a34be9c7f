{#-
    Rule budget_forecast: a team's month is heading over its budget. Read from the showback
    mart's budget_status for the month of the month-end forecast (fct_cost_forecast_monthly):
    critical when the team already spent more than its budget or its forecast is above it
    (on track to exceed), warning when only the high end of the forecast's band crosses it
    (may exceed). value = forecast, baseline = budget, change = forecast / budget − 1.
    One row per team × currency × month; a closed month (band width 0) alarms only when the
    actual is over budget.
-#}
with

showback as (

    select * from {{ ref('fct_team_showback_monthly') }}
    where
        forecast_cost is not null
        and budget_status in ('over_budget', 'on_track_to_exceed', 'may_exceed')

),

final as (

    select
        'budget_forecast' as rule,
        'team' as scope_type,
        team as scope,
        billing_currency,
        'month' as period_grain,
        cost_month as period_start,
        cast(forecast_cost as {{ type_double() }}) as value,
        cast(budget as {{ type_double() }}) as baseline,
        case
            when budget > 0
                then
                    cast(forecast_cost as {{ type_double() }})
                    / cast(budget as {{ type_double() }}) - 1
        end as change,
        cast(null as {{ type_double() }}) as z_score,
        case when budget_status = 'may_exceed' then 'warning' else 'critical' end as severity,
        'Team ' || team || ' ' || cast(cost_month as {{ dbt.type_string() }})
        || ': forecast ' || cast({{ money('forecast_cost') }} as {{ dbt.type_string() }})
        || ' ' || billing_currency || ' (band '
        || coalesce(cast({{ money('forecast_low_cost') }} as {{ dbt.type_string() }}), '?')
        || '–'
        || coalesce(cast({{ money('forecast_high_cost') }} as {{ dbt.type_string() }}), '?')
        || ', as of ' || cast(forecast_as_of_date as {{ dbt.type_string() }})
        || ') against a budget of ' || cast(budget as {{ dbt.type_string() }})
        || case budget_status
            when 'over_budget'
                then
                    ': already over budget by '
                    || cast({{ money('total_cost - budget') }} as {{ dbt.type_string() }}) || '.'
            when 'on_track_to_exceed'
                then
                    ': on track to exceed it by '
                    || cast({{ money('forecast_over_budget') }} as {{ dbt.type_string() }}) || '.'
            else ': the high end of its band crosses it.'
        end as description
    from showback

)

select * from final
