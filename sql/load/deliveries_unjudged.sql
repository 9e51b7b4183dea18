-- Loaded deliveries that no registry suite has judged yet: those loaded after the start of
-- the latest run whose check of new deliveries' SRB passed. Besides this run's own loads,
-- that is any delivery of a run killed or crashed before its registry suite ran, or stopped
-- at the delivery suite by another file: they are judged now, and refused if it fails.
-- loads.loaded_at is the start time of the run that loaded the file (runs.started_at).
with last_judged as (
    select max(runs.started_at) as started_at
    from runs
    inner join dq_results on dq_results.run_id = runs.run_id
    where dq_results.expectation = 'registry.city_srb_in_range'
      and dq_results.delivery is null
      and dq_results.success
)

select loads.delivery_id
from loads
cross join last_judged
where loads.status = 'loaded'
  and (last_judged.started_at is null or loads.loaded_at > last_judged.started_at)
order by loads.delivery_id
