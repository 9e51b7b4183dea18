-- Record a person's action on an alert: the event, then the new status.
insert into alert_events (alert_id, action, status_from, status_to, note, actor, acted_at)
values ($alert_id, $action, $status_from, $status_to, $note, $actor, $acted_at);
update alerts set status = $status_to where alert_id = $alert_id;
