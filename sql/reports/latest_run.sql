-- The latest published run: what every report, e-mail and export says it was built from.
-- Grain: one row.
select run_id, coalesce(asof_date, cast(finished_at as date)) as asof_date, finished_at
from runs
where status = 'published'
order by finished_at desc
limit 1
