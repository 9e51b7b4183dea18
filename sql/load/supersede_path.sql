-- A changed file replaces the rows its earlier version loaded.
delete from birth_records
where delivery_id in (select delivery_id from loads where path = $path and status = 'loaded');
update loads set status = 'superseded' where path = $path and status = 'loaded';
