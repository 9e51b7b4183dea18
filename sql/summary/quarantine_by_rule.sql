-- Rows quarantined by the deliveries loaded in this run, by rule.
select quarantine.rule, count(*) as rows_quarantined
from quarantine
join loads using (delivery_id)
where loads.loaded_at = $loaded_at
group by quarantine.rule
order by rows_quarantined desc, quarantine.rule
