-- Add newly calibrated keys (registered as new_keys) to the cache.
insert or ignore into cusum_calibration (
    births_key, share_key, odds_ratio_key, arl0_key, threshold, arl0_achieved, rel_change, states
)
select births_key, share_key, odds_ratio_key, arl0_key, threshold, arl0_achieved, rel_change, states
from new_keys
