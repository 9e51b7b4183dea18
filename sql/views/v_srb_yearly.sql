-- v_srb_yearly: SRB by area x stratum x calendar year, for every area level.
-- Grain: area_code, stratum, year. Counts are births of known sex in the year (no window).
-- Analysts' view inside the database; exports and reports suppress small counts.
create or replace view v_srb_yearly as
with births_by_stratum as (
    select area_code, stratum, year(birth_date) as year, is_boy
    from stg_births_by_stratum
),
rolled_up as (
    select
        area_ancestors.ancestor_code as area_code,
        births_by_stratum.stratum,
        births_by_stratum.year,
        count(*) filter (where is_boy) as boys,
        count(*) filter (where not is_boy) as girls
    from births_by_stratum
    join area_ancestors using (area_code)
    group by area_ancestors.ancestor_code, births_by_stratum.stratum, births_by_stratum.year
)
select
    rolled_up.area_code,
    areas.name as area_name,
    areas.level,
    rolled_up.stratum,
    rolled_up.year,
    rolled_up.boys + rolled_up.girls as births,
    rolled_up.boys,
    rolled_up.girls,
    case when rolled_up.girls > 0 then 100.0 * rolled_up.boys / rolled_up.girls end as srb_raw
from rolled_up
join areas using (area_code);
