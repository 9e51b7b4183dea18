-- Add newly computed detectable SRBs (registered as new_keys) to the cache.
insert or ignore into cusum_detectability_cache (
    births_key, share_key, odds_ratio_key, threshold_key, min_detectable_srb
)
select births_key, share_key, odds_ratio_key, threshold_key, min_detectable_srb
from new_keys
