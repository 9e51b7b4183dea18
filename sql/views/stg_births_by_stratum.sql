-- stg_births_by_stratum: each current birth of known sex once per stratum it belongs to
-- (all, its parity stratum, and parity_2_within_policy for second births within policy).
-- Grain: one row per record x stratum. Read by v_srb_yearly and v_weekly_counts.
create or replace view stg_births_by_stratum as
with births_known_sex as (
    select area_code, birth_date, birth_order, policy_status, sex = 'M' as is_boy
    from births
    where sex in ('M', 'F')
)
select area_code, birth_date, 'all' as stratum, is_boy from births_known_sex
union all
select area_code, birth_date,
    case when birth_order = 1 then 'parity_1'
         when birth_order = 2 then 'parity_2'
         else 'parity_3plus' end as stratum,
    is_boy
from births_known_sex
union all
select area_code, birth_date, 'parity_2_within_policy' as stratum, is_boy
from births_known_sex
where birth_order = 2 and policy_status = 'within';
