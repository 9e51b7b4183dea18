-- Registry tables: what arrived (loads), what was kept (birth_records), what was not
-- (quarantine), and the current record per child (births).
-- Grain and checks: see sql/schema/README.md.

create sequence if not exists delivery_id_seq start 1;

create table if not exists loads (
    delivery_id      integer primary key,
    path             varchar not null,   -- absolute path as read
    file_name        varchar not null,   -- deliveries are ordered by file name
    size_bytes       bigint not null,
    sha256           varchar not null,
    status           varchar not null,   -- loaded | refused | superseded
    rule             varchar,            -- for refused: the rule the file broke
    reason           varchar,            -- one line: what and where
    rows_read        bigint not null default 0,
    rows_loaded      bigint not null default 0,
    rows_quarantined bigint not null default 0,
    columns_dropped  varchar,            -- comma-separated names of columns not loaded
    encoding         varchar,
    loaded_at        timestamp not null
);

-- Every loaded row of every current delivery; births picks the latest per record.
create table if not exists birth_records (
    record_hash      varchar not null,   -- HMAC-SHA256 of record_id, hex; never the id
    birth_date       date not null,
    sex              varchar not null,   -- M | F | U
    birth_order      integer not null,
    area_code        varchar not null,
    plurality        integer not null,
    registered_date  date,
    mother_age       integer,
    residence_status varchar,            -- registered | floating
    policy_status    varchar,            -- within | outside | unknown
    facility_code    varchar,
    delivery_id      integer not null,
    source_line      bigint not null
);

create table if not exists births as
select * from birth_records limit 0;

create table if not exists quarantine (
    delivery_id  integer not null,
    source_file  varchar not null,
    line         bigint not null,
    rule         varchar not null,
    column_name  varchar,
    value        varchar,                -- the offending value; identifiers are never kept
    record_hash  varchar                 -- keyed hash of the record_id, to match a later correction
);

-- One row: is births behind birth_records? A delivery that defers its apply to a full
-- rebuild sets the flag in its own transaction; the rebuild clears it in the same
-- transaction as it replaces births, so a crash between the two is repaired next run.
create table if not exists registry_state (
    births_stale boolean not null
);
insert into registry_state select false where not exists (select 1 from registry_state);
