-- The outbox row of one district's weekly message, if any. Grain: one row or none.
select status, attempts, next_attempt_at, sent_at, last_error, refused_recipients, message_id
from outbox
where week_label = $week_label
  and district_code = $district_code
