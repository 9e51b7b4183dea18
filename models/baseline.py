"""Prospective in-control share of boys for each series and period, with no look-ahead.

For period t the baseline pools the series' own births in the window of ``window_periods``
periods that ends ``guard_periods`` before t (periods ``[t - guard - window, t - guard)``;
all strictly before t), and shrinks it toward the parent series' baseline at the same period
with the weight of ``prior_births`` pseudo-births (a Beta prior centred on the parent)::

    p0[s, t] = (boys_hist + prior_births * p_parent[t]) / (births_hist + prior_births)

Where the series has no parent the reference SRB (default 106) stands in for it, with the
weight ``reference_prior_births`` (default ``prior_births``); with weight 0 a series without
parent is its own history alone, and the reference only where it has none. The guard
band keeps a shift out of the baseline that judges it while the chart is still climbing: it
must exceed the detection delays that matter, which for towns are a year or more. In
``python -m validate.cusum`` a 13-week guard let the rolling baseline absorb planted shifts
(median delay 1.57x an oracle's, false alerts 0.63x the budget; half the towns shifted, one
replicate); 52 weeks gave 1.15x and 0.95x.
With a trailing class axis (birth order x policy status) everything is per class, for the
risk-adjusted chart.

Flags say where the data could not support a baseline: ``is_reference`` (no own history and
the parent, recursively, had none either: p0 is the reference) and ``is_short_history``
(fewer than ``window_periods`` periods behind the guard band).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.constants import DEFAULT_REFERENCE_SRB
from models.srb import share_from_srb, srb_from_share


@dataclass(frozen=True)
class Baseline:
    """Arrays shaped like the counts given: (series, periods[, classes])."""

    share: np.ndarray  # p0, proportion of boys
    srb: np.ndarray  # 100 p0 / (1 - p0), boys per 100 girls
    history_births: np.ndarray  # own births pooled
    own_weight: np.ndarray  # history_births / (history_births + prior_births)
    is_reference: np.ndarray  # p0 is the reference SRB (no history here or up the tree)
    is_short_history: np.ndarray  # fewer than window_periods periods of history


def trailing_sum(values: np.ndarray, window_periods: int, guard_periods: int) -> np.ndarray:
    """Sum over periods ``[t - guard - window, t - guard)`` along axis 1 (inner routine).

    >>> trailing_sum(np.array([[1, 2, 3, 4, 5]]), 2, 1).tolist()
    [[0, 0, 1, 3, 5]]
    """
    n_periods = values.shape[1]
    padded = np.concatenate([np.zeros_like(values[:, :1]), np.cumsum(values, axis=1)], axis=1)
    end = np.clip(np.arange(n_periods) - guard_periods, 0, None)
    start = np.clip(end - window_periods, 0, None)
    return padded[:, end] - padded[:, start]


def prospective_baseline(
    boys: np.ndarray,
    births: np.ndarray,
    *,
    window_periods: int = 104,
    guard_periods: int = 52,
    prior_births: float = 1000.0,
    parent: Baseline | None = None,
    parent_index: np.ndarray | None = None,
    reference_srb: float | np.ndarray = DEFAULT_REFERENCE_SRB,
    reference_prior_births: float | None = None,
) -> Baseline:
    """Baseline share of boys p0[s, t] from periods before t only, shrunk toward the parent.

    Parameters
    ----------
    boys, births : counts (series, periods) or (series, periods, classes); 0 <= boys <= births.
    window_periods : periods pooled (default 104: two years of weeks).
    guard_periods : periods skipped just before t (default 52: a year of weeks), >= 0.
    prior_births : weight of the parent baseline, in pseudo-births (> 0).
    parent : the parents' own ``Baseline`` (parents x periods[, classes]); compute the tree
        top-down. Without it the reference SRB is the parent.
    parent_index : (series,) row of each series' parent in ``parent``.
    reference_srb : SRB used where nothing is known (boys per 100 girls), scalar or per class.
    reference_prior_births : weight of the reference for series without parent, in
        pseudo-births (>= 0; default ``prior_births``). 0: the reference only where a series
        has no history at all (for a city, whose own history soon dwarfs any prior, and
        whose strata need not have the reference's SRB).

    Returns
    -------
    Baseline with share, srb, history_births, own_weight, is_reference, is_short_history.

    Raises
    ------
    ValueError on shape mismatch, impossible counts, window < 1, guard < 0, a parent
    without ``parent_index`` (or the reverse), a reference SRB <= 0 or a negative
    ``reference_prior_births``.

    >>> b = prospective_baseline(np.array([[0, 530, 0]]), np.array([[0, 1000, 0]]),
    ...                          window_periods=2, guard_periods=0)
    >>> np.round(b.srb, 1).tolist(), b.is_reference.tolist()
    ([[106.0, 106.0, 109.3]], [[True, True, False]])
    """
    boys, births = np.asarray(boys, dtype=float), np.asarray(births, dtype=float)
    if boys.shape != births.shape or boys.ndim not in (2, 3):
        raise ValueError(f"boys and births must share a (series, periods[, classes]) shape: {boys.shape}"
                         f" vs {births.shape}")
    if not (np.all(np.isfinite(births)) and np.all((boys >= 0) & (boys <= births))):
        raise ValueError("counts must be finite with 0 <= boys <= births")
    if window_periods < 1 or guard_periods < 0 or not prior_births > 0:
        raise ValueError("need window_periods >= 1, guard_periods >= 0 and prior_births > 0")
    if reference_prior_births is not None and not reference_prior_births >= 0:
        raise ValueError("reference_prior_births must be >= 0")
    if (parent is None) != (parent_index is None):
        raise ValueError("give parent and parent_index together")
    reference = np.asarray(reference_srb, dtype=float)
    if not np.all(np.isfinite(reference) & (reference > 0)):
        raise ValueError("reference_srb must be > 0 boys per 100 girls")
    weight = prior_births
    if parent is None:
        parent_share = np.broadcast_to(share_from_srb(reference), births.shape)
        parent_is_reference = np.ones(births.shape, dtype=bool)
        weight = prior_births if reference_prior_births is None else reference_prior_births
    else:
        parent_index = np.asarray(parent_index)
        if parent_index.shape != births.shape[:1] or parent.share.shape[1:] != births.shape[1:]:
            raise ValueError("parent_index must be (series,) and parent shaped (parents, periods[, classes])")
        parent_share = parent.share[parent_index]
        parent_is_reference = parent.is_reference[parent_index]
    history_boys = trailing_sum(boys, window_periods, guard_periods)
    history_births = trailing_sum(births, window_periods, guard_periods)
    pooled = history_births + weight
    share = np.divide(history_boys + weight * parent_share, pooled, out=np.array(parent_share, dtype=float),
                      where=pooled > 0)  # no history and no prior weight: the reference
    periods_behind = np.arange(births.shape[1]) - guard_periods
    is_short = periods_behind < window_periods
    if births.ndim == 3:
        is_short = is_short[:, None]
    return Baseline(
        share=share,
        srb=srb_from_share(share),
        history_births=history_births,
        own_weight=np.divide(history_births, pooled, out=np.zeros(births.shape), where=pooled > 0),
        is_reference=(history_births == 0) & parent_is_reference,
        is_short_history=np.broadcast_to(is_short, births.shape),
    )
