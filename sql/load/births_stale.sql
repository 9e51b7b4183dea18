-- Does births need a rebuild left over from an interrupted run?
select births_stale from registry_state;
