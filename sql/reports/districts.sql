-- Districts to report on, with names; $district_code NULL means all of them.
-- Grain: area_code.
select area_code, name as area_name
from areas
where level = 'district'
  and ($district_code is null or area_code = $district_code)
order by area_code
