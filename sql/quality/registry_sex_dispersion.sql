-- Binomial dispersion of the monthly sex split per area (city and districts).
--
-- Grain: one row per area at depth <= $district_depth with births of known sex in at least
-- $min_months of the $months complete calendar months before $asof and at least
-- $min_births such births in all.
-- Parameters: $asof DATE, $months INTEGER, $min_months INTEGER, $min_births INTEGER,
-- $district_depth INTEGER.
-- Reads: births, area_ancestors. Sex codes 'M'/'F' as in models/constants.py.
--
-- Under binomial sampling with a constant share of boys p, Pearson's
-- X2 = sum_m (boys_m - n_m p)^2 / (n_m p (1 - p)) over k months is chi-square with k - 1
-- degrees of freedom, so dispersion = X2 / df has mean 1 and sd sqrt(2 / df). Real changes
-- over time only raise it. A value far below 1 means the split varies less than coin flips
-- can: sex filled in by a fixed fraction. dispersion_z is the Wilson-Hilferty normal score
-- ((X2/df)^(1/3) - (1 - 2/(9 df))) / sqrt(2/(9 df)), accurate in the lower tail even at
-- df = 11, where the plain normal approximation 1 - 4 sqrt(2/df) falls below 0.
with

known_sex_births as (
    select
        area_code,
        sex,
        cast(date_trunc('month', birth_date) as date) as month_start
    from births
    where sex in ('M', 'F')
        and birth_date >= cast(date_trunc('month', $asof::date) as date) - to_months($months)
        and birth_date < cast(date_trunc('month', $asof::date) as date)
),

leaf_months as (
    select
        area_code,
        month_start,
        count(*) filter (where sex = 'M') as boys,
        count(*) as births
    from known_sex_births
    group by area_code, month_start
),

area_months as (
    select
        area_ancestors.ancestor_code as area_code,
        leaf_months.month_start,
        cast(sum(leaf_months.boys) as bigint) as boys,
        cast(sum(leaf_months.births) as bigint) as births
    from leaf_months
    inner join area_ancestors on area_ancestors.area_code = leaf_months.area_code
    where area_ancestors.ancestor_depth <= $district_depth
    group by area_ancestors.ancestor_code, leaf_months.month_start
),

area_totals as (
    select
        area_code,
        sum(boys) / sum(births) as boys_share,
        cast(sum(births) as bigint) as births,
        count(*) as months_with_births
    from area_months
    group by area_code
),

testable as (
    select *
    from area_totals
    where months_with_births >= $min_months
        and births >= $min_births
        and boys_share > 0
        and boys_share < 1
),

pearson as (
    select
        testable.area_code,
        testable.births,
        testable.boys_share,
        testable.months_with_births,
        testable.months_with_births - 1 as degrees_of_freedom,
        sum(
            power(area_months.boys - area_months.births * testable.boys_share, 2)
            / (area_months.births * testable.boys_share * (1 - testable.boys_share))
        ) as pearson_chi2
    from testable
    inner join area_months on area_months.area_code = testable.area_code
    group by
        testable.area_code,
        testable.births,
        testable.boys_share,
        testable.months_with_births
)

select
    area_code,
    births,
    boys_share,
    months_with_births,
    degrees_of_freedom,
    pearson_chi2 / degrees_of_freedom as dispersion,
    (
        cbrt(pearson_chi2 / degrees_of_freedom) - (1 - 2 / (9.0 * degrees_of_freedom))
    ) / sqrt(2 / (9.0 * degrees_of_freedom)) as dispersion_z
from pearson
order by area_code
