-- Data-quality outcome of the latest published run (table `dq_results`, the gate's).
-- Grain: suite, expectation.
with latest_run as (
    select run_id
    from runs
    where status = 'published'
    order by finished_at desc
    limit 1
)
select dq_results.suite, dq_results.expectation, dq_results.severity, dq_results.success,
       dq_results.observed, dq_results.threshold
from dq_results
join latest_run using (run_id)
order by dq_results.success, dq_results.severity, dq_results.suite, dq_results.expectation
