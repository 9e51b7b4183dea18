-- Make births current after deliveries arrived out of order or a file was replaced:
-- recompute which rows later versions replace. Deliveries are ordered by file name and,
-- within a file, by line; the latest row per record_hash is current (a correction).
-- Only records delivered more than once are ranked.
create or replace table superseded_records as
with repeated_records as (
    select record_hash
    from birth_records
    group by record_hash
    having count(*) > 1
),
ranked_versions as (
    select
        birth_records.delivery_id,
        birth_records.source_line,
        row_number() over (
            partition by birth_records.record_hash
            order by loads.file_name desc, loads.path desc, birth_records.source_line desc
        ) as version_rank
    from birth_records
    semi join repeated_records using (record_hash)
    join loads using (delivery_id)
)
select delivery_id, source_line
from ranked_versions
where version_rank > 1;

update registry_state set births_stale = false;
