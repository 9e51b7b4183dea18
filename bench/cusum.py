"""Timing of the CUSUM core at the issue-4 scale: 3,000 areas x 5 strata x 520 weeks.

``python -m bench.cusum`` prints seconds for: the chart with onset and alarm extraction (target
< 2 s on 2 cores), the prospective baseline, threshold calibration cold (< 30 s) and warm
(cached, < 1 s), and detectability. Calibration is timed twice: one threshold per series at its
mean volume (``calibrate_threshold``), and as the pipeline does it, one per series x week for
the trailing volume and the baseline SRB, from grid nodes (``models.threshold_grid``). Data
are simulated with a fixed seed; volumes are log-normal, from villages (~1 birth a week) to
districts (~200 a week), with a stratum share of the area's births.
"""
from __future__ import annotations

import time

import numpy as np
from threadpoolctl import threadpool_limits

from models.baseline import prospective_baseline
from models.constants import PERIODS_PER_YEAR, STRATA
from models.cusum import alarm_evidence, binomial_cusum, odds_ratio_for_shift
from models.cusum_calibration import (
    MIN_BIRTHS,
    calibrate_nodes,
    calibrate_threshold,
    calibration_cache_size,
    clear_calibration_cache,
    split_false_alarm_budget,
)
from models.detectability import detectable_srb
from models.srb import share_from_srb, srb_from_share
from models.threshold_grid import threshold_grid
from pipeline.surveil_cusum import GRID_BIRTHS_RATIO, GRID_SRB_STEP

N_AREAS, N_PERIODS = 3000, 520
STRATUM_SHARE = {"all": 1.0, "parity_1": 0.45, "parity_2": 0.4, "parity_3plus": 0.15,
                 "parity_2_within_policy": 0.3}


def simulate(seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    area_births = np.exp(rng.normal(np.log(8.0), 1.3, size=N_AREAS)).clip(0.3, 400)
    mean = (area_births[:, None] * np.array([STRATUM_SHARE[s] for s in STRATA])[None, :]).ravel()
    births = rng.poisson(mean[:, None], size=(mean.size, N_PERIODS))
    srb = np.where(rng.random(mean.size) < 0.05, 125.0, 106.0)  # 5 % of series shift ...
    share = np.where(np.arange(N_PERIODS)[None, :] >= 300, share_from_srb(srb)[:, None], share_from_srb(106.0))
    boys = rng.binomial(births, share)  # ... from week 300
    return boys, births, mean


def timed(label: str, fn, repeat: int = 3):
    best, out = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    print(f"{label:<58s} {best:7.3f} s")
    return out


def cells_per_series_x_week(births: np.ndarray, share: np.ndarray, arl0: np.ndarray) -> None:
    """Thresholds for every series x week as the pipeline makes them: grid nodes, interpolated."""
    end = np.arange(1, births.shape[1] + 1)
    cum = np.concatenate([np.zeros((births.shape[0], 1)), np.cumsum(births, axis=1)], axis=1)
    volume = (cum[:, end] - cum[:, np.maximum(end - 52, 0)]) / np.minimum(end, 52)
    srb = srb_from_share(share)

    def calibrate():
        grid = threshold_grid(np.maximum(volume, MIN_BIRTHS), srb, np.unique(arl0, return_inverse=True)[1][:, None],
                              births_ratio=GRID_BIRTHS_RATIO, srb_step=GRID_SRB_STEP)
        cal = calibrate_nodes(grid.births, share_from_srb(grid.srb), (grid.srb + 10.0) / grid.srb,
                              np.unique(arl0)[grid.group])
        return grid, grid.interpolate(cal.threshold)

    clear_calibration_cache()
    with threadpool_limits(1):
        grid, _ = timed(f"threshold calibration per series x week ({volume.size:,} cells), cold", calibrate, repeat=1)
        timed("threshold calibration per series x week, warm (cached)", calibrate)
    print(f"  {grid.births.size} grid nodes ({GRID_BIRTHS_RATIO - 1:.0%} apart in births, "
          f"{GRID_SRB_STEP:g} SRB points)")


def main() -> None:
    boys, births, mean = simulate()
    n_series = births.shape[0]
    print(f"{n_series} series ({N_AREAS} areas x {len(STRATA)} strata) x {N_PERIODS} weeks")
    odds = odds_ratio_for_shift(106.0)
    track = np.where(np.tile(np.array(STRATA) == "parity_2_within_policy", N_AREAS), "p2wp", "default")
    arl0 = split_false_alarm_budget(track, {"default": 12.0, "p2wp": 4.0}, PERIODS_PER_YEAR["week"])
    clear_calibration_cache()
    with threadpool_limits(1):  # small LU factorisations: threads only add contention
        cal = timed("threshold calibration, cold", lambda: calibrate_threshold(mean, 0.5146, odds, arl0),
                    repeat=1)
        timed("threshold calibration, warm (cached)", lambda: calibrate_threshold(mean, 0.5146, odds, arl0))
    n_keys = calibration_cache_size()
    print(f"  {n_keys} distinct calibration keys; largest estimated chain error "
          f"{cal.rel_change.max():.4f}")
    base = timed("prospective baseline (window 104, guard 52 weeks)", lambda: prospective_baseline(boys, births))
    cells_per_series_x_week(births, base.share, arl0)

    def chart_and_alarms():
        result = binomial_cusum(boys, births, base.share, cal.threshold[:, None], odds_ratio=odds)
        return result, alarm_evidence(result, boys, births, base.share)

    result, evidence = timed("CUSUM + onset + alarm extraction (target < 2 s)", chart_and_alarms)
    print(f"  {int(result.alarm.sum())} alarms in {int(result.alarm.any(axis=1).sum())} series; "
          f"{evidence.boys.size} evidence rows")
    with threadpool_limits(1):
        srb = timed("detectability (SRB found within 52 weeks), cold",
                    lambda: detectable_srb(mean, 0.5146, odds, cal.threshold), repeat=1)
    print(f"  detectable SRB: median {np.median(srb[np.isfinite(srb)]):.1f}; "
          f"{np.isinf(srb).mean():.0%} of series cannot detect even SRB 250 within a year")


if __name__ == "__main__":
    main()
