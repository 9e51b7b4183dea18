-- Rows of one delivery (registered as new_birth_records, identifiers already hashed).
insert into birth_records (
    record_hash, birth_date, sex, birth_order, area_code, plurality, registered_date,
    mother_age, residence_status, policy_status, facility_code, delivery_id, source_line
)
select
    record_key(record_hash_hi, record_hash_lo), birth_date, sex, birth_order, area_code, plurality, registered_date,
    mother_age, residence_status, policy_status, facility_code, $delivery_id, source_line
from new_birth_records
