-- The history of one alert.
select acted_at, actor, action, status_from, status_to, note
from alert_events
where alert_id = $alert_id
order by event_id
