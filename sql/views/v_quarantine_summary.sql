-- v_quarantine_summary: quarantined rows per delivery and rule (no values, no lines).
-- Grain: delivery_id, rule.
create or replace view v_quarantine_summary as
select
    loads.delivery_id,
    loads.file_name,
    loads.status as delivery_status,
    quarantine.rule,
    count(*) as rows_quarantined,
    min(quarantine.line) as first_line
from quarantine
join loads using (delivery_id)
group by loads.delivery_id, loads.file_name, loads.status, quarantine.rule;
