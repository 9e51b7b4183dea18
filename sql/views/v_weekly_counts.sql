-- v_weekly_counts: boys and girls born per area x stratum x ISO week (Monday start),
-- every area level. Grain: area_code, stratum, week_start (weeks with births only).
create or replace view v_weekly_counts as
with births_by_stratum as (
    select area_code, stratum, date_trunc('week', birth_date)::date as week_start, is_boy
    from stg_births_by_stratum
)
select
    area_ancestors.ancestor_code as area_code,
    areas.name as area_name,
    areas.level,
    births_by_stratum.stratum,
    births_by_stratum.week_start,
    count(*) as births,
    count(*) filter (where is_boy) as boys,
    count(*) filter (where not is_boy) as girls
from births_by_stratum
join area_ancestors using (area_code)
join areas on areas.area_code = area_ancestors.ancestor_code
group by area_ancestors.ancestor_code, areas.name, areas.level, births_by_stratum.stratum,
         births_by_stratum.week_start;
