-- First and last birth date a run on $asof sees, and births of unknown sex it leaves out.
select
    min(birth_date) as first_birth,
    max(birth_date) as last_birth,
    count(*) filter (where sex = 'U') as births_unknown_sex,
    count(*) filter (where policy_status is not null) as births_with_policy_status
from births
where birth_date <= $asof
  and (registered_date is null or registered_date <= $asof)
