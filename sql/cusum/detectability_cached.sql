-- Cached detectable SRBs for the keys this run needs (registered as wanted_keys).
with wanted as (
    select births_key, share_key, odds_ratio_key, threshold_key from wanted_keys
)
select
    wanted.births_key, wanted.share_key, wanted.odds_ratio_key, wanted.threshold_key,
    cache.min_detectable_srb
from wanted
join cusum_detectability_cache as cache using (births_key, share_key, odds_ratio_key, threshold_key)
