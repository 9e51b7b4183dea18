update runs
set finished_at = $finished_at, status = $status, exit_code = $exit_code, message = $message,
    rows_loaded = $rows_loaded, rows_quarantined = $rows_quarantined,
    alerts_new = (select count(*) from alerts where first_run_id = $run_id)
where run_id = $run_id
