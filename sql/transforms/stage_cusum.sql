-- Stage this run's CUSUM charts and detectability (registered as new_cusum_paths and
-- new_detectability); publish.sql swaps them in with the alerts.
create or replace table staging.cusum_paths as
with paths as (
    select * from new_cusum_paths
)
select
    area_code, stratum, method, period_start, births, boys, statistic, threshold,
    share_expected, srb_expected, is_alarm
from paths;

create or replace table staging.detectability as
with detectable as (
    select * from new_detectability
)
select
    area_code, level, stratum, births_per_period, srb_expected, threshold, min_detectable_srb,
    arl0_periods
from detectable
