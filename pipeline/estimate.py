"""Model stage: raw SRB with exact intervals and small-area smoothed SRB per cell.

Each cell is an area x stratum x period, estimated over its trailing window. Cells of
the same level, stratum and period share a prior (one pool each).
"""
from __future__ import annotations

import numpy as np
import polars as pl

from models.beta_posterior import jeffreys_summary
from models.srb import clopper_pearson_srb, srb_raw
from pipeline.config import SurveillanceSettings

ESTIMATE_COLUMNS = (
    "area_code", "level", "stratum", "period_start", "window_start", "births", "boys", "girls",
    "srb_raw", "srb_raw_lo", "srb_raw_hi", "srb_smoothed", "srb_lo", "srb_hi", "prob_above",
)


ESTIMATE_SCHEMA = {
    "area_code": pl.String, "level": pl.String, "stratum": pl.String, "period_start": pl.Date,
    "window_start": pl.Date, "births": pl.Int64, "boys": pl.Int64, "girls": pl.Int64,
    **{c: pl.Float64 for c in ESTIMATE_COLUMNS[8:]},
}


def empty_estimates() -> pl.DataFrame:
    return pl.DataFrame(schema=ESTIMATE_SCHEMA)


def estimate_srb(counts: pl.DataFrame, settings: SurveillanceSettings) -> pl.DataFrame:
    """srb_estimates rows (CONTRACT §4) from the dense window counts."""
    boys = counts["boys"].to_numpy()
    girls = counts["girls"].to_numpy()
    raw_lo, raw_hi = clopper_pearson_srb(boys, girls)
    smoothed = _smooth(counts, settings)
    return counts.with_columns(
        pl.Series("srb_raw", srb_raw(boys, girls)).fill_nan(None),
        pl.Series("srb_raw_lo", raw_lo).fill_nan(None),
        pl.Series("srb_raw_hi", np.where(np.isinf(raw_hi), np.nan, raw_hi)).fill_nan(None),
        pl.Series("srb_smoothed", smoothed.srb_mean),
        pl.Series("srb_lo", smoothed.srb_lo),
        pl.Series("srb_hi", smoothed.srb_hi),
        pl.Series("prob_above", smoothed.prob_above),
    ).select(ESTIMATE_COLUMNS)


def _smooth(counts: pl.DataFrame, settings: SurveillanceSettings):
    return jeffreys_summary(
        counts["boys"].to_numpy(), counts["girls"].to_numpy(), alert_level=settings.alert_level
    )
