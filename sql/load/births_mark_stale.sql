-- A delivery deferred its apply to a rebuild of births (transforms/births_current).
update registry_state set births_stale = true;
