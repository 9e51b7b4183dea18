-- Data-quality outcome of the latest published run (table `dq_results`, the gate's), for
-- the reports' data-quality section: every expectation with what was observed against
-- what threshold. Grain: one row per expectation (the run-level rows, delivery NULL).
-- success is NULL for an expectation the run did not evaluate (observed says why).
with latest_run as (
    select run_id
    from runs
    where status = 'published'
    order by finished_at desc
    limit 1
)

select
    dq_results.suite,
    dq_results.expectation,
    dq_results.severity,
    dq_results.success,
    dq_results.observed,
    dq_results.threshold
from dq_results
inner join latest_run on latest_run.run_id = dq_results.run_id
where dq_results.delivery is null
order by
    dq_results.success nulls last,
    dq_results.severity,
    dq_results.suite,
    dq_results.expectation
