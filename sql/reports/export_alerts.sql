-- Alerts for the enforcement feed, with area names; routing by department is applied in
-- Python from the configuration. $since NULL: every alert. Grain: alert_id.
select
    alerts.alert_id,
    alerts.area_code,
    areas.name as area_name,
    areas.level,
    alerts.stratum,
    alerts.method,
    alerts.onset_period,
    alerts.detected_period,
    alerts.boys,
    alerts.girls,
    alerts.srb_observed,
    alerts.srb_expected,
    alerts.status
from alerts
join areas using (area_code)
where $since is null or alerts.detected_period >= $since
order by alerts.stratum <> 'parity_2_within_policy', alerts.detected_period desc, alerts.area_code
