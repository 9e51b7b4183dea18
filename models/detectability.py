"""Detectability: the smallest SRB each chart finds within a horizon, on average.

For a series with expected births ``n`` per period, baseline share ``p0``, the chart's odds
ratio and its threshold h, the out-of-control ARL is a decreasing function of the true share
of boys. The detectable SRB is the smallest true SRB whose zero-state ARL is at most
``horizon_periods`` (default 52: a year of weeks), found by regula falsi (Illinois) on the log of the Brook-Evans ARL
of ``models.cusum_calibration``. Where even ``srb_max`` is not found in time the result is
``inf``: the data cannot tell, and "no alert" must not be read as "no problem".

References: Brook & Evans (1972); Page (1954).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from models.cusum_calibration import (
    MIN_BIRTHS,
    arl_extrapolated,
    calibration_key,
    increment_distribution,
    reference_per_birth,
)
from models.srb import share_from_srb, srb_from_share

_STATES = 50  # and 100, extrapolated: ARL1 below 200 periods within 0.1 % of a 1,600-point chain
_SRB_TOLERANCE = 0.1  # boys per 100 girls


@lru_cache(maxsize=65536)
def _detectable_key(births: float, share_expected: float, odds_ratio: float, threshold: float,
                    horizon: float, srb_max: float, births_model: str) -> float:
    kappa = reference_per_birth(share_expected, odds_ratio)
    h_boys = threshold / np.log(odds_ratio)

    def arl(srb: float) -> float:
        values, probs = increment_distribution(births, float(share_from_srb(srb)), kappa, births_model)
        return arl_extrapolated(values, probs, h_boys, _STATES)

    low = float(srb_from_share(share_expected))
    excess_low = np.log(arl(low) / horizon)  # log ARL1 above the horizon: > 0 is too slow
    if excess_low <= 0:
        return low
    high = srb_max
    excess_high = np.log(arl(high) / horizon)
    if excess_high > 0:
        return np.inf
    # Illinois regula falsi on log ARL1, which is smooth and decreasing in the true SRB; each
    # trial stays a quarter tolerance inside the bracket, so the bracket shrinks every step
    kept = 0
    while high - low > _SRB_TOLERANCE:
        trial = high - excess_high * (high - low) / (excess_high - excess_low)
        trial = min(max(trial, low + 0.25 * _SRB_TOLERANCE), high - 0.25 * _SRB_TOLERANCE)
        excess = np.log(arl(trial) / horizon)
        if excess <= 0:
            high, excess_high = trial, excess
            excess_low, kept = (0.5 * excess_low, kept) if kept == -1 else (excess_low, -1)
        else:
            low, excess_low = trial, excess
            excess_high, kept = (0.5 * excess_high, kept) if kept == 1 else (excess_high, 1)
    return high


def detectable_srb(
    births: np.ndarray,
    share_expected: np.ndarray,
    odds_ratio: np.ndarray,
    threshold: np.ndarray,
    *,
    horizon_periods: float = 52.0,
    srb_max: float = 250.0,
    births_model: str = "poisson",
) -> np.ndarray:
    """Smallest true SRB the CUSUM detects within ``horizon_periods`` on average (ARL1 <= horizon).

    Parameters
    ----------
    births : expected births per period of each series.
    share_expected : baseline share of boys p0 in (0, 1).
    odds_ratio : the chart's shift (> 1).
    threshold : the chart's h (LLR units, > 0), e.g. from ``calibrate_threshold``.
    horizon_periods : periods within which detection is wanted on average (52 weeks).
    srb_max : largest SRB searched (boys per 100 girls); beyond it the result is ``inf``.
    births_model : "poisson" or "binomial", as in the calibration.

    Returns
    -------
    SRB (boys per 100 girls), shaped like the broadcast inputs, to 0.1; the shift from the
    baseline is ``result - 100 p0 / (1 - p0)``. Cached per rounded key (births on the
    calibration's 5 % grid, h to 0.001).

    Raises
    ------
    ValueError for p0 outside (0, 1), odds_ratio <= 1, threshold <= 0 or horizon <= 0.

    >>> srb = detectable_srb(np.array([5.0, 50.0, 500.0]), 0.5146, 1.0943, np.array([6.0, 7.0, 8.0]))
    >>> np.round(srb).tolist()  # 5 births a week: not even SRB 250 within a year
    [inf, 125.0, 112.0]
    """
    threshold = np.asarray(threshold, dtype=float)
    if not np.all(np.isfinite(threshold) & (threshold > 0)):
        raise ValueError("threshold must be finite and > 0 (LLR units)")
    if not horizon_periods > 0:
        raise ValueError("horizon_periods must be > 0")
    keys = calibration_key(births, share_expected, odds_ratio, 2.0)[..., :3]
    keys, h = np.broadcast_arrays(keys, np.round(threshold, 3)[..., None])
    flat = np.concatenate([keys.reshape(-1, 3), h.reshape(-1, 3)[:, :1]], axis=1)
    if np.any((flat[:, 1] <= 0) | (flat[:, 1] >= 1)):
        raise ValueError("baseline share of boys p0 must lie in (0, 1)")
    if np.any(flat[:, 2] <= 1):
        raise ValueError("odds_ratio must be > 1 (an upward shift)")
    unique, inverse = np.unique(flat, axis=0, return_inverse=True)
    found = np.array([
        _detectable_key(max(row[0], MIN_BIRTHS), row[1], row[2], row[3], float(horizon_periods),
                        float(srb_max), births_model)
        for row in unique
    ])
    return found[inverse.ravel()].reshape(keys.shape[:-1])
