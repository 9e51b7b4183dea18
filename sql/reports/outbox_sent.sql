-- The SMTP server accepted the message.
update outbox
set status = 'sent', sent_at = $now, last_error = null, next_attempt_at = null
where week_label = $week_label
  and district_code = $district_code
