"""Run lengths and thresholds of the binomial CUSUM by the Brook-Evans Markov chain.

The LLR chart of ``models.cusum`` is, on the scale of boys, ``c * (boys - kappa * births)``
with ``c = log(OR)`` and ``kappa = log(1 - p0 + p0 * OR) / log(OR)``, i.e. surveillance's
integer chart ``S = max(0, S + x - k)`` with ``k = kappa * n`` and ``h_llr = c * h``
(Höhle & Paul 2008, ``algo.cusum``/``findK``). Run lengths come from the chain of Brook &
Evans (1972) on that scale: the in-control region is split into a grid of ``states`` points
of width ``delta`` boys, each step moves by an increment of the period's distribution and is
rounded to the nearest grid point, ``S <= 0`` is the zero state, leaving the top is an alarm.
When increments lie on the grid (integer ``boys - k`` with ``k`` a multiple of ``delta``)
the chain is exact; that is how ``arl_integer_cusum`` reproduces ``surveillance::arlCusum``.

**All thresholds at once.** For a fixed grid the chain of threshold ``H`` states is the
leading ``H x H`` block of the largest one, so one LU factorisation gives the ARL for every
``H`` (``ARL_H = sum_{j<H} a_j b_j`` with ``a = L^{-1} e_0``, ``b = U^{-T} 1`` from
``(I - P)^T = L U``; no row exchange occurs because ``(I - P)^T`` is column diagonally
dominant). Calibration therefore costs one factorisation per grid: grids of n, 2n and 4n points
(the atoms are split once, on the finest; splitting composes exactly over nested grids), the
ARLs of the two finer extrapolated (Richardson), and that extrapolation checked against the
one from the two coarser.

Births per period: ``births_model="poisson"`` (default for calibration) takes births in a
period as Poisson with the expected mean (boys and girls independent Poisson), which allows
fractional expected volumes; ``"binomial"`` takes exactly ``round(births)`` births.
The risk-adjusted chart is calibrated as a binomial one with pooled births and p0 (the sum of
class binomials has slightly less variance, so this is a little conservative).

References: Brook & Evans (1972) Biometrika 59:539-549; Page (1954); Höhle & Paul (2008)
CSDA 52:4357-4368 (surveillance::arlCusum, findH); Siegmund (1985) Sequential Analysis,
Springer (the corrected diffusion approximation that starts the search).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import linalg, optimize, special, stats

_TAIL = 1e-13  # probability mass left out of each Poisson/binomial tail
MIN_BIRTHS = 0.05  # expected births per period below this are calibrated as this
_MAX_STATES = 800  # finest grid; below ~0.5 births a period the lattice of increments makes
# ARL(h) a step function, which no grid resolves: the check then stays above rel_tol


@dataclass(frozen=True)
class Calibration:
    """Per-series thresholds; every array has the shape of the ``births`` given."""

    threshold: np.ndarray  # h, LLR units
    arl0: np.ndarray  # in-control ARL (periods) at h, extrapolated from the two finest grids
    rel_change: np.ndarray  # |ARL extrapolated from grids (2n, 4n) - from (n, 2n)| / ARL at h: the check
    states: np.ndarray  # grid points of the finest chain


def reference_per_birth(share_expected: float, odds_ratio: float) -> float:
    """kappa: surveillance's reference value k per birth, ``log(1 - p0 + p0 OR) / log(OR)``."""
    return float(np.log1p(share_expected * (odds_ratio - 1.0)) / np.log(odds_ratio))


def poisson_atoms(mean: float) -> tuple[np.ndarray, np.ndarray]:
    """Counts and Poisson probabilities, leaving out at most ``_TAIL`` in each tail (inner routine)."""
    spread = 9.0 * np.sqrt(mean) + 12.0  # beyond 9 sd (+12 for tiny means) both tails are < 1e-15
    counts = np.arange(max(0.0, np.floor(mean - spread)), np.ceil(mean + spread) + 1.0)
    probs = np.exp(special.xlogy(counts, mean) - mean - special.gammaln(counts + 1.0))
    at_most = np.cumsum(probs)  # P(X <= k)
    at_least = np.cumsum(probs[::-1])[::-1]  # P(X >= k)
    keep = (at_most > _TAIL) & (at_least > _TAIL)
    return counts[keep], probs[keep]


