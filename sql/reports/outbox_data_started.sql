-- The envelope is accepted and the DATA command goes out next: from here on the server may hold
-- the message, so until its reply is recorded the row says `unconfirmed` (never resent by itself).
update outbox
set status = 'unconfirmed', refused_recipients = $refused_recipients
where week_label = $week_label
  and district_code = $district_code
