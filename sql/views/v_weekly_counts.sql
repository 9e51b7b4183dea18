-- v_weekly_counts: boys and girls born per area x stratum x ISO week (Monday start),
-- every area level. Grain: area_code, stratum, week_start (weeks with births only).
create or replace view v_weekly_counts as
with births_known_sex as (
    select area_code, date_trunc('week', birth_date)::date as week_start, birth_order,
           policy_status, sex = 'M' as is_boy
    from births
    where sex in ('M', 'F')
),
births_by_stratum as (
    select area_code, week_start, 'all' as stratum, is_boy from births_known_sex
    union all
    select area_code, week_start,
        case when birth_order = 1 then 'parity_1'
             when birth_order = 2 then 'parity_2'
             else 'parity_3plus' end as stratum,
        is_boy
    from births_known_sex
    union all
    select area_code, week_start, 'parity_2_within_policy' as stratum, is_boy
    from births_known_sex
    where birth_order = 2 and policy_status = 'within'
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
