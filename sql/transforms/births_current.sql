-- births: the current version of every record. Deliveries are ordered by file name
-- and, within a file, by line; a later row with the same record_hash replaces the
-- earlier one (a correction). Grain: one row per record_hash.
create or replace table births as
with ranked_records as (
    select
        birth_records.*,
        row_number() over (
            partition by birth_records.record_hash
            order by loads.file_name desc, loads.path desc, birth_records.source_line desc
        ) as version_rank
    from birth_records
    join loads using (delivery_id)
)
select
    record_hash, birth_date, sex, birth_order, area_code, plurality, registered_date,
    mother_age, residence_status, policy_status, facility_code, delivery_id, source_line
from ranked_records
where version_rank = 1;

update registry_state set births_stale = false;
