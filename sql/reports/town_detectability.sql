-- What each town's chart can detect (table `detectability`, written by the CUSUM stage).
-- Grain: area_code.
select area_code, births_per_period, min_detectable_srb
from detectability
where area_code in (select area_code from areas where parent_code = $district_code)
  and stratum = $stratum
