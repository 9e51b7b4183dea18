-- Record that a send is starting, before the SMTP conversation: a run that dies mid-send
-- leaves `sending`, and the message is then never sent twice.
insert into outbox (week_label, district_code, message_id, recipients, status, attempts, last_attempt_at)
values ($week_label, $district_code, $message_id, $recipients, 'sending', 1, $now)
on conflict (week_label, district_code) do update set
    status = 'sending',
    recipients = excluded.recipients,
    attempts = outbox.attempts + 1,
    last_attempt_at = excluded.last_attempt_at,
    next_attempt_at = null
