-- SRB (boys per 100 girls) of the new deliveries per area of one level, with a Wilson
-- interval: the city (depth 0) for registry.city_srb_in_range, the districts (depth 1)
-- for registry.district_srb_in_range.
--
-- Grain: one row per area at depth $area_depth with at least one birth of known sex in
-- the deliveries $delivery_ids.
-- Parameters: $delivery_ids INTEGER[], $area_depth INTEGER, $z DOUBLE (two-sided normal
-- quantile of the Wilson interval on the share of boys), $srb_min DOUBLE, $srb_max DOUBLE
-- (the accepted range).
-- Reads: births, area_ancestors. Sex codes 'M'/'F' as in models/constants.py.
--
-- srb_closest_to_range is the point of [srb_lo, srb_hi] nearest to [$srb_min, $srb_max]: it
-- lies inside that range exactly when the interval overlaps it, so one range check fails
-- only a delivery whose SRB is credibly outside the range, whatever its size. An upper end
-- is +infinity when the share of boys reaches 1 (no girls).
with

delivery_births as (
    select
        area_code,
        sex
    from births
    where list_contains($delivery_ids, delivery_id)
),

leaf_areas as (
    select
        area_code,
        ancestor_code as checked_area_code
    from area_ancestors
    where ancestor_depth = $area_depth
),

counted as (
    select
        leaf_areas.checked_area_code as area_code,
        count(*) as births,
        count(*) filter (where delivery_births.sex = 'M') as boys,
        count(*) filter (where delivery_births.sex = 'F') as girls
    from delivery_births
    inner join leaf_areas on leaf_areas.area_code = delivery_births.area_code
    group by leaf_areas.checked_area_code
),

shares as (
    select
        *,
        boys + girls as births_known_sex,
        boys / (boys + girls) as boys_share,
        ($z * $z) / (boys + girls) as z2_over_n
    from counted
    where boys + girls > 0
),

wilson as (
    select
        *,
        (boys_share + z2_over_n / 2) / (1 + z2_over_n) as share_centre,
        $z * sqrt(
            boys_share * (1 - boys_share) / births_known_sex
            + z2_over_n / (4 * births_known_sex)
        ) / (1 + z2_over_n) as share_half_width
    from shares
),

bounded as (
    select
        *,
        case when girls = 0 then 'inf'::double else 100.0 * boys / girls end as srb,
        greatest(share_centre - share_half_width, 0.0) as share_lo,
        least(share_centre + share_half_width, 1.0) as share_hi
    from wilson
),

ratios as (
    select
        *,
        100.0 * share_lo / (1 - share_lo) as srb_lo,
        case when share_hi >= 1 then 'inf'::double else 100.0 * share_hi / (1 - share_hi) end
            as srb_hi
    from bounded
)

select
    area_code,
    births,
    boys,
    girls,
    srb,
    srb_lo,
    srb_hi,
    least(greatest(($srb_min + $srb_max) / 2, srb_lo), srb_hi) as srb_closest_to_range
from ratios
order by area_code
