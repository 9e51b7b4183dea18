-- Add newly simulated GLR thresholds (registered as new_keys) to the cache.
insert or ignore into glr_calibration (
    births_key, share_key, window_key, arl0_key, threshold, rel_se, runs, periods
)
select births_key, share_key, window_key, arl0_key, threshold, rel_se, runs, periods
from new_keys
