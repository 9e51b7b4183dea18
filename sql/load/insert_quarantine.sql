-- Quarantined rows of one delivery (registered as new_quarantine).
insert into quarantine (delivery_id, source_file, line, rule, column_name, value, record_hash)
select $delivery_id, $source_file, line, rule, column_name, value,
    record_key(record_hash_hi, record_hash_lo)
from new_quarantine
