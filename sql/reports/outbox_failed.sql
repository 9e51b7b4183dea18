-- The send failed: retry after $next_attempt_at, or give up ($status = 'abandoned').
update outbox
set status = $status, last_error = $last_error, next_attempt_at = $next_attempt_at
where week_label = $week_label
  and district_code = $district_code
