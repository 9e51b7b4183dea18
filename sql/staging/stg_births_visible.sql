-- Births a run on $asof would have seen: born and (where known) registered by then,
-- with a known sex. Births of unknown sex count in no SRB; they are reported apart.
-- Grain: one row per current record.
with births_known_on_asof as (
    select area_code, birth_date, sex, birth_order, policy_status
    from births
    where birth_date <= $asof
      and (registered_date is null or registered_date <= $asof)
)
select
    area_code,
    birth_date,
    sex = 'M' as is_boy,
    birth_order,
    policy_status = 'within' as is_within_policy,
    policy_status is not null as has_policy_status
from births_known_on_asof
where sex in ('M', 'F')