def increment_distribution(
    births: float, share_true: float, kappa: float, births_model: str
) -> tuple[np.ndarray, np.ndarray]:
    """Atoms ``boys - kappa * births`` and their probabilities for one period (inner routine)."""
    if births_model == "binomial":
        n = int(round(births))
        boys = np.arange(n + 1)
        return boys - kappa * n, stats.binom.pmf(boys, n, share_true)
    boys, p_boys = poisson_atoms(births * share_true)
    girls, p_girls = poisson_atoms(births * (1.0 - share_true))
    values = boys[:, None] * (1.0 - kappa) - kappa * girls[None, :]
    return values.ravel(), (p_boys[:, None] * p_girls[None, :]).ravel()


def step_distribution(values: np.ndarray, probs: np.ndarray, delta: float, states: int) -> np.ndarray:
    """One period's move in grid points, lags ``-states .. states`` (inner routine).

    Each atom's mass is split between the two grid points around it in proportion to
    distance, which keeps the step's mean exact (rounding to the nearest point would bias the
    drift when atoms are few); lags beyond +/- states are piled on the end lags.
    """
    u = np.clip(values / delta, -states, states) + states
    low = np.floor(u)
    frac = u - low
    index = low.astype(np.intp)
    high_mass = probs * frac
    step = np.bincount(index, weights=probs - high_mass, minlength=2 * states + 2)
    step += np.bincount(index + 1, weights=high_mass, minlength=2 * states + 2)
    return step[: 2 * states + 1] / step.sum()  # renormalise over the atoms kept


def coarser_step(step: np.ndarray) -> np.ndarray:
    """The step distribution on a grid twice as wide, from this one's (inner routine).

    Splitting in proportion to distance composes exactly over nested grids: a point of the
    fine grid between two coarse points goes half to each, as its atoms would have.
    """
    if (step.size - 1) % 4:
        raise ValueError("a grid of an even number of states is needed to halve it")
    coarse = step[0::2].copy()  # lag 0 sits at an even index: every other point stays
    between = 0.5 * step[1::2]
    coarse[:-1] += between
    coarse[1:] += between
    return coarse


def arl_from_step(step: np.ndarray) -> np.ndarray:
    """Zero-state ARL for every threshold of 1..states grid points, from the step (inner routine)."""
    states = (step.size - 1) // 2
    # (I - P)^T with P[i, j] = step[j - i + states] for j >= 1 (Toeplitz) and P[i, 0] = every
    # lag at or below -i
    windows = np.lib.stride_tricks.sliding_window_view(step, states)
    system = -windows[states:0:-1].T
    system[0, :] = -np.cumsum(step)[states:0:-1]
    system[np.diag_indices(states)] += 1.0
    lu, piv = linalg.lu_factor(system, check_finite=False)
    if not np.array_equal(piv, np.arange(states)):
        raise ArithmeticError("Markov chain not diagonally dominant; cannot share one factorisation")
    e0 = np.zeros(states)
    e0[0] = 1.0
    a = linalg.solve_triangular(lu, e0, lower=True, unit_diagonal=True, check_finite=False)
    b = linalg.solve_triangular(lu, np.ones(states), trans="T", lower=False, check_finite=False)
    return np.cumsum(a * b)


def arl_curve(values: np.ndarray, probs: np.ndarray, delta: float, states: int) -> np.ndarray:
    """Zero-state ARL for every threshold of 1..states grid points (inner routine).

    ``values`` are increments on the boys scale, ``delta`` the grid width. Entry ``H - 1`` is
    the ARL of the chart whose state lives on grid points ``0 .. H - 1`` and alarms above
    (threshold ``(H - 0.5) * delta``). Each step's mass is split between the two grid points
    around its landing point in proportion to distance, which keeps the step's mean exact;
    on-grid increments (the integer chart) are not split and the chain is then exact.
    """
    return arl_from_step(step_distribution(values, probs, delta, states))


