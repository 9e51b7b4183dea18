-- Databases made before births became a view kept it as a table: drop it; the schema
-- then creates the view, and the next load rebuilds superseded_records.
drop table births;
create table if not exists registry_state (births_stale boolean not null);
delete from registry_state;
insert into registry_state values (true);
