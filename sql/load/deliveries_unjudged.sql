-- Loaded deliveries that no registry suite has judged yet: those loaded after the start of
-- the latest published run (a run publishes only after its registry suite passed). Besides
-- this run's own loads, that is any delivery of a run killed or crashed before it published,
-- or stopped at a gate by another file: they are judged now, and refused if it fails.
-- Judging a delivery twice is harmless: the same checks give the same verdict.
-- loads.loaded_at is the start time of the run that loaded the file (runs.started_at).
with last_judged as (
    select max(started_at) as started_at
    from runs
    where status = 'published'
)

select loads.delivery_id
from loads
cross join last_judged
where loads.status = 'loaded'
  and (last_judged.started_at is null or loads.loaded_at > last_judged.started_at)
order by loads.delivery_id
