"""Transform for the risk-adjusted chart: boys and births of the `all` stratum per risk class.

A risk class is birth order (1, 2, 3+) x policy status (within the policy, or not / unknown):
six classes, whose expected share of boys differs (first births ~104, third-plus ~140 in
Chinese facility data). The CUSUM of the `all` stratum sets its expectation per class
(Steiner et al. 2000), so a change in the mix of birth orders alone does not alarm.

Counts are made per leaf area and rolled up through the area closure, as in
``pipeline.transform.area_counts``, and returned as dense numpy arrays
(areas, periods, classes) in the caller's area and period order.
"""
from __future__ import annotations

import numpy as np
import polars as pl

RISK_CLASSES: tuple[str, ...] = (
    "order_1_other", "order_1_within", "order_2_other", "order_2_within", "order_3plus_other",
    "order_3plus_within",
)


def risk_class() -> pl.Expr:
    """Index into RISK_CLASSES: 2 x (birth order - 1) + is_within_policy, on the birth cells,
    whose birth order is already capped at 3 and policy status never null (stg_birth_cells)."""
    return (2 * (pl.col("birth_order") - 1) + pl.col("is_within_policy").cast(pl.Int64)).cast(pl.Int64)


def class_counts(
    cells: pl.LazyFrame,
    ancestors: pl.DataFrame,
    *,
    area_codes: list[str],
    period_starts: pl.Series,
) -> tuple[np.ndarray, np.ndarray]:
    """Boys and births (boys + girls) per area x period x risk class, all zero where none.

    Parameters
    ----------
    cells : the visible birth cells (sql/staging/stg_birth_cells.sql): boys and girls per
        leaf area x period_start x birth order (1, 2, 3+) x is_within_policy.
    ancestors : the area closure (area_code, ancestor_code).
    area_codes : the areas wanted, in output order (any level).
    period_starts : every period_start wanted, ascending (the transform's grid).

    Returns
    -------
    (boys, births), int64 arrays shaped (len(area_codes), len(period_starts), 6).
    """
    area_index = pl.DataFrame({"area_code": area_codes, "area_row": np.arange(len(area_codes))})
    period_index = pl.DataFrame({"period_start": period_starts, "period_col": np.arange(len(period_starts))})
    rolled = (
        cells.with_columns(risk_class=risk_class())
        .group_by("area_code", "period_start", "risk_class")
        .agg(boys=pl.col("boys").sum().cast(pl.Int64), births=(pl.col("boys") + pl.col("girls")).sum().cast(pl.Int64))
        .join(ancestors.lazy().select("area_code", "ancestor_code"), on="area_code")
        .group_by("ancestor_code", "period_start", "risk_class")
        .agg(pl.col("boys", "births").sum())
        .rename({"ancestor_code": "area_code"})
        .join(area_index.lazy(), on="area_code")
        .join(period_index.lazy(), on="period_start")
        .collect()
    )
    shape = (len(area_codes), len(period_starts), len(RISK_CLASSES))
    boys = np.zeros(shape, dtype=np.int64)
    total = np.zeros(shape, dtype=np.int64)
    cells = (rolled["area_row"].to_numpy(), rolled["period_col"].to_numpy(), rolled["risk_class"].to_numpy())
    boys[cells] = rolled["boys"].to_numpy()
    total[cells] = rolled["births"].to_numpy()
    return boys, total
