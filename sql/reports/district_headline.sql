-- The headline of a district's week: per stratum, the trailing-window estimate of the
-- week and of the same week a year earlier, and the births born in the week itself.
-- Births in the week count those visible on $asof (born and registered by then).
-- Grain: stratum.
with estimate_now as (
    select stratum, window_start, births, boys, girls, srb_raw, srb_raw_lo, srb_raw_hi,
           srb_smoothed, srb_lo, srb_hi, prob_above
    from srb_estimates
    where area_code = $district_code
      and period_start = $week_start
),
estimate_last_year as (
    select stratum, srb_raw as srb_raw_last_year, srb_smoothed as srb_smoothed_last_year
    from srb_estimates
    where area_code = $district_code
      and period_start = $week_start - interval 364 day
),
births_in_week as (
    select
        births.birth_order,
        births.policy_status,
        births.sex
    from births
    join area_ancestors using (area_code)
    where area_ancestors.ancestor_code = $district_code
      and births.birth_date between $week_start and $week_start + interval 6 day
      and births.birth_date <= $asof
      and (births.registered_date is null or births.registered_date <= $asof)
      and births.sex in ('M', 'F')
),
week_by_stratum as (
    select 'all' as stratum, count(*) as births_week from births_in_week
    union all
    select case when birth_order = 1 then 'parity_1'
                when birth_order = 2 then 'parity_2'
                else 'parity_3plus' end as stratum,
           count(*) as births_week
    from births_in_week
    group by stratum
    union all
    select 'parity_2_within_policy' as stratum, count(*) as births_week
    from births_in_week
    where birth_order = 2 and policy_status = 'within'
)
select
    estimate_now.stratum,
    coalesce(week_by_stratum.births_week, 0) as births_week,
    estimate_now.window_start,
    estimate_now.births,
    estimate_now.boys,
    estimate_now.girls,
    estimate_now.srb_raw,
    estimate_now.srb_raw_lo,
    estimate_now.srb_raw_hi,
    estimate_now.srb_smoothed,
    estimate_now.srb_lo,
    estimate_now.srb_hi,
    estimate_now.prob_above,
    estimate_last_year.srb_raw_last_year,
    estimate_last_year.srb_smoothed_last_year
from estimate_now
left join estimate_last_year using (stratum)
left join week_by_stratum using (stratum)
