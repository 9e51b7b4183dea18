"""Alert stage: CUSUM. Charts every monitored area x stratum against its own baseline.

Inputs: the monitored series (``pipeline.monitored_series``: counts, prospective baselines,
warm-up, tracks and their ARL0) and the database (calibration caches, closed alerts).
Outputs: alert candidates (method ``cusum``), the charts (``cusum_paths``), what each chart
can detect (``detectability``) and the false-alarm budget per track, for the summary.

1. Thresholds: every series x period is calibrated for its trailing volume and baseline SRB
   (which sets the chart's odds ratio) at its track's ARL0 (Brook-Evans). Thresholds are
   computed at the nodes of a grid (20 % steps in births, 4 SRB points;
   ``models.threshold_grid``) and interpolated; nodes are cached in table
   ``cusum_calibration``, so a warm run calibrates nothing.
2. The chart (``models.cusum``), risk-adjusted for `all` (Steiner et al. 2000), silent
   until its stratum's warm-up is over.
3. Episodes (``pipeline.alert_episodes``): one candidate per episode of alarms.
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl

from models.constants import METHOD_CUSUM, PERIODS_PER_YEAR
from models.cusum import binomial_cusum
from models.cusum_calibration import MIN_BIRTHS, calibrate_nodes, calibration_key, round_arl0
from models.detectability import detectable_srb
from models.srb import share_from_srb, srb_from_share
from models.threshold_grid import threshold_grid
from pipeline.alert_episodes import EPISODE_ALERT_SCHEMA, episode_alerts
from pipeline.calibration_cache import cached_values
from pipeline.config import SurveillanceSettings
from pipeline.monitored_series import (
    TRACK_GENERAL,
    TRACK_PARITY_2_WITHIN_POLICY,
    MonitoredSeries,
    track_budgets,
    track_shifts,
)

# The calibration grid: threshold errors from interpolation, measured against the chain at
# every cell (tests/models/test_threshold_grid.py), stay below 0.003 LLR units for volumes
# of 0.5 births a period and more (ARL0 within 0.3 %), within the chain's own 1 %.
GRID_BIRTHS_RATIO = 1.2
GRID_SRB_STEP = 4.0

PATH_SCHEMA = {
    "area_code": pl.String, "stratum": pl.String, "method": pl.String, "period_start": pl.Date,
    "births": pl.Int64, "boys": pl.Int64, "statistic": pl.Float64, "threshold": pl.Float64,
    "share_expected": pl.Float64, "srb_expected": pl.Float64, "is_alarm": pl.Boolean,
}
DETECTABILITY_SCHEMA = {
    "area_code": pl.String, "level": pl.String, "stratum": pl.String, "births_per_period": pl.Float64,
    "srb_expected": pl.Float64, "threshold": pl.Float64, "min_detectable_srb": pl.Float64,
    "arl0_periods": pl.Float64,
}
_CALIBRATION_KEYS = ["births_key", "share_key", "odds_ratio_key", "arl0_key"]
_DETECTABILITY_KEYS = ["births_key", "share_key", "odds_ratio_key", "threshold_key"]


@dataclass(frozen=True)
class TrackBudget:
    """One line of the summary's budget: a track's series and its false alerts a year."""

    track: str
    series: int
    shift_srb: float
    budget_per_year: float
    expected_per_year: float  # sum of periods_per_year / ARL0 achieved, at the latest period


@dataclass(frozen=True)
class CusumOutputs:
    candidates: pl.DataFrame  # EPISODE_ALERT_SCHEMA
    paths: pl.DataFrame  # PATH_SCHEMA
    detectability: pl.DataFrame  # DETECTABILITY_SCHEMA
    budget: tuple[TrackBudget, ...]
    keys_calibrated: int  # grid nodes calibrated this run (0 on a warm run)


def empty_cusum_outputs() -> CusumOutputs:
    return CusumOutputs(pl.DataFrame(schema=EPISODE_ALERT_SCHEMA), pl.DataFrame(schema=PATH_SCHEMA),
                        pl.DataFrame(schema=DETECTABILITY_SCHEMA), (), 0)


def cusum_alerts(con: duckdb.DuckDBPyConnection, series: MonitoredSeries,
                 settings: SurveillanceSettings) -> CusumOutputs:
    """Run the CUSUM stage on the monitored series; see the module docstring."""
    odds_ratio = series.odds_ratio
    threshold, arl0_achieved, keys_calibrated = _calibrated_thresholds(con, series)
    statistic, alarm, onset = series.run_chart(lambda part: binomial_cusum(
        part.boys, part.births, part.share, threshold[part.rows], odds_ratio=odds_ratio[part.rows]))
    candidates = episode_alerts(con, series, METHOD_CUSUM, statistic, threshold, alarm, onset, settings)
    last_volume, last_srb = series.volume[:, -1], series.srb_baseline[:, -1]
    detectable = _cached_detectable(con, last_volume, series.share[:, -1], odds_ratio[:, -1], threshold[:, -1])
    detectability = pl.DataFrame({
        "area_code": series.area_code, "level": series.level, "stratum": series.stratum,
        "births_per_period": last_volume, "srb_expected": last_srb, "threshold": threshold[:, -1],
        "min_detectable_srb": np.where(np.isfinite(detectable), detectable, np.nan), "arl0_periods": series.arl0,
    }, schema=DETECTABILITY_SCHEMA, nan_to_null=True)
    periods_per_year = PERIODS_PER_YEAR[settings.period]
    budgets, shifts = track_budgets(settings), track_shifts(settings)
    budget = tuple(
        TrackBudget(name, int((series.track == name).sum()), shifts[name], budgets[name],
                    float((periods_per_year / arl0_achieved[series.track == name, -1]).sum()))
        for name in (TRACK_PARITY_2_WITHIN_POLICY, TRACK_GENERAL) if (series.track == name).any()
    )
    return CusumOutputs(candidates, chart_paths(series, METHOD_CUSUM, statistic, threshold, alarm), detectability,
                        budget, keys_calibrated)


def chart_paths(series: MonitoredSeries, method: str, statistic: np.ndarray, threshold: np.ndarray,
                alarm: np.ndarray) -> pl.DataFrame:
    """The charts as rows of ``cusum_paths``: one per series x period."""
    n_periods = series.period_start.size
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled_share = np.where(series.births > 0, series.expected / np.maximum(series.births, 1), series.share)
    return pl.DataFrame({
        "area_code": np.repeat(series.area_code, n_periods), "stratum": np.repeat(series.stratum, n_periods),
        "method": method, "period_start": np.tile(series.period_start, series.area_code.size),
        "births": series.births.ravel(), "boys": series.boys.ravel(),
        "statistic": statistic.ravel(), "threshold": threshold.ravel(),
        "share_expected": pooled_share.ravel(), "srb_expected": srb_from_share(pooled_share).ravel(),
        "is_alarm": alarm.ravel(),
    }, schema=PATH_SCHEMA)


def _calibrated_thresholds(con: duckdb.DuckDBPyConnection,
                           series: MonitoredSeries) -> tuple[np.ndarray, np.ndarray, int]:
    """Threshold and achieved ARL0 per cell, interpolated from cached (or new) grid nodes."""
    # one group of nodes per track (its shift and ARL0); every series of a track has the same
    _, first, track = np.unique(series.track, return_index=True, return_inverse=True)
    # (a chart still warming up has the reference as its baseline: no nodes for a city
    # baseline of a few births)
    grid = threshold_grid(np.maximum(series.volume, MIN_BIRTHS), series.srb_baseline, track[:, None],
                          births_ratio=GRID_BIRTHS_RATIO, srb_step=GRID_SRB_STEP)
    shift, arl0 = series.shift_srb[first], round_arl0(series.arl0[first])
    wanted = pl.DataFrame({
        "births_key": grid.births, "share_key": share_from_srb(grid.srb),
        "odds_ratio_key": (grid.srb + shift[grid.group]) / grid.srb, "arl0_key": arl0[grid.group],
    })

    def calibrate(missing: pl.DataFrame) -> pl.DataFrame:
        cal = calibrate_nodes(*(missing[c].to_numpy() for c in _CALIBRATION_KEYS))
        return missing.with_columns(threshold=cal.threshold, arl0_achieved=cal.arl0, rel_change=cal.rel_change,
                                    states=cal.states.astype(np.int32))

    nodes, calibrated = cached_values(con, "cusum/calibration", wanted, _CALIBRATION_KEYS, calibrate)
    threshold = grid.interpolate(nodes["threshold"].to_numpy())
    arl0_achieved = np.exp(grid.interpolate(np.log(nodes["arl0_achieved"].to_numpy())))
    return threshold, arl0_achieved, calibrated


def _cached_detectable(con: duckdb.DuckDBPyConnection, births: np.ndarray, share: np.ndarray,
                       odds_ratio: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """Smallest SRB detected within 52 periods per series (inf if none), cached by rounded key."""
    # A very large series (a city of 30,000 births a week) meets its ARL0 with h near 0: the
    # key keeps h at 0.001 or more, so that it never rounds to an impossible 0.
    keys = np.concatenate([calibration_key(births, share, odds_ratio, 2.0)[:, :3],
                           np.maximum(np.round(threshold, 3), 0.001)[:, None]], axis=1)
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    wanted = pl.DataFrame(unique, schema=_DETECTABILITY_KEYS, orient="row")

    def compute(missing: pl.DataFrame) -> pl.DataFrame:
        return missing.with_columns(min_detectable_srb=detectable_srb(*(missing[c].to_numpy()
                                                                        for c in _DETECTABILITY_KEYS)))

    table, _ = cached_values(con, "cusum/detectability", wanted, _DETECTABILITY_KEYS, compute)
    return table["min_detectable_srb"].to_numpy()[inverse.ravel()]
