-- v_srb_latest: each area x stratum's estimate for the latest published period,
-- with names. Grain: area_code, stratum.
create or replace view v_srb_latest as
select
    srb_estimates.area_code,
    areas.name as area_name,
    srb_estimates.level,
    srb_estimates.stratum,
    srb_estimates.period_start,
    srb_estimates.window_start,
    srb_estimates.births,
    srb_estimates.boys,
    srb_estimates.girls,
    srb_estimates.srb_raw,
    srb_estimates.srb_smoothed,
    srb_estimates.srb_lo,
    srb_estimates.srb_hi,
    srb_estimates.prob_above
from srb_estimates
join areas using (area_code)
where srb_estimates.period_start = (select max(period_start) from srb_estimates);
