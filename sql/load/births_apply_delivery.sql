-- Apply one delivery (registered as new_birth_records) in place: the current rows of the
-- records it repeats become superseded. Only valid when this file sorts after every
-- other loaded file (the nightly case); otherwise births is rebuilt
-- (transforms/births_current). Run before the delivery's own rows are inserted.
insert into superseded_records (delivery_id, source_line)
select delivery_id, source_line
from births
where record_hash in (select record_key(record_hash_hi, record_hash_lo) from new_birth_records)
