-- Boys and girls a run on $asof would have seen (born and, where known, registered by
-- then; sex known), per leaf area x period x birth order (1, 2, 3 = third or later) x
-- policy status: the transform's input, made in DuckDB so that ten million births reach
-- Polars as far fewer cells. $period is week | month | quarter | year; DuckDB's weeks
-- start on Monday (ISO), as the contract requires. Grain: one row per cell with a birth.
select
    area_code,
    date_trunc($period, birth_date)::date as period_start,
    least(birth_order, 3) as birth_order,
    coalesce(policy_status = 'within', false) as is_within_policy,
    count(*) filter (where sex = 'M') as boys,
    count(*) filter (where sex = 'F') as girls
from births
where birth_date <= $asof
  and (registered_date is null or registered_date <= $asof)
  and sex in ('M', 'F')
group by all
