-- Row-level integrity of srb_estimates, counted per level x stratum.
--
-- Grain: one row per level x stratum present in the estimates relation.
-- Parameters: $estimates_table VARCHAR, the relation to check (e.g. 'staging.srb_estimates';
-- resolved with query_table, so the gate checks the staged outputs before they are swapped
-- in).
--
-- Each rule gives a count of offending rows (the checks expect 0) and the first offending
-- cell, "area_code period_start", as an example; estimates are aggregates, not records.
--   srb_missing: girls > 0 but srb_raw, srb_smoothed, srb_lo, srb_hi or prob_above is
--     NULL or NaN (CONTRACT section 4: srb_raw is NULL only when girls = 0).
--   interval_disordered: srb_lo <= srb_smoothed <= srb_hi broken, among rows where all three
--     are numbers; a relative tolerance of 1e-9 absorbs float rounding.
--   prob_out_of_range: prob_above outside [0, 1] (NaN and NULL are srb_missing's business).
--   count_negative: boys or girls negative or NULL.
with

estimates as (
    select
        area_code,
        level,
        stratum,
        period_start,
        boys,
        girls,
        srb_raw,
        srb_smoothed,
        srb_lo,
        srb_hi,
        prob_above
    from query_table($estimates_table)
),

flagged as (
    select
        level,
        stratum,
        area_code || ' ' || strftime(period_start, '%Y-%m-%d') as cell,
        coalesce(girls > 0, false) and (
            srb_raw is null or isnan(srb_raw)
            or srb_smoothed is null or isnan(srb_smoothed)
            or srb_lo is null or isnan(srb_lo)
            or srb_hi is null or isnan(srb_hi)
            or prob_above is null or isnan(prob_above)
        ) as is_srb_missing,
        coalesce(
            not (isnan(srb_lo) or isnan(srb_smoothed) or isnan(srb_hi))
            and (
                srb_lo > srb_smoothed + 1e-9 * abs(srb_smoothed)
                or srb_smoothed > srb_hi + 1e-9 * abs(srb_hi)
            ),
            false
        ) as is_interval_disordered,
        coalesce(not isnan(prob_above) and (prob_above < 0 or prob_above > 1), false)
            as is_prob_out_of_range,
        coalesce(boys < 0 or girls < 0, true) as is_count_negative
    from estimates
)

select
    level,
    stratum,
    count(*) as estimate_rows,
    count(*) filter (where is_srb_missing) as srb_missing_rows,
    min(cell) filter (where is_srb_missing) as srb_missing_example,
    count(*) filter (where is_interval_disordered) as interval_disordered_rows,
    min(cell) filter (where is_interval_disordered) as interval_disordered_example,
    count(*) filter (where is_prob_out_of_range) as prob_out_of_range_rows,
    min(cell) filter (where is_prob_out_of_range) as prob_out_of_range_example,
    count(*) filter (where is_count_negative) as count_negative_rows,
    min(cell) filter (where is_count_negative) as count_negative_example
from flagged
group by level, stratum
order by level, stratum
