-- The attempt ended without the server taking the message: retry after $next_attempt_at, or give up
-- ($status = 'abandoned'). Inserts the row when the connection failed before the attempt was begun.
insert into outbox (week_label, district_code, message_id, recipients, status, attempts, last_error,
                    last_attempt_at, next_attempt_at)
values ($week_label, $district_code, $message_id, $recipients, $status, $attempts, $last_error, $now,
        $next_attempt_at)
on conflict (week_label, district_code) do update set
    status = excluded.status,
    attempts = excluded.attempts,
    last_error = excluded.last_error,
    last_attempt_at = excluded.last_attempt_at,
    next_attempt_at = excluded.next_attempt_at
