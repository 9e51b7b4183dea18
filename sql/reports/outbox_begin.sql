-- Connected: record the attempt before the envelope. A run that dies from here until the DATA
-- command leaves `sending`, which the next run resends (the server cannot hold the message yet).
insert into outbox (week_label, district_code, message_id, recipients, status, attempts, last_attempt_at)
values ($week_label, $district_code, $message_id, $recipients, 'sending', $attempts, $now)
on conflict (week_label, district_code) do update set
    message_id = excluded.message_id,
    recipients = excluded.recipients,
    status = 'sending',
    attempts = excluded.attempts,
    last_attempt_at = excluded.last_attempt_at,
    next_attempt_at = null,
    refused_recipients = null
