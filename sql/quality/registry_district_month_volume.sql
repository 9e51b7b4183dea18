-- Registry volume per district and calendar month, against the same month a year earlier.
--
-- Grain: one row per district x month, for the $months complete calendar months before $asof,
-- kept only where the year-earlier month holds at least $min_baseline_births births (below
-- that, +/-40 % is within Poisson noise; see expectations/thresholds.py).
-- Parameters: $asof DATE, $months INTEGER, $district_depth INTEGER (areas.depth of a
-- district; the root city is 0), $min_baseline_births INTEGER.
-- Reads: births, areas, area_ancestors.
--
-- Like for like: a month's births count if registered by $asof; the year-earlier month's
-- births count if registered by $asof minus one year, i.e. what the registry held when that
-- month was as old as this one is now. Late registrations therefore do not make the latest
-- months look short. A birth without registered_date counts as registered when born.
with

registry_births as (
    select
        area_code,
        birth_date,
        coalesce(registered_date, birth_date) as registered_date
    from births
),

districts as (
    select area_code as district_code
    from areas
    where depth = $district_depth
),

leaf_districts as (
    select
        area_code,
        ancestor_code as district_code
    from area_ancestors
    where ancestor_depth = $district_depth
),

months as (
    select
        cast(month_start as date) as month_start,
        cast(month_start - interval 1 year as date) as baseline_month_start
    from range(
        cast(date_trunc('month', $asof::date) as date) - to_months($months),
        cast(date_trunc('month', $asof::date) as date),
        interval 1 month
    ) as month_grid (month_start)
),

-- Aggregate to leaf area x month first: the 10-million-row scan then joins a few
-- thousand rows to the area tree instead of every birth.
leaf_months as (
    select
        area_code,
        cast(date_trunc('month', birth_date) as date) as month_start,
        count(*) filter (where registered_date <= $asof::date) as births_known_now,
        count(*) filter (
            where registered_date <= cast($asof::date - interval 1 year as date)
        ) as births_known_year_before
    from registry_births
    where birth_date >= (select min(baseline_month_start) from months)
        and birth_date < cast(date_trunc('month', $asof::date) as date)
    group by area_code, month_start
),

district_months as (
    select
        leaf_districts.district_code,
        leaf_months.month_start,
        cast(sum(leaf_months.births_known_now) as bigint) as births_known_now,
        cast(sum(leaf_months.births_known_year_before) as bigint)
            as births_known_year_before
    from leaf_months
    inner join leaf_districts on leaf_districts.area_code = leaf_months.area_code
    group by leaf_districts.district_code, leaf_months.month_start
),

compared as (
    select
        districts.district_code,
        months.month_start,
        coalesce(current_month.births_known_now, 0) as births,
        months.baseline_month_start,
        coalesce(baseline_month.births_known_year_before, 0) as baseline_births
    from districts
    cross join months
    left join district_months as current_month
        on current_month.district_code = districts.district_code
        and current_month.month_start = months.month_start
    left join district_months as baseline_month
        on baseline_month.district_code = districts.district_code
        and baseline_month.month_start = months.baseline_month_start
)

select
    district_code,
    month_start,
    births,
    baseline_month_start,
    baseline_births,
    births / baseline_births as volume_ratio
from compared
where baseline_births >= $min_baseline_births
order by district_code, month_start
