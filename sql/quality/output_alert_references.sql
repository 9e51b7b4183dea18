-- Every alert, with whether it names a known area and the smaller of its two counts.
--
-- Grain: one row per alert in the alerts relation.
-- Parameters: $alerts_table VARCHAR (e.g. 'staging.alerts'), $areas_table VARCHAR
-- (e.g. 'areas'); both resolved with query_table.
with

alerts as (
    select
        alert_id,
        area_code,
        stratum,
        method,
        detected_period,
        boys,
        girls
    from query_table($alerts_table)
),

known_areas as (
    select area_code
    from query_table($areas_table)
)

select
    alerts.alert_id,
    alerts.area_code,
    alerts.stratum,
    alerts.method,
    alerts.detected_period,
    alerts.boys,
    alerts.girls,
    -- least() skips NULL; both NULL gives NULL, which the range check ignores.
    least(alerts.boys, alerts.girls) as smaller_count,
    known_areas.area_code is not null as is_known_area
from alerts
left join known_areas on known_areas.area_code = alerts.area_code
order by alerts.alert_id