def arl_at_threshold(values: np.ndarray, probs: np.ndarray, h_boys: float, states: int) -> float:
    """ARL of the chain whose threshold h (boys) sits mid-way between grid points (inner routine)."""
    delta = h_boys / (states - 0.5)  # h sits mid-way between grid points
    return float(arl_curve(values, probs, delta, states)[-1])


def arl_extrapolated(values: np.ndarray, probs: np.ndarray, h_boys: float, states: int) -> float:
    """ARL at threshold h (boys) from chains of ``states`` and ``2 * states`` points,
    extrapolated (Richardson, second order, on the log scale); inner routine."""
    coarse = np.log(arl_at_threshold(values, probs, h_boys, states))
    fine = np.log(arl_at_threshold(values, probs, h_boys, 2 * states))
    return float(np.exp(fine + (fine - coarse) / 3.0))


def _check_scalar_inputs(births, share_expected, odds_ratio) -> None:
    births, share_expected, odds_ratio = (np.asarray(x, dtype=float) for x in (births, share_expected, odds_ratio))
    if not np.all(np.isfinite(births) & (births >= 0)):
        raise ValueError("expected births per period must be finite and >= 0")
    if not np.all((share_expected > 0) & (share_expected < 1)):
        raise ValueError("in-control share of boys p0 must lie in (0, 1)")
    if not np.all(np.isfinite(odds_ratio) & (odds_ratio > 1)):
        raise ValueError("odds_ratio must be finite and > 1 (an upward shift)")


def _check_calibration_inputs(births, share_expected, odds_ratio, arl0, births_model: str) -> np.ndarray:
    """Raise ValueError for a bad calibration request; return arl0 as an array."""
    _check_scalar_inputs(births, share_expected, odds_ratio)
    arl0 = np.asarray(arl0, dtype=float)
    if not np.all(np.isfinite(arl0) & (arl0 > 1)):
        raise ValueError("in-control ARL0 must be finite and > 1 period (a chart cannot alarm more than"
                         " once a period); check the false-alarm budget")
    if births_model not in ("poisson", "binomial"):
        raise ValueError(f"births_model must be 'poisson' or 'binomial', got {births_model!r}")
    return arl0


def run_length(
    births: float,
    share_expected: float,
    odds_ratio: float,
    threshold: float,
    *,
    share_true: float | None = None,
    births_model: str = "poisson",
    states: int = 600,
) -> tuple[float, float]:
    """Zero-state average run length (periods) of the LLR CUSUM, and its convergence check.

    Parameters
    ----------
    births : expected births per period (> 0).
    share_expected : in-control share of boys p0 in (0, 1) the chart was built with.
    odds_ratio : the chart's shift, odds(p1) / odds(p0) > 1.
    threshold : h > 0, LLR units; alarm when S > h.
    share_true : the true share of boys (default p0: the in-control ARL0).
    births_model : "poisson" or "binomial" (exactly round(births) births per period).
    states : grid points of the chain; the check reruns with twice as many.

    Returns
    -------
    (arl, rel_change): ARL in periods from the fine chain, and |ARL_fine - ARL| / ARL_fine.

    Raises
    ------
    ValueError for p0 or share_true outside (0, 1), odds_ratio <= 1, threshold <= 0.

    >>> arl, rel = run_length(100, 1.05 / 2.05, 1.15 / 1.05, 1.61, births_model="binomial")
    >>> round(arl, 1), rel < 0.01
    (51.7, True)
    """
    _check_scalar_inputs(births, share_expected, odds_ratio)
    share_true = share_expected if share_true is None else share_true
    if not 0 < share_true < 1:
        raise ValueError("share_true must lie in (0, 1)")
    if not threshold > 0:
        raise ValueError("threshold must be > 0 (LLR units)")
    kappa = reference_per_birth(share_expected, odds_ratio)
    values, probs = increment_distribution(max(births, MIN_BIRTHS), share_true, kappa, births_model)
    h_boys = threshold / np.log(odds_ratio)
    coarse = arl_at_threshold(values, probs, h_boys, states)
    fine = arl_at_threshold(values, probs, h_boys, 2 * states)
    return fine, abs(fine - coarse) / fine


