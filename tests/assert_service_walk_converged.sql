{#- Service pools whose walk through the service graph (int_allocation__service_shares) did
    not converge within var('service_max_hops'): cost still travelling between pools that do
    have a way out to a product. Raise service_max_hops in dbt_project.yml, or check the pool
    shares of the named pools (a cycle passing on nearly all of its cost each hop). -#}
select
    pool_group_key,
    product,
    share,
    service_path
from {{ ref('int_allocation__service_shares') }}
where product = '(not_converged)'
