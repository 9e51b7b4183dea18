-- Open alerts on a district or any area inside it, raised in or before the report week
-- (never later: a report of an earlier week shows what was known then).
-- Grain: alert_id.
with areas_in_district as (
    select area_code
    from area_ancestors
    where ancestor_code = $district_code
)
select
    v_alerts.alert_id,
    v_alerts.area_code,
    v_alerts.area_name,
    v_alerts.level,
    v_alerts.stratum,
    v_alerts.method,
    v_alerts.status,
    v_alerts.detected_period,
    v_alerts.onset_period,
    v_alerts.boys,
    v_alerts.girls,
    v_alerts.srb_observed,
    v_alerts.srb_expected,
    v_alerts.statistic,
    v_alerts.threshold,
    v_alerts.detected_period = $week_start as is_new
from v_alerts
join areas_in_district using (area_code)
where v_alerts.status <> 'closed'
  and v_alerts.detected_period <= $week_start
order by v_alerts.detected_period desc, v_alerts.area_code