def arl_integer_cusum(
    k: float, h: float, births: int, share_true: float, *, digits: int = 2
) -> float:
    """ARL of surveillance's integer chart ``S = max(0, S + boys - k)``, alarm at ``S >= h``.

    Exact chain on the lattice ``10**-digits`` with ``k`` and ``h`` rounded to ``digits``, as
    ``surveillance::arlCusum(h, k, theta, distr = "binomial", n = births, digits)`` (1.20.3).

    >>> round(arl_integer_cusum(10.47, 10.25, 20, 1.05 / 2.05), 2)
    50.85
    """
    delta = 10.0**-digits
    k_lattice, h_states = round(k / delta), round(h / delta)
    boys = np.arange(births + 1)
    values = boys - k_lattice * delta
    probs = stats.binom.pmf(boys, births, share_true)
    return float(arl_curve(values, probs, delta, h_states)[-1])


@lru_cache(maxsize=65536)
def _calibrate_key(
    births: float, share_expected: float, odds_ratio: float, arl0: float, births_model: str,
    states: int, rel_tol: float,
) -> tuple[float, float, float, int]:
    c = np.log(odds_ratio)
    values, probs = increment_distribution(births, share_expected, reference_per_birth(share_expected, odds_ratio),
                                           births_model)
    # the grids span [0, h_top]: a little above a first estimate of h, so few states are wasted
    h_top = 1.2 * _threshold_estimate(births, share_expected, odds_ratio, arl0, births_model) / c
    n_states = states
    is_spanned = False  # h_top was set from h once: never again (below ~0.5 births a period the
    # lattice makes the chain's ARL jagged in h, and narrowing and widening could alternate)
    for _ in range(40):
        # grids of n, 2n and 4n points over [0, h_top]; the atoms are split once, on the finest
        delta = h_top / (4 * n_states - 0.5)
        steps = [step_distribution(values, probs, delta, 4 * n_states)]
        steps += [coarser_step(steps[-1])]
        steps += [coarser_step(steps[-1])]
        try:
            curves = [arl_from_step(step) for step in steps]  # finest first
        except ArithmeticError:  # astronomically long runs at the top: the grid reaches too high
            h_top /= 1.5
            continue
        if curves[0][-1] < arl0:
            h_top *= 1.5
            continue
        # the split chain converges at second order in the grid width: extrapolate (Richardson)
        # on the log-ARL scale, where ARL(h) is nearly linear, from grids (4n, 2n) and (2n, n);
        # their difference is the check on the first
        h_fine = (np.arange(1, 4 * n_states + 1) - 0.5) * delta
        logs = [np.interp(h_fine, (np.arange(1, curve.size + 1) - 0.5) * delta * width, np.log(curve))
                for width, curve in zip((1, 2, 4), curves, strict=True)]
        extrapolated = logs[0] + (logs[0] - logs[1]) / 3.0
        check = logs[1] + (logs[1] - logs[2]) / 3.0
        h_boys = float(np.interp(np.log(arl0), np.maximum.accumulate(extrapolated), h_fine))
        if h_boys < 0.75 * h_top and not is_spanned:  # the grids were too wide at h: span h itself
            h_top, is_spanned = 1.1 * h_boys, True
            continue
        error = float(np.expm1(abs(np.interp(h_boys, h_fine, extrapolated - check))))
        if error <= rel_tol or 8 * n_states > _MAX_STATES:
            achieved = float(np.exp(np.interp(h_boys, h_fine, extrapolated)))
            return float(h_boys * c), achieved, error, 4 * n_states
        n_states *= 2
        h_top = 1.05 * h_boys
    raise ArithmeticError(f"threshold search did not converge for ARL0 {arl0}")


