-- v_alerts: every alert with its area's name, level and parent, the second-birth-
-- within-policy track first. Grain: alert_id.
create or replace view v_alerts as
select
    alerts.alert_id,
    alerts.stratum,
    alerts.method,
    alerts.status,
    alerts.area_code,
    areas.name as area_name,
    areas.level,
    parents.name as parent_name,
    alerts.detected_period,
    alerts.onset_period,
    alerts.boys,
    alerts.girls,
    alerts.srb_observed,
    alerts.srb_expected,
    alerts.statistic,
    alerts.threshold
from alerts
join areas using (area_code)
left join areas as parents on parents.area_code = areas.parent_code
order by alerts.stratum <> 'parity_2_within_policy', alerts.detected_period desc, areas.depth,
         alerts.area_code;
