insert into runs (run_id, started_at, asof_date, status) values ($run_id, $started_at, $asof, 'running')
