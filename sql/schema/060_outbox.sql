-- E-mail delivery of the weekly reports (issue 6; pipeline/email_stage.py).
-- Grain: one message per district and ISO week; the key makes delivery idempotent.
-- status: sending      connected, envelope (MAIL, RCPT) under way, DATA not yet issued: the server
--                      cannot hold the message, so a run that finds this row (its writer died) resends
--         unconfirmed  DATA issued, the server's reply not recorded: it may hold the message, so it is
--                      never resent by itself (at most once); `surveil email --resend-unconfirmed` does
--         sent         the server accepted the DATA (refused_recipients lists any it refused)
--         failed       refused or unreachable before the DATA was accepted; retried after next_attempt_at
--         abandoned    failed email.max_attempts times; reported, not retried
create table if not exists outbox (
    week_label          varchar not null,      -- ISO week, e.g. 2025-W52
    district_code       varchar not null,
    message_id          varchar not null,      -- stable: the same district and week, the same id
    recipients          varchar not null,      -- comma-separated addresses of the latest attempt
    status              varchar not null,      -- sending | unconfirmed | sent | failed | abandoned
    attempts            integer not null,
    last_error          varchar,               -- one line from the SMTP server or the network
    last_attempt_at     timestamp not null,
    next_attempt_at     timestamp,             -- failed: not retried before this time
    sent_at             timestamp,
    refused_recipients  varchar,               -- "address (code reply); ..." the server refused at RCPT
    primary key (week_label, district_code)
);
