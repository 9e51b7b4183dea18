-- The towns of a district with their trailing-window estimate for the report week.
-- Grain: area_code.
with towns as (
    select area_code, name as area_name
    from areas
    where parent_code = $district_code
)
select
    towns.area_code,
    towns.area_name,
    srb_estimates.births,
    srb_estimates.boys,
    srb_estimates.girls,
    srb_estimates.srb_raw,
    srb_estimates.srb_raw_lo,
    srb_estimates.srb_raw_hi,
    srb_estimates.srb_smoothed,
    srb_estimates.srb_lo,
    srb_estimates.srb_hi,
    srb_estimates.prob_above
from towns
join srb_estimates
  on srb_estimates.area_code = towns.area_code
 and srb_estimates.stratum = $stratum
 and srb_estimates.period_start = $week_start
order by towns.area_code
