-- Do children's boys and girls sum to their parent's, per stratum, period and window?
--
-- Grain: one row per parent level x stratum (parents are areas that have children in the
-- area tree).
-- Parameters: $estimates_table VARCHAR (e.g. 'staging.srb_estimates'), $areas_table VARCHAR
-- (e.g. 'areas'); both resolved with query_table.
--
-- boys and girls are raw counts in the window, so they add up exactly over the area tree
-- (smoothing touches only srb_smoothed, srb_lo, srb_hi, prob_above). A cell present on one
-- side only compares with 0 on the other: an estimates table that omits empty cells still
-- passes, one that drops a parent with births, or a child's births, does not.
with

estimates as (
    select
        area_code,
        stratum,
        period_start,
        window_start,
        boys,
        girls
    from query_table($estimates_table)
),

area_tree as (
    select
        area_code,
        parent_code,
        level
    from query_table($areas_table)
),

parent_areas as (
    select distinct
        parents.area_code,
        parents.level
    from area_tree as parents
    inner join area_tree as children on children.parent_code = parents.area_code
),

child_sums as (
    select
        area_tree.parent_code as area_code,
        estimates.stratum,
        estimates.period_start,
        estimates.window_start,
        cast(sum(estimates.boys) as bigint) as child_boys,
        cast(sum(estimates.girls) as bigint) as child_girls
    from estimates
    inner join area_tree on area_tree.area_code = estimates.area_code
    where area_tree.parent_code is not null
    group by area_tree.parent_code, estimates.stratum, estimates.period_start,
        estimates.window_start
),

parent_cells as (
    select estimates.*
    from estimates
    inner join parent_areas on parent_areas.area_code = estimates.area_code
),

compared as (
    select
        coalesce(parent_cells.area_code, child_sums.area_code) as area_code,
        coalesce(parent_cells.stratum, child_sums.stratum) as stratum,
        coalesce(parent_cells.period_start, child_sums.period_start) as period_start,
        coalesce(parent_cells.boys, 0) as boys,
        coalesce(parent_cells.girls, 0) as girls,
        coalesce(child_sums.child_boys, 0) as child_boys,
        coalesce(child_sums.child_girls, 0) as child_girls
    from parent_cells
    full outer join child_sums
        on child_sums.area_code = parent_cells.area_code
        and child_sums.stratum = parent_cells.stratum
        and child_sums.period_start = parent_cells.period_start
        and child_sums.window_start = parent_cells.window_start
),

flagged as (
    select
        parent_areas.level,
        compared.stratum,
        compared.area_code || ' ' || strftime(compared.period_start, '%Y-%m-%d')
            || ': boys ' || compared.boys || ' vs ' || compared.child_boys
            || ', girls ' || compared.girls || ' vs ' || compared.child_girls as cell,
        compared.boys <> compared.child_boys or compared.girls <> compared.child_girls
            as is_mismatched
    from compared
    inner join parent_areas on parent_areas.area_code = compared.area_code
)

select
    level,
    stratum,
    count(*) as parent_cells,
    count(*) filter (where is_mismatched) as mismatched_cells,
    min(cell) filter (where is_mismatched) as mismatched_example
from flagged
group by level, stratum
order by level, stratum
