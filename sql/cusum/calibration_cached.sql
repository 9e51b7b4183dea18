-- Cached thresholds for the keys this run needs (registered as wanted_keys).
-- Grain: one row per key found.
with wanted as (
    select births_key, share_key, odds_ratio_key, arl0_key from wanted_keys
)
select
    wanted.births_key, wanted.share_key, wanted.odds_ratio_key, wanted.arl0_key,
    cache.threshold, cache.arl0_achieved, cache.rel_change, cache.states
from wanted
join cusum_calibration as cache using (births_key, share_key, odds_ratio_key, arl0_key)
