-- One alert with its area, for `surveil alerts show`.
select * from v_alerts where alert_id = $alert_id
