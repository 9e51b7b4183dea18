-- The earlier load of this exact file version, if any (unchanged files are skipped).
select delivery_id, status, rule, reason, loaded_at
from loads
where path = $path and sha256 = $sha256 and status in ('loaded', 'refused')
order by delivery_id desc
limit 1
