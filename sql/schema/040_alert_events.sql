-- Who did what to an alert, and when. Grain: one row per action on an alert.
create sequence if not exists alert_event_id_seq start 1;

create table if not exists alert_events (
    event_id     integer primary key default nextval('alert_event_id_seq'),
    alert_id     varchar not null,
    action       varchar not null,       -- ack | investigate | close
    status_from  varchar not null,
    status_to    varchar not null,
    note         varchar,
    actor        varchar not null,
    acted_at     timestamp not null
);
