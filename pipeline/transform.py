"""Transform stage: boys and girls per area x stratum x period, for every area level.

Counts are made once per leaf area, then rolled up through the area closure (every
area with each of its ancestors), so a village's births count in its town, district
and city. The grid is dense: every area x stratum x period between the first period
with data and the as-of period, zero where nothing was born. Each period also carries
its trailing window (``window`` periods ending with it, fewer at the start).
"""
from __future__ import annotations

import datetime as dt

import polars as pl

from models.constants import (
    STRATA,
    STRATUM_ALL,
    STRATUM_PARITY_1,
    STRATUM_PARITY_2,
    STRATUM_PARITY_2_WITHIN_POLICY,
    STRATUM_PARITY_3PLUS,
)

# Polars truncation units: ISO weeks start on Monday, as the contract requires.
PERIOD_EVERY = {"week": "1w", "month": "1mo", "quarter": "1q", "year": "1y"}
PERIOD_STEP = {"week": "1w", "month": "1mo", "quarter": "3mo", "year": "1y"}


def parity_stratum() -> pl.Expr:
    return (
        pl.when(pl.col("birth_order") == 1).then(pl.lit(STRATUM_PARITY_1))
        .when(pl.col("birth_order") == 2).then(pl.lit(STRATUM_PARITY_2))
        .otherwise(pl.lit(STRATUM_PARITY_3PLUS))
    )


def leaf_counts(cells: pl.LazyFrame) -> pl.LazyFrame:
    """Boys and girls per leaf area x stratum x period_start (only cells with births).

    ``cells`` holds boys and girls per leaf area x period_start x birth order (1, 2, 3 for
    third or later) x is_within_policy (sql/staging/stg_birth_cells.sql).
    """
    by_cell = cells.with_columns(stratum=parity_stratum())
    keys = ["area_code", "period_start", "stratum"]
    parity = by_cell.group_by(keys).agg(pl.col("boys", "girls").sum())
    everyone = parity.group_by("area_code", "period_start").agg(pl.col("boys", "girls").sum()).with_columns(
        stratum=pl.lit(STRATUM_ALL))
    within = by_cell.filter(
        (pl.col("stratum") == STRATUM_PARITY_2) & pl.col("is_within_policy")
    ).group_by("area_code", "period_start").agg(pl.col("boys", "girls").sum()).with_columns(
        stratum=pl.lit(STRATUM_PARITY_2_WITHIN_POLICY))
    columns = ["area_code", "period_start", "stratum", "boys", "girls"]
    return pl.concat([everyone.select(columns), parity.select(columns), within.select(columns)])


def period_starts(first: dt.date, last: dt.date, period: str) -> pl.Series:
    """Every period_start from the period holding ``first`` to the one holding ``last``."""
    bounds = pl.select(pl.lit(first).dt.truncate(PERIOD_EVERY[period]).alias("a"),
                       pl.lit(last).dt.truncate(PERIOD_EVERY[period]).alias("b")).row(0)
    return pl.date_range(bounds[0], bounds[1], PERIOD_STEP[period], eager=True).alias("period_start")


def area_counts(
    cells: pl.LazyFrame,
    areas: pl.DataFrame,
    ancestors: pl.DataFrame,
    *,
    period: str,
    window: int,
    first: dt.date,
    last: dt.date,
    strata: tuple[str, ...] = STRATA,
) -> pl.DataFrame:
    """Dense counts for every area x stratum x period, with trailing-window sums.

    Returns columns: area_code, level, depth, stratum, period_start, boys_period,
    girls_period, window_start, boys, girls, births (window sums).
    """
    rolled = (
        leaf_counts(cells)
        .join(ancestors.lazy().select("area_code", "ancestor_code"), on="area_code")
        .group_by("ancestor_code", "stratum", "period_start")
        .agg(boys_period=pl.col("boys").sum(), girls_period=pl.col("girls").sum())
        .rename({"ancestor_code": "area_code"})
    )
    periods = period_starts(first, last, period)
    window_starts = periods.shift(window - 1).fill_null(periods[0]).alias("window_start")
    grid = (
        areas.lazy().select("area_code", "level", "depth")
        .join(pl.LazyFrame({"stratum": list(strata)}), how="cross")
        .join(pl.LazyFrame([periods, window_starts]), how="cross")
    )
    key = ["area_code", "stratum"]
    return (
        grid.join(rolled, on=[*key, "period_start"], how="left")
        .with_columns(pl.col("boys_period", "girls_period").fill_null(0).cast(pl.Int64))
        .sort([*key, "period_start"])
        .with_columns(
            boys=pl.col("boys_period").rolling_sum(window, min_samples=1).over(key),
            girls=pl.col("girls_period").rolling_sum(window, min_samples=1).over(key),
        )
        .with_columns(births=pl.col("boys") + pl.col("girls"))
        .collect()
    )
