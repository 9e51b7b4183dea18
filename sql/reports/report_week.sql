-- The week a report covers by default: the latest published period whose ISO week
-- (Monday to Sunday) had ended by the as-of date of the latest published run.
-- Grain: one row (NULL when nothing is published yet).
with latest_run as (
    select coalesce(asof_date, cast(finished_at as date)) as asof_date
    from runs
    where status = 'published'
    order by finished_at desc
    limit 1
),
published_weeks as (
    select distinct period_start
    from srb_estimates
    where level = 'district'
)
select max(published_weeks.period_start) as week_start
from published_weeks
cross join latest_run
where published_weeks.period_start + interval 6 day <= latest_run.asof_date
