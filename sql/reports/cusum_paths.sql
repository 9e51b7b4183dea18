-- The CUSUM charts behind a district's alerts, over the periods up to the report week.
-- Grain: area_code, stratum, method, period_start.
select area_code, stratum, method, period_start, statistic, threshold
from cusum_paths
where area_code in (select unnest($area_codes))
  and period_start between $first_week and $week_start
order by area_code, stratum, method, period_start
