-- Alerts for `surveil alerts list`: the second-birth-within-policy track first.
select
    alert_id, status, stratum, method, area_code, area_name, level, detected_period, onset_period,
    boys, girls, srb_observed, srb_expected
from v_alerts
where ($status is null or status = $status)
  and ($include_closed or status <> 'closed')
