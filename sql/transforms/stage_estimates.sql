-- Stage this run's estimates (registered as new_estimates) for the output checks.
create or replace table staging.srb_estimates as
select
    area_code, level, stratum, period_start, window_start, births, boys, girls,
    srb_raw, srb_raw_lo, srb_raw_hi, srb_smoothed, srb_lo, srb_hi, prob_above
from new_estimates
