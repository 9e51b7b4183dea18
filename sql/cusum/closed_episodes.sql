-- Alerts of one change detector ($method: cusum or glr) that people have closed, with the
-- last alarm their episode holds: a later alarm of the same series starts a new episode
-- instead of continuing the closed one.
select alert_id, coalesce(last_alarm_period, detected_period) as last_alarm_period
from alerts
where method = $method and status = 'closed'