def _threshold_estimate(births: float, share_expected: float, odds_ratio: float, arl0: float,
                        births_model: str) -> float:
    """h (LLR units) from Siegmund's approximation, a start for the chain (inner routine).

    For an LLR chart the exponential tail has rate 1 (E exp(X) = 1 in control), so
    ``ARL0 ~ (exp(h') - h' - 1) / |mu|`` with ``mu`` the mean increment and ``h' = h +
    1.166 sigma`` (Siegmund 1985, corrected diffusion). Within ~10 % of the chain's h from
    0.05 to 1,000 births a period.
    """
    c = np.log(odds_ratio)
    kappa = reference_per_birth(share_expected, odds_ratio)
    mean = births * (share_expected - kappa) * c  # < 0: kappa lies between p0 and p1
    if births_model == "binomial":
        variance = births * share_expected * (1.0 - share_expected) * c * c
    else:  # boys and girls independent Poisson
        variance = births * (share_expected * (1.0 - kappa) ** 2 + (1.0 - share_expected) * kappa**2) * c * c
    target = arl0 * abs(mean)
    h_corrected = optimize.brentq(lambda h: np.expm1(h) - h - target, 0.0, np.log(target + 2.0) + 2.0)
    return max(h_corrected - 1.166 * np.sqrt(variance), 0.05 * h_corrected)


def calibration_key(births, share_expected, odds_ratio, arl0) -> np.ndarray:
    """Rounded cache keys: births on a 5% log grid, p0 to 0.001, OR to 1e-4, ARL0 to 3 digits.

    Births are off by 2.5% at most, which moves the ARL by about as much: well inside the
    +/-25% false-alarm tolerance, and it keeps a whole area tree to a few hundred keys.
    """
    births = np.maximum(np.asarray(births, dtype=float), MIN_BIRTHS)
    births_key = np.exp(np.round(np.log(births) / np.log(1.05)) * np.log(1.05))
    return np.stack(np.broadcast_arrays(
        np.round(births_key, 6), np.round(share_expected, 3), np.round(odds_ratio, 4), round_arl0(arl0)
    ), axis=-1)


def round_arl0(arl0: np.ndarray | float) -> np.ndarray:
    """ARL0 to 3 significant digits (a cache key; it moves the false-alarm rate by < 0.1 %).

    >>> round_arl0(np.array([660.93, 52.1775])).tolist()
    [661.0, 52.2]
    """
    arl0 = np.asarray(arl0, dtype=float)
    digits = 2 - np.floor(np.log10(arl0))
    return np.round(arl0 * 10.0**digits) / 10.0**digits


def calibrate_threshold(
    births: np.ndarray,
    share_expected: np.ndarray,
    odds_ratio: np.ndarray,
    arl0: np.ndarray,
    *,
    births_model: str = "poisson",
    states: int = 50,
    rel_tol: float = 0.01,
) -> Calibration:
    """Threshold h (LLR units) giving each series its in-control ARL0, by Brook-Evans.

    Parameters
    ----------
    births : expected births per period of each series (fractions allowed; below 0.05
        calibrated as 0.05).
    share_expected : in-control share of boys p0 in (0, 1).
    odds_ratio : the shift the chart is tuned to (> 1), e.g. ``odds_ratio_for_shift``.
    arl0 : wanted in-control ARL in periods (> 1), e.g. from ``split_false_alarm_budget``.
    births_model : "poisson" (default) or "binomial".
    states : grid points of the coarsest chain. The ARL is computed on grids of ``states``,
        ``2 * states`` and ``4 * states`` points; the two finer are extrapolated (Richardson:
        the split chain converges at second order in the grid width) and checked against the
        extrapolation from the two coarser; the grids are doubled (the finest up to 800
        points) until the two agree within ``rel_tol``.

    Returns
    -------
    Calibration of arrays shaped like the broadcast inputs: threshold, arl0 achieved,
    rel_change, states (of the finest grid). Results are cached per rounded key
    (``calibration_key``).

    Raises
    ------
    ValueError for ARL0 <= 1, p0 outside (0, 1), odds_ratio <= 1, negative births.

    >>> cal = calibrate_threshold(np.array([20.0, 100.0]), 0.5146, 1.0943, 500.0)
    >>> np.round(cal.threshold, 2).tolist(), bool(np.all(np.abs(cal.arl0 / 500 - 1) < 0.01))
    ([2.38, 3.5], True)
    """
    arl0 = _check_calibration_inputs(births, share_expected, odds_ratio, arl0, births_model)
    keys = calibration_key(births, share_expected, odds_ratio, arl0)
    return calibrate_nodes(*np.moveaxis(keys, -1, 0), births_model=births_model, states=states, rel_tol=rel_tol)


