-- Apply one delivery (registered as new_birth_records) to births in place: a later
-- file replaces the current row of each record it repeats. Only valid when this file
-- sorts after every other loaded file (the nightly case); otherwise births is rebuilt
-- (transforms/births_current).
delete from births where record_hash in (select record_hash from new_birth_records);
insert into births (
    record_hash, birth_date, sex, birth_order, area_code, plurality, registered_date,
    mother_age, residence_status, policy_status, facility_code, delivery_id, source_line
)
select
    record_hash, birth_date, sex, birth_order, area_code, plurality, registered_date,
    mother_age, residence_status, policy_status, facility_code, $delivery_id, source_line
from new_birth_records;
