"""Windowed binomial GLR chart for an upward shift of unknown size (a second detector).

At period t the statistic maximises the log-likelihood ratio over the change point and the
shift: for every window of the last ``w = 1 .. window_periods`` periods (starting after the
last alarm) with ``B`` boys out of ``N`` births and ``E = sum(births * p0)`` expected boys,
the shift is estimated by ``p_hat = B / N`` against the pooled in-control share
``p0_bar = E / N``, and::

    LLR(w) = B log(p_hat / p0_bar) + (N - B) log((1 - p_hat) / (1 - p0_bar))   if p_hat > p0_bar
    G_t    = max_w LLR(w),   alarm when G_t > h, then the windows restart after t.

With p0 constant in the window this is the exact binomial GLR (Lai 1995; the Poisson/negative
binomial analogue is surveillance::glrnb, Höhle & Paul 2008); with a slowly moving prospective
baseline the pooled ``p0_bar`` is a close approximation. The window keeps the cost at
``window_periods`` vectorised passes over (series, periods); resets are handled in rounds over
the series that alarmed, as in ``models.cusum``. Thresholds come from simulation
(``glr_threshold``): the GLR has no Markov representation.

References: Lai (1995) JRSS-B 57:613-658; Höhle & Paul (2008) CSDA 52:4357-4368.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import xlogy

from models.cusum import check_counts, check_share  # one set of input rules for both charts


@dataclass(frozen=True)
class GlrResult:
    """Arrays (series, periods): statistic (LLR units), alarm, onset (first period of the
    maximising window, -1 where the statistic is 0) and srb_estimate (the window's SRB)."""

    statistic: np.ndarray
    alarm: np.ndarray
    onset: np.ndarray
    srb_estimate: np.ndarray


def _window_llr(boys, births, expected):
    """One-sided binomial LLR of pooled window sums (0 where p_hat <= p0_bar or no births)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        share = boys / births
        share0 = expected / births
        girls = births - boys
        llr = xlogy(boys, share / share0) + xlogy(girls, (1.0 - share) / (1.0 - share0))
    return np.where((births > 0) & (share > share0), llr, 0.0)


def _scan(cum_boys, cum_births, cum_expected, first_start, window_periods):
    """Max over windows ending at t and starting at or after first_start[r, t] (inner routine)."""
    n_periods = cum_boys.shape[1] - 1
    end = np.arange(1, n_periods + 1)
    best = np.zeros(first_start.shape)
    best_start = np.full(first_start.shape, -1)
    rows = np.arange(first_start.shape[0])[:, None]
    for lag in range(1, window_periods + 1):
        start = end - lag
        allowed = start[None, :] >= first_start
        if not allowed.any():
            break
        start_c = np.clip(start, 0, None)
        llr = _window_llr(cum_boys[:, end] - cum_boys[:, start_c],
                          cum_births[:, end] - cum_births[:, start_c],
                          cum_expected[:, end] - cum_expected[:, start_c])
        better = allowed & (llr > best)
        best = np.where(better, llr, best)
        best_start = np.where(better, start[None, :] + 0 * rows, best_start)
    return best, best_start


def binomial_glr(
    boys: np.ndarray,
    births: np.ndarray,
    share_expected: np.ndarray,
    threshold: np.ndarray | float,
    *,
    window_periods: int = 52,
) -> GlrResult:
    """Windowed one-sided binomial GLR per series, with restart after each alarm.

    Parameters
    ----------
    boys, births : counts (series, periods), or (series, periods, classes) summed over classes
        (with class-specific p0 this is the risk-adjusted pooled version).
    share_expected : in-control share p0 in (0, 1), broadcastable to the counts.
    threshold : h > 0 in LLR units, broadcastable to (series, periods).
    window_periods : longest window (periods) over which a change point is sought.

    Returns
    -------
    GlrResult with statistic, alarm, onset and srb_estimate, each (series, periods).

    Raises
    ------
    ValueError on bad shapes, counts, p0 outside (0, 1) where there are births, h <= 0 or
    window_periods < 1.

    >>> r = binomial_glr(np.array([[50, 52, 70, 72]]), np.array([[100] * 4]), 0.515, 3.0,
    ...                  window_periods=4)
    >>> r.alarm.tolist(), r.onset.tolist()
    ([[False, False, True, True]], [[-1, 1, 2, 3]])
    """
    boys, births = check_counts(boys, births)
    share = check_share(share_expected, births)
    if window_periods < 1:
        raise ValueError("window_periods must be >= 1")
    h = np.asarray(threshold, dtype=float)
    if not np.all(np.isfinite(h) & (h > 0)):
        raise ValueError("threshold must be finite and > 0 (LLR units)")
    expected = np.where(births > 0, births * share, 0.0)
    if births.ndim == 3:
        boys, births, expected = boys.sum(-1), births.sum(-1), expected.sum(-1)
    n_series, n_periods = births.shape
    h_full = np.broadcast_to(h, (n_series, n_periods))

    def padded_cumsum(values):
        out = np.zeros((values.shape[0], n_periods + 1))
        np.cumsum(values, axis=1, out=out[:, 1:])
        return out

    cum = [padded_cumsum(v) for v in (boys, births, expected)]
    statistic = np.zeros((n_series, n_periods))
    start = np.full((n_series, n_periods), -1)
    alarm = np.zeros((n_series, n_periods), dtype=bool)
    rows = np.arange(n_series)
    restart = np.zeros(n_series, dtype=np.int64)  # first period after the last alarm
    while rows.size:
        first_start = np.broadcast_to(restart[:, None], (rows.size, n_periods))
        best, best_start = _scan(*(c[rows] for c in cum), first_start, window_periods)
        cols = np.arange(n_periods)[None, :] >= restart[:, None]
        over = (best > h_full[rows]) & cols
        hit = over.any(axis=1)
        first = np.where(hit, over.argmax(axis=1), n_periods - 1)
        write = cols & (np.arange(n_periods)[None, :] <= first[:, None])
        rr = np.broadcast_to(rows[:, None], write.shape)
        statistic[rr[write], np.nonzero(write)[1]] = best[write]
        start[rr[write], np.nonzero(write)[1]] = best_start[write]
        alarm[rows[hit], first[hit]] = True
        rows, restart = rows[hit], first[hit] + 1
        keep = restart < n_periods
        rows, restart = rows[keep], restart[keep]
    end = np.arange(1, n_periods + 1)
    from_start = np.clip(start, 0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        window_boys = np.take_along_axis(cum[0], end[None, :] + 0 * from_start, 1) - np.take_along_axis(
            cum[0], from_start, 1)
        window_births = np.take_along_axis(cum[1], end[None, :] + 0 * from_start, 1) - np.take_along_axis(
            cum[1], from_start, 1)
        srb = np.where(statistic > 0, 100.0 * window_boys / (window_births - window_boys), np.nan)
    return GlrResult(statistic=statistic, alarm=alarm, onset=np.where(statistic > 0, start, -1),
                     srb_estimate=srb)


def glr_run_maxima(
    births: float,
    share_expected: float,
    *,
    window_periods: int,
    n_runs: int,
    n_periods: int,
    seed: int,
) -> np.ndarray:
    """Largest GLR statistic of each of ``n_runs`` in-control series, charted without reset.

    Inner routine of ``glr_threshold``: births per period Poisson(``births``), boys binomial
    with ``share_expected``. With p0 constant the window LLR is a sum of table look-ups,
    ``LLR = T_boys[B] + T_girls[G] - T_births[B + G]`` with ``T(k) = k log k`` less the
    ``k log p0`` terms, exactly the statistic of ``binomial_glr``; series are charted in
    blocks that stay in the processor's cache.
    """
    rng = np.random.default_rng(seed)
    sim_births = rng.poisson(births, size=(n_runs, n_periods))
    sim_boys = rng.binomial(sim_births, share_expected)
    # window sums never exceed the largest total of window_periods periods in a run
    span = min(window_periods, n_periods)
    cum_births = np.cumsum(sim_births, axis=1)
    top = int(max(cum_births[:, span - 1].max(initial=0),
                  (cum_births[:, span:] - cum_births[:, :-span]).max(initial=0))) + 1
    counts = np.arange(top + 1, dtype=float)
    t_births = xlogy(counts, counts)
    t_boys = t_births - np.log(share_expected) * counts
    t_girls = t_births - np.log1p(-share_expected) * counts
    run_max = np.zeros(n_runs)
    block = 32
    for first in range(0, n_runs, block):
        rows = slice(first, first + block)
        cum_boys = np.zeros((sim_boys[rows].shape[0], n_periods + 1), np.int64)
        np.cumsum(sim_boys[rows], axis=1, out=cum_boys[:, 1:])
        cum_girls = np.zeros_like(cum_boys)
        np.cumsum(sim_births[rows] - sim_boys[rows], axis=1, out=cum_girls[:, 1:])
        best = run_max[rows]
        for lag in range(1, min(window_periods, n_periods) + 1):
            window_boys = cum_boys[:, lag:] - cum_boys[:, :-lag]
            window_girls = cum_girls[:, lag:] - cum_girls[:, :-lag]
            llr = t_boys[window_boys]
            llr += t_girls[window_girls]
            llr -= t_births[window_boys + window_girls]
            llr *= window_boys * (1.0 - share_expected) > window_girls * share_expected  # p_hat > p0 only
            np.maximum(best, llr.max(axis=1), out=best)
    return run_max


def glr_threshold(
    births: float,
    share_expected: float,
    arl0: float | np.ndarray,
    *,
    window_periods: int = 52,
    n_runs: int = 2000,
    n_periods: int = 1000,
    seed: int,
) -> tuple[float | np.ndarray, float | np.ndarray]:
    """Threshold giving the GLR an in-control ARL0 (periods), by seeded simulation.

    ``n_runs`` in-control series of ``n_periods`` with Poisson births are charted without
    reset; with rare alarms the first crossing is nearly exponential, so
    ``ARL(h) = -n_periods / log P(no crossing of h)``; h is the quantile of the run maxima
    that gives ``arl0``. Needs ``arl0`` within about 0.2 .. 50 x ``n_periods``. One
    simulation serves every ARL0 given (an array gives arrays back).

    Returns
    -------
    (h, relative standard error of the implied ARL at h).

    Raises
    ------
    ValueError if p0 is outside (0, 1), births < 0 or arl0 <= 1.

    >>> h, se = glr_threshold(50.0, 0.515, 500.0, window_periods=26, n_runs=400, n_periods=400, seed=1)
    >>> 3.0 < h < 9.0, se < 0.2
    (True, True)
    """
    if not 0 < share_expected < 1:
        raise ValueError("in-control share of boys p0 must lie in (0, 1)")
    if not births >= 0:
        raise ValueError("expected births per period must be >= 0")
    arl0_array = np.asarray(arl0, dtype=float)
    if not np.all(arl0_array > 1):
        raise ValueError("in-control ARL0 must be > 1 period")
    run_max = glr_run_maxima(births, share_expected, window_periods=window_periods, n_runs=n_runs,
                             n_periods=n_periods, seed=seed)
    survive = np.exp(-n_periods / arl0_array)  # wanted P(no crossing in n_periods)
    h = np.quantile(run_max, survive)
    # ARL = -n_periods / log q with q = P(no crossing): se(ARL) / ARL = se(q) / (q |log q|)
    rel_se = np.sqrt((1.0 - survive) / (survive * n_runs)) / np.abs(np.log(survive))
    if arl0_array.ndim == 0:
        return float(h), float(rel_se)
    return h, rel_se
