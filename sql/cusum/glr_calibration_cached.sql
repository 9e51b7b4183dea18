-- Cached GLR thresholds for the keys this run needs (registered as wanted_keys).
-- Grain: one row per key found.
with wanted as (
    select births_key, share_key, window_key, arl0_key from wanted_keys
)
select
    wanted.births_key, wanted.share_key, wanted.window_key, wanted.arl0_key,
    cache.threshold, cache.rel_se, cache.runs, cache.periods
from wanted
join glr_calibration as cache using (births_key, share_key, window_key, arl0_key)
