"""Alert stage: GLR, the second detector (opt in: "glr" in ``[surveillance] detectors``).

The windowed binomial GLR (``models.glr``) looks for a rise of unknown size against the
same prospective baselines as the CUSUM, risk-adjusted for `all` in the same way (class
baselines, pooled), silent until the same warm-up is over. Its alerts (method ``glr``)
follow the CUSUM's episode rules and evidence (``pipeline.alert_episodes``); its charts go
to ``cusum_paths`` with method ``glr``.

Thresholds give each series the in-control ARL0 of its track's false-alarm budget, as for
the CUSUM. The GLR has no Markov representation: thresholds come from seeded simulation
(``models.glr.glr_threshold``: 2,000 in-control series of 1,000 periods, relative standard
error of the ARL0 about 3 % at ARL0 500-700), at nodes 2x apart in expected births a
period, interpolated in log births, and cached in table ``glr_calibration``. They are
simulated at the reference SRB: the GLR's null distribution depends on p0 only through the
discreteness of small counts (measured spread of h across SRB 100-130: +/-0.15 LLR units
at 2 births a period and more, the size of the simulation noise).
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl

from models.constants import METHOD_GLR
from models.cusum_calibration import MIN_BIRTHS, round_arl0
from models.glr import binomial_glr, glr_threshold
from models.srb import share_from_srb
from models.threshold_grid import threshold_grid
from pipeline.alert_episodes import EPISODE_ALERT_SCHEMA, episode_alerts
from pipeline.calibration_cache import cached_values
from pipeline.config import SurveillanceSettings
from pipeline.monitored_series import MonitoredSeries
from pipeline.surveil_cusum import PATH_SCHEMA, chart_paths

GRID_BIRTHS_RATIO = 2.0
SIMULATED_RUNS = 2000
SIMULATED_PERIODS = 1000  # at least; raised to the largest ARL0 wanted so P(no crossing) stays ~1/e or less
_KEYS = ["births_key", "share_key", "window_key", "arl0_key"]


@dataclass(frozen=True)
class GlrOutputs:
    candidates: pl.DataFrame  # EPISODE_ALERT_SCHEMA
    paths: pl.DataFrame  # PATH_SCHEMA, method glr
    keys_calibrated: int  # grid nodes simulated this run (0 on a warm run)


def empty_glr_outputs() -> GlrOutputs:
    return GlrOutputs(pl.DataFrame(schema=EPISODE_ALERT_SCHEMA), pl.DataFrame(schema=PATH_SCHEMA), 0)


def glr_alerts(con: duckdb.DuckDBPyConnection, series: MonitoredSeries,
               settings: SurveillanceSettings) -> GlrOutputs:
    """Run the GLR stage on the monitored series; see the module docstring."""
    threshold, keys_calibrated = _glr_thresholds(con, series, settings)
    statistic, alarm, onset = series.run_chart(lambda part: binomial_glr(
        part.boys, part.births, part.share, threshold[part.rows], window_periods=settings.glr_window))
    candidates = episode_alerts(con, series, METHOD_GLR, statistic, threshold, alarm, onset, settings)
    return GlrOutputs(candidates, chart_paths(series, METHOD_GLR, statistic, threshold, alarm), keys_calibrated)


def _glr_thresholds(con: duckdb.DuckDBPyConnection, series: MonitoredSeries,
                    settings: SurveillanceSettings) -> tuple[np.ndarray, int]:
    """Threshold per cell, interpolated in log births from cached (or newly simulated) nodes."""
    _, first, track = np.unique(series.track, return_index=True, return_inverse=True)
    grid = threshold_grid(np.maximum(series.volume, MIN_BIRTHS), None, track[:, None],
                          births_ratio=GRID_BIRTHS_RATIO)
    wanted = pl.DataFrame({
        "births_key": grid.births, "share_key": float(share_from_srb(settings.reference_srb)),
        "window_key": settings.glr_window, "arl0_key": round_arl0(series.arl0[first])[grid.group],
    }, schema={"births_key": pl.Float64, "share_key": pl.Float64, "window_key": pl.Int32, "arl0_key": pl.Float64})
    nodes, calibrated = cached_values(con, "cusum/glr_calibration", wanted, _KEYS, _simulate)
    return grid.interpolate(nodes["threshold"].to_numpy()), calibrated


def _simulate(missing: pl.DataFrame) -> pl.DataFrame:
    """Thresholds of the missing keys: one seeded simulation per node serves all its ARL0s."""
    parts = []
    for (births, share, window), keys in missing.group_by(["births_key", "share_key", "window_key"],
                                                         maintain_order=True):
        arl0 = keys["arl0_key"].to_numpy()
        periods = max(SIMULATED_PERIODS, int(np.ceil(arl0.max())))
        # the seed is the node's own, so a node simulated in any run gives the same threshold
        seed = zlib.crc32(f"glr|{births!r}|{share!r}|{window}|{periods}".encode())
        h, rel_se = glr_threshold(births, share, arl0, window_periods=window, n_runs=SIMULATED_RUNS,
                                  n_periods=periods, seed=seed)
        parts.append(keys.with_columns(threshold=h, rel_se=rel_se, runs=pl.lit(SIMULATED_RUNS, pl.Int32),
                                       periods=pl.lit(periods, pl.Int32)))
    return pl.concat(parts)
