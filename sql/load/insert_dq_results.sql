-- Record a run's expectation outcomes (registered as new_dq_results).
insert into dq_results (run_id, checked_at, suite, expectation, severity, success, observed, threshold,
                        sample, observed_value, delivery)
select $run_id, $checked_at, suite, expectation, severity, success, observed, threshold, sample,
       observed_value, delivery
from new_dq_results
