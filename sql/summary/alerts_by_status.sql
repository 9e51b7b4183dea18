-- Alerts after this run: the ones first raised by it, and every open one.
select
    count(*) filter (where first_run_id = $run_id) as alerts_new,
    count(*) filter (where status <> 'closed') as alerts_open,
    count(*) as alerts_total
from staging.alerts
