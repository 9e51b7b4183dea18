-- The DATA went out but no reply came (connection lost, timeout): the server may hold the message.
update outbox
set last_error = $last_error
where week_label = $week_label
  and district_code = $district_code
