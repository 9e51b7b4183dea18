-- Refuse deliveries already loaded this run, whole, because a later suite failed (the
-- registry suite judges them only once they are in births). The caller wraps this file and
-- transforms/births_current in one transaction. Their rows leave birth_records and
-- quarantine; loads keeps what was read, and why the file was refused.
-- Parameters: $delivery_ids INTEGER[], $rule (the failed expectation), $reason (one line).
-- Returns the refused files' names.
update loads
set status = 'refused',
    rule = $rule,
    reason = path || ': ' || $reason,
    rows_loaded = 0,
    rows_quarantined = 0
where list_contains($delivery_ids, delivery_id);

delete from birth_records
where list_contains($delivery_ids, delivery_id);

delete from quarantine
where list_contains($delivery_ids, delivery_id);

select file_name
from loads
where list_contains($delivery_ids, delivery_id)
order by file_name
