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
    record_hash      uhugeint not null,  -- first 128 bits of HMAC-SHA256(record_id); never the id
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

-- Rows of birth_records replaced by a later version of the same record (a correction
-- in a later file). Small: corrections only.
create table if not exists superseded_records (
    delivery_id  integer not null,
    source_line  bigint not null
);

-- The current version of every record: the rows no later delivery replaced. A view,
-- so ten million records are written once (birth_records), not twice.
create or replace view births as
select birth_records.*
from birth_records
anti join superseded_records using (delivery_id, source_line);

create table if not exists quarantine (
    delivery_id  integer not null,
    source_file  varchar not null,
    line         bigint not null,
    rule         varchar not null,
    column_name  varchar,
    value        varchar,                -- the offending value; identifiers are never kept
    record_hash  uhugeint                -- keyed hash of the record_id, to match a later correction
);

-- One row: is superseded_records behind birth_records? A delivery that defers its apply
-- to a full rebuild (transforms/births_current) sets the flag in its own transaction; the
-- rebuild clears it in its own, so a crash between the two is repaired next run.
create table if not exists registry_state (
    births_stale boolean not null
);
insert into registry_state select false where not exists (select 1 from registry_state);

-- The record key as stored: the two 64-bit halves the loader computes (Arrow has no
-- 128-bit integer) joined into one UHUGEINT.
create or replace macro record_key(hi, lo) as (hi::uhugeint << 64) | lo::uhugeint;
