"""Binomial CUSUM of the share of boys, plain or risk-adjusted, with reset after an alarm.

The chart is Page's (1954) one-sided CUSUM of log-likelihood ratios for an upward shift of
the share of boys from ``p0`` to ``p1``, the shift being a constant odds ratio
``OR = odds(p1) / odds(p0)``. For one period with ``boys`` out of ``births``::

    X_t = boys_t * log(OR) - births_t * log(1 - p0_t + p0_t * OR)            (LLR increment)
    S_t = max(0, S_{t-1} + X_t),  S_{-1} = 0,  alarm when S_t > h, then S_t := 0 for t + 1

which is ``log dbinom(boys, births, p1) - log dbinom(boys, births, p0)`` exactly, the
statistic of ``surveillance::categoricalCUSUM`` with ``dfun = dbinom`` (Höhle & Paul 2008),
including its strict ``>`` and its restart after an alarm. A period with no births adds 0:
the chart carries over.

**Risk adjustment** (Steiner et al. 2000): with a trailing axis of risk classes (birth order
x policy status) every class ``c`` has its own expected share ``p0[..., c]`` and the same
odds ratio, and the period's increment is the sum of the class increments. A change in the
mix of classes alone then leaves the expected increment unchanged. One odds ratio for all
classes (rather than "+10 SRB points in every class") keeps the number of boys the
sufficient statistic, as in Steiner's chart; ``odds_ratio_for_shift`` turns an SRB shift into
that odds ratio at the series' pooled baseline SRB.

**Exactness of the vectorised reset.** Without alarms, ``S = C - min(0, cummin(C))`` with
``C = cumsum(X)``. To make this *identical* to the sequential recursion, increments are
quantised once to integers in units of ``2**-e`` (``e <= 44`` per series, chosen so nothing
can overflow int64); integer sums are associative, so cumsum-minus-running-minimum equals
the loop bit for bit. The only rounding is that of each increment (``<= 2**-45``). Resets
after an alarm are handled by restarting the formula after the first alarm of each series,
for the series that alarmed only, over windows that shrink geometrically: the work is about
``2 T + 32 * alarms`` per series and there is no loop over periods or series.

References: Page (1954) Biometrika 41:100-115; Steiner, Cook, Farewell & Treasure (2000)
Biostatistics 1:441-452; Höhle & Paul (2008) CSDA 52:4357-4368 (surveillance::categoricalCUSUM).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.srb import srb_raw

_MAX_EXPONENT = 44  # finest quantum 2**-44 ~ 5.7e-14 LLR units
_MIN_EXPONENT = 16  # coarser than 2**-16 would no longer be "exact to 1e-9"
_MIN_WINDOW = 32


@dataclass(frozen=True)
class CusumResult:
    """A chart aligned per period; every array is (series, periods).

    statistic : S_t after period t (before the reset that follows an alarm), LLR units.
    threshold : h used at period t, LLR units (a broadcast view).
    alarm : True where S_t > h_t; the chart restarts from 0 at t + 1.
    onset : first period of the current excursion (Page's change point + 1): the period after
        the last one at which the chart was at zero (or reset); -1 where S_t == 0.
    increment : X_t, the unquantised LLR increment.
    """

    statistic: np.ndarray
    threshold: np.ndarray
    alarm: np.ndarray
    onset: np.ndarray
    increment: np.ndarray


@dataclass(frozen=True)
class AlarmEvidence:
    """One entry per alarm, in (series, period) order; counts are summed from onset to period."""

    series: np.ndarray  # row index into the chart
    period: np.ndarray  # period index of the alarm
    onset: np.ndarray  # first period of the excursion that crossed
    statistic: np.ndarray
    threshold: np.ndarray
    boys: np.ndarray
    girls: np.ndarray
    expected_boys: np.ndarray  # sum of births * p0 over the excursion
    srb_observed: np.ndarray  # 100 * boys / girls (NaN when girls == 0)
    srb_expected: np.ndarray  # 100 * expected_boys / (births - expected_boys)


def odds_ratio_for_shift(srb_baseline: np.ndarray | float, shift_srb: float = 10.0) -> np.ndarray:
    """Odds ratio of an upward SRB shift: ``(srb_baseline + shift_srb) / srb_baseline``.

    SRB is 100 x the odds of a boy, so adding ``shift_srb`` points at ``srb_baseline``
    multiplies the odds by this ratio.

    Parameters
    ----------
    srb_baseline : baseline SRB, boys per 100 girls (> 0).
    shift_srb : shift to detect, SRB points (> 0); default +10.

    Raises
    ------
    ValueError if a baseline is not positive or the shift is not positive.

    >>> round(float(odds_ratio_for_shift(106.0)), 6)
    1.09434
    """
    srb_baseline = np.asarray(srb_baseline, dtype=float)
    if not np.all(np.isfinite(srb_baseline) & (srb_baseline > 0)):
        raise ValueError("srb_baseline must be finite and > 0 (boys per 100 girls)")
    if not shift_srb > 0:
        raise ValueError(f"shift_srb must be > 0 SRB points for an upward chart, got {shift_srb}")
    return (srb_baseline + shift_srb) / srb_baseline


def llr_increments(
    boys: np.ndarray, births: np.ndarray, share_expected: np.ndarray, odds_ratio: np.ndarray
) -> np.ndarray:
    """Binomial log-likelihood-ratio increments, summed over a trailing risk-class axis if any.

    ``boys * log(OR) - births * log(1 - p0 + p0 * OR)``; 0 where ``births == 0``. Trusts input:
    shapes broadcast, ``0 < p0 < 1`` where there are births, ``OR > 0``.
    """
    log_or = np.log(odds_ratio)
    with np.errstate(invalid="ignore"):
        drift = np.log1p(share_expected * (odds_ratio - 1.0))
    if not np.all(np.isfinite(drift)):  # p0 is not looked at where there are no births
        drift = np.where(births > 0, drift, 0.0)
    inc = np.multiply(boys, log_or, dtype=float)
    inc -= births * drift
    return inc.sum(axis=-1) if inc.ndim == 3 else inc


def _quantum_exponents(increment: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """Per-series exponent e so that sums of |increments| and h stay below 2**61 in units 2**-e."""
    reach = np.abs(increment).sum(axis=1) + np.abs(threshold).max(axis=1) + 1.0
    exponent = np.minimum(_MAX_EXPONENT, 61 - np.ceil(np.log2(reach)).astype(np.int64))
    if np.any(exponent < _MIN_EXPONENT):
        raise ValueError("LLR increments too large to chart exactly (sum |X| > 2**45 per series)")
    return exponent


def cusum_reset_int(z: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer CUSUM ``S_t = max(0, S_{t-1} + z_t)``, alarm when ``S_t > h_t``, restart at 0.

    Inner routine: trusts ``z`` int64 (series, periods) and ``h`` int64 broadcastable to it.
    Returns ``(statistic, alarm)``, identical to the sequential loop.

    >>> s, a = cusum_reset_int(np.array([[3, 4, -2, 5, 1]]), np.array([[6]]))
    >>> s.tolist(), a.tolist()
    ([[3, 7, 0, 5, 6]], [[False, True, False, False, False]])
    """
    n_series, n_periods = z.shape
    h = np.broadcast_to(h, z.shape)
    cum = np.cumsum(z, axis=1)
    stat = cum - np.minimum.accumulate(np.minimum(cum, 0), axis=1)
    alarm = np.zeros(z.shape, dtype=bool)
    over = stat > h
    rows = np.flatnonzero(over.any(axis=1))
    if rows.size == 0:
        return stat, alarm
    first = over[rows].argmax(axis=1)
    alarm[rows, first] = True
    pos = first + 1
    state = np.zeros(rows.size, dtype=np.int64)
    width = n_periods
    while True:
        live = pos < n_periods
        rows, pos, state = rows[live], pos[live], state[live]
        if rows.size == 0:
            return stat, alarm
        width = max(_MIN_WINDOW, width // 2)
        offsets = np.arange(width)
        cols = pos[:, None] + offsets
        valid = cols < n_periods
        cols_c = np.minimum(cols, n_periods - 1)
        rr = rows[:, None]
        e = state[:, None] + np.cumsum(np.where(valid, z[rr, cols_c], 0), axis=1)
        s = e - np.minimum.accumulate(np.minimum(e, 0), axis=1)
        hit = (s > h[rr, cols_c]) & valid
        has_hit = hit.any(axis=1)
        first = np.where(has_hit, hit.argmax(axis=1), valid.sum(axis=1) - 1)
        write = offsets <= first[:, None]
        stat[np.broadcast_to(rr, cols.shape)[write], cols[write]] = s[write]
        alarm[rows[has_hit], pos[has_hit] + first[has_hit]] = True
        state = np.where(has_hit, 0, s[np.arange(rows.size), first])
        pos = pos + first + 1


def excursion_onset(statistic: np.ndarray, alarm: np.ndarray) -> np.ndarray:
    """First period of the excursion each period belongs to; -1 where the chart is at zero.

    The chart is "at zero" after a period with ``S_t == 0`` and after an alarm (reset). The
    onset of period t is one past the last such period before t (0 if none).

    >>> excursion_onset(np.array([[0., 2., 3., 0., 1.]]), np.zeros((1, 5), bool)).tolist()
    [[-1, 1, 1, -1, 4]]
    """
    n_series, n_periods = statistic.shape
    at_zero = statistic == 0
    marks = np.where(at_zero | alarm, np.arange(n_periods, dtype=np.int32), np.int32(-1))
    onset = np.empty((n_series, n_periods), dtype=np.int32)
    onset[:, 0] = -1
    np.maximum.accumulate(marks[:, :-1], axis=1, out=onset[:, 1:])  # last zero before t
    onset += 1
    onset[at_zero] = -1
    return onset


def check_counts(boys: np.ndarray, births: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts as arrays, or ValueError: same 2-D/3-D shape, finite, 0 <= boys <= births."""
    boys = np.asarray(boys)
    births = np.asarray(births)
    if boys.shape != births.shape or boys.ndim not in (2, 3):
        raise ValueError(
            "boys and births must have the same shape (series, periods) or (series, periods, classes);"
            f" got {boys.shape} and {births.shape}"
        )
    is_integer = np.issubdtype(boys.dtype, np.integer) and np.issubdtype(births.dtype, np.integer)
    if not is_integer and not (np.all(np.isfinite(boys)) and np.all(np.isfinite(births))):
        raise ValueError("boys and births must be finite counts (no NaN)")
    if boys.min(initial=0) < 0 or np.any(boys > births):
        raise ValueError("counts must satisfy 0 <= boys <= births")
    return boys, births


def check_share(share_expected: np.ndarray, births: np.ndarray) -> np.ndarray:
    """p0 broadcast to the counts, or ValueError where it is outside (0, 1) and births > 0."""
    share = np.broadcast_to(np.asarray(share_expected, dtype=float), births.shape)
    bad = (births > 0) & ~((share > 0) & (share < 1))
    if np.any(bad):
        raise ValueError(
            f"expected share of boys p0 must lie in (0, 1) wherever there are births; {int(bad.sum())}"
            " cells are outside (NaN, 0, 1 or beyond)"
        )
    return share


def binomial_cusum(
    boys: np.ndarray,
    births: np.ndarray,
    share_expected: np.ndarray,
    threshold: np.ndarray | float,
    *,
    odds_ratio: np.ndarray | float,
) -> CusumResult:
    """Upward binomial CUSUM per series with reset after alarm (risk-adjusted with a class axis).

    Parameters
    ----------
    boys, births : counts, shape (series, periods), or (series, periods, classes) for the
        risk-adjusted chart of Steiner et al. (2000). ``0 <= boys <= births``.
    share_expected : in-control share of boys p0 (a proportion in (0, 1)), broadcastable to
        ``births``; use a prospective baseline (``models.baseline``). Ignored where births == 0.
    threshold : decision interval h > 0 in LLR units (natural log), broadcastable to
        (series, periods); see ``models.cusum_calibration.calibrate_threshold``.
    odds_ratio : shift to detect, odds(p1) / odds(p0) > 1, broadcastable to (series, 1) or
        (series, periods) — the same for every class; see ``odds_ratio_for_shift``.

    Returns
    -------
    CusumResult with (series, periods) arrays: statistic, threshold, alarm, onset, increment.

    Raises
    ------
    ValueError on mismatched shapes, negative or impossible counts, NaN, p0 outside (0, 1)
    where there are births, ``odds_ratio <= 1`` or ``threshold <= 0``.

    >>> r = binomial_cusum(np.array([[60, 70, 50, 75]]), np.array([[100, 100, 100, 100]]),
    ...                    0.515, 2.0, odds_ratio=1.1)
    >>> np.round(r.statistic, 3).tolist(), r.alarm.tolist(), r.onset.tolist()
    ([[0.697, 2.347, 0.0, 2.126]], [[False, True, False, True]], [[0, 0, -1, 3]])
    """
    boys, births = check_counts(boys, births)
    share = check_share(share_expected, births)
    odds = np.asarray(odds_ratio, dtype=float)
    if not np.all(np.isfinite(odds) & (odds > 1)):
        raise ValueError("odds_ratio must be finite and > 1 (an upward shift)")
    if births.ndim == 3 and odds.ndim == 2:
        odds = odds[..., None]  # the same odds ratio for every class (Steiner et al. 2000)
    h = np.asarray(threshold, dtype=float)
    if not np.all(np.isfinite(h) & (h > 0)):
        raise ValueError("threshold must be finite and > 0 (LLR units)")
    increment = llr_increments(boys, births, share, odds)
    h_full = np.broadcast_to(h, increment.shape)
    exponent = _quantum_exponents(increment, h_full)
    scale = np.ldexp(1.0, exponent)[:, None]
    scaled = np.multiply(increment, scale)
    z = np.rint(scaled, out=scaled).astype(np.int64)
    is_constant_in_time = h.ndim == 0 or (h.ndim == 2 and h.shape[1] == 1)
    h_int = np.floor((h_full[:, :1] if is_constant_in_time else h_full) * scale).astype(np.int64)
    stat_int, alarm = cusum_reset_int(z, h_int)  # S > floor(h 2**e)  <=>  S > h 2**e for integer S
    statistic = np.multiply(stat_int, np.ldexp(1.0, -exponent)[:, None])  # exact: a power of two
    return CusumResult(
        statistic=statistic,
        threshold=h_full,
        alarm=alarm,
        onset=excursion_onset(statistic, alarm),
        increment=increment,
    )


def alarm_evidence(
    result: CusumResult,
    boys: np.ndarray,
    births: np.ndarray,
    share_expected: np.ndarray,
    *,
    cells: tuple[np.ndarray, np.ndarray] | None = None,
) -> AlarmEvidence:
    """Counts since onset for every alarm (or for the given (series, period) cells).

    Parameters
    ----------
    result : the chart from ``binomial_cusum`` on the same inputs.
    boys, births, share_expected : as given to ``binomial_cusum`` (class axis allowed).
    cells : optional (series_index, period_index) arrays, e.g. the last period of open
        alerts; default: every alarm. Cells at zero get the period itself as onset.

    Returns
    -------
    AlarmEvidence, one entry per cell: boys, girls and expected boys summed over
    [onset, period], the observed and expected SRB, the statistic and threshold.

    >>> r = binomial_cusum(np.array([[60, 70, 50, 75]]), np.array([[100] * 4]), 0.515, 2.0,
    ...                    odds_ratio=1.1)
    >>> ev = alarm_evidence(r, np.array([[60, 70, 50, 75]]), np.array([[100] * 4]), 0.515)
    >>> ev.period.tolist(), ev.boys.tolist(), ev.girls.tolist(), round(float(ev.srb_expected[0]), 1)
    ([1, 3], [130.0, 75.0], [70.0, 25.0], 106.2)
    """
    boys, births = check_counts(boys, births)
    expected = np.where(births > 0, births * check_share(share_expected, births), 0.0)
    if births.ndim == 3:
        boys, births, expected = boys.sum(axis=-1), births.sum(axis=-1), expected.sum(axis=-1)
    series, period = np.nonzero(result.alarm) if cells is None else (np.asarray(c) for c in cells)
    onset = result.onset[series, period]
    onset = np.where(onset < 0, period, onset)
    rows, inverse = np.unique(series, return_inverse=True)

    def since_onset(values: np.ndarray) -> np.ndarray:
        padded = np.zeros((rows.size, values.shape[1] + 1))
        np.cumsum(values[rows], axis=1, out=padded[:, 1:])
        return padded[inverse, period + 1] - padded[inverse, onset]

    boys_sum, births_sum, expected_sum = since_onset(boys), since_onset(births), since_onset(expected)
    girls_sum = births_sum - boys_sum
    return AlarmEvidence(
        series=series,
        period=period,
        onset=onset,
        statistic=result.statistic[series, period],
        threshold=np.asarray(result.threshold[series, period], dtype=float),
        boys=boys_sum,
        girls=girls_sum,
        expected_boys=expected_sum,
        srb_observed=srb_raw(boys_sum, girls_sum),
        srb_expected=srb_raw(expected_sum, births_sum - expected_sum),
    )
