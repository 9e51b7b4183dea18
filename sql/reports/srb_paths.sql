-- Trailing-window SRB of some areas over the periods up to the report week: the chart of a
-- level alert and the district's trend by birth order. Grain: area_code, stratum, period_start.
-- boys and girls let the report leave out a point whose counts are suppressed.
select area_code, stratum, period_start, srb_smoothed, srb_lo, srb_hi, births, boys, girls
from srb_estimates
where area_code in (select unnest($area_codes))
  and period_start between $first_week and $week_start
order by area_code, stratum, period_start
