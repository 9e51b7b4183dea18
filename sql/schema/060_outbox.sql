-- E-mail delivery of the weekly reports (issue 6; pipeline/email_stage.py).
-- Grain: one message per district and ISO week; the key makes delivery idempotent.
create table if not exists outbox (
    week_label       varchar not null,      -- ISO week, e.g. 2025-W52
    district_code    varchar not null,
    message_id       varchar not null,      -- stable: the same district and week, the same id
    recipients       varchar not null,      -- comma-separated addresses of the latest attempt
    status           varchar not null,      -- sending | sent | failed | abandoned
    attempts         integer not null,
    last_error       varchar,               -- one line from the SMTP server or the network
    last_attempt_at  timestamp not null,
    next_attempt_at  timestamp,             -- failed: not retried before this time
    sent_at          timestamp,
    primary key (week_label, district_code)
);
