-- Alerts first raised by this run, the second-birth-within-policy track first.
select
    alerts.area_code, areas.name as area_name, alerts.stratum, alerts.method,
    alerts.detected_period, alerts.boys, alerts.girls, alerts.srb_observed, alerts.statistic
from staging.alerts as alerts
join areas using (area_code)
where alerts.first_run_id = $run_id
order by alerts.stratum <> 'parity_2_within_policy', alerts.detected_period desc, areas.depth, alerts.area_code
