-- Registration delay per district: the share registered late, and whether girls wait longer.
--
-- Grain: one row per district with at least $min_registered_births registrations in the year
-- ending $asof (registered_date in ($asof - 1 year, $asof]). Selecting on the registration
-- date, not the birth date, sees every delay in full: a window of births would miss the late
-- registrations still to come and understate the delay.
-- Parameters: $asof DATE, $district_depth INTEGER, $late_days INTEGER (a delay above it is
-- late), $min_registered_births INTEGER, $lag_z DOUBLE (one-sided normal quantile for the
-- lower bound of the girls' lag).
-- Reads: births, area_ancestors. Sex codes 'M'/'F' as in models/constants.py.
with

registrations as (
    select
        area_code,
        sex,
        date_diff('day', birth_date, registered_date) as delay_days
    from births
    where registered_date is not null
        and registered_date > cast($asof::date - interval 1 year as date)
        and registered_date <= $asof::date
),

leaf_districts as (
    select
        area_code,
        ancestor_code as district_code
    from area_ancestors
    where ancestor_depth = $district_depth
),

by_district as (
    select
        leaf_districts.district_code,
        count(*) as births_registered,
        avg(case when registrations.delay_days > $late_days then 1.0 else 0.0 end)
            as late_registered_share,
        count(*) filter (where registrations.sex = 'M') as boys_registered,
        count(*) filter (where registrations.sex = 'F') as girls_registered,
        avg(registrations.delay_days) filter (where registrations.sex = 'M')
            as boys_mean_delay_days,
        avg(registrations.delay_days) filter (where registrations.sex = 'F')
            as girls_mean_delay_days,
        coalesce(var_samp(registrations.delay_days) filter (where registrations.sex = 'M'), 0)
            as boys_delay_variance,
        coalesce(var_samp(registrations.delay_days) filter (where registrations.sex = 'F'), 0)
            as girls_delay_variance
    from registrations
    inner join leaf_districts on leaf_districts.area_code = registrations.area_code
    group by leaf_districts.district_code
),

lagged as (
    select
        *,
        coalesce(girls_mean_delay_days - boys_mean_delay_days, 0.0) as girls_lag_days,
        -- Welch standard error of the difference of the two mean delays.
        case
            when boys_registered >= 2 and girls_registered >= 2
                then sqrt(
                    boys_delay_variance / boys_registered
                    + girls_delay_variance / girls_registered
                )
        end as girls_lag_standard_error
    from by_district
)

select
    district_code,
    births_registered,
    late_registered_share,
    boys_registered,
    girls_registered,
    boys_mean_delay_days,
    girls_mean_delay_days,
    girls_lag_days,
    -- One-sided lower confidence bound of the lag: above the threshold only when girls
    -- credibly wait longer. 0 when a sex has fewer than two registrations.
    coalesce(girls_lag_days - $lag_z * girls_lag_standard_error, 0.0) as girls_lag_lower_days
from lagged
where births_registered >= $min_registered_births
order by district_code