def calibrate_nodes(
    births: np.ndarray,
    share_expected: np.ndarray,
    odds_ratio: np.ndarray,
    arl0: np.ndarray,
    *,
    births_model: str = "poisson",
    states: int = 50,
    rel_tol: float = 0.01,
) -> Calibration:
    """Thresholds at exactly the given parameters: one chain per distinct row, no rounding.

    For grid nodes (``models.threshold_grid``) and for ``calibrate_threshold``, which rounds
    its keys first. Parameters, returns and raises as ``calibrate_threshold``; births below
    0.05 a period are calibrated as 0.05.

    >>> cal = calibrate_nodes(np.array([20.0, 20.0]), 0.5146, 1.0943, 500.0)
    >>> cal.threshold.round(2).tolist(), cal.states.tolist()
    ([2.39, 2.39], [200, 200])
    """
    arl0 = _check_calibration_inputs(births, share_expected, odds_ratio, arl0, births_model)
    births = np.maximum(np.asarray(births, dtype=float), MIN_BIRTHS)
    keys = np.stack(np.broadcast_arrays(births, np.asarray(share_expected, dtype=float),
                                        np.asarray(odds_ratio, dtype=float), arl0), axis=-1)
    unique, inverse = np.unique(keys.reshape(-1, 4), axis=0, return_inverse=True)
    solved = np.array([
        _calibrate_key(*map(float, row), births_model, states, rel_tol) for row in unique
    ]).reshape(-1, 4)
    shape = keys.shape[:-1]
    pick = solved[inverse.ravel()]
    return Calibration(
        threshold=pick[:, 0].reshape(shape),
        arl0=pick[:, 1].reshape(shape),
        rel_change=pick[:, 2].reshape(shape),
        states=pick[:, 3].astype(int).reshape(shape),
    )


def clear_calibration_cache() -> None:
    """Forget cached thresholds (for timing a cold calibration)."""
    _calibrate_key.cache_clear()


def calibration_cache_size() -> int:
    """Number of (births, p0, OR, ARL0) keys calibrated so far."""
    return _calibrate_key.cache_info().currsize


def split_false_alarm_budget(
    track: np.ndarray, budget_per_year: dict[str, float], periods_per_year: float
) -> np.ndarray:
    """In-control ARL0 per series from a system-wide budget of false alerts per year per track.

    Each track (e.g. ``"default"`` and ``"parity_2_within_policy"``) shares its budget equally
    among its series: ``ARL0_i = periods_per_year * n_series_in_track / budget``. With renewal
    after each alarm a series then raises ``periods_per_year / ARL0_i`` false alerts a year and
    the track ``budget``, by linearity whatever the dependence between nested areas. Equal
    shares are chosen because every false lead costs the enforcement team the same follow-up.

    Parameters
    ----------
    track : (series,) labels naming each series' track.
    budget_per_year : expected false alerts per year for each track (> 0).
    periods_per_year : e.g. ``models.constants.PERIODS_PER_YEAR["week"]``.

    Raises
    ------
    ValueError if a track has no budget or a budget gives ARL0 <= 1.

    >>> split_false_alarm_budget(np.array(["default"] * 3 + ["p2"]), {"default": 12, "p2": 4}, 52.0).tolist()
    [13.0, 13.0, 13.0, 13.0]
    """
    track = np.asarray(track)
    names, inverse, counts = np.unique(track, return_inverse=True, return_counts=True)
    missing = [str(n) for n in names if n not in budget_per_year]
    if missing:
        raise ValueError(f"no false-alarm budget for track(s) {missing}")
    budget = np.array([float(budget_per_year[str(n)]) for n in names])
    if not np.all(np.isfinite(budget) & (budget > 0)):
        raise ValueError("false-alarm budgets must be > 0 alerts per year")
    arl0 = periods_per_year * counts / budget
    if np.any(arl0 <= 1):
        raise ValueError(
            f"budget implies ARL0 <= 1 period for track(s) {names[arl0 <= 1].tolist()}: more false alerts"
            " than series x periods; lower the budget"
        )
    return arl0[inverse.ravel()]
