"""Derived indicators a report shows beside the SRB: missing girls and funnel-plot limits.

Pure functions: numbers in, numbers out.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from models.srb import share_from_srb, srb_from_share


def missing_girls(boys: int, girls: int, srb_lo: float | None, srb_hi: float | None,
                  reference_srb: float) -> tuple[float, float | None, float | None]:
    """Estimated missing girls ``boys / R_ref - girls`` with an interval.

    ``R_ref`` is the reference SRB over 100 (1.06 by default): the girls expected for the
    boys born, had the sex ratio been natural, minus the girls actually born. A negative
    value means more girls than expected. The interval keeps the births fixed and moves
    the share of boys across the SRB interval ``[srb_lo, srb_hi]`` (an exact
    Clopper-Pearson interval of the same counts): births · (p / R_ref - (1 - p)) is
    increasing in p, so its ends come from the interval's ends.

    Parameters
    ----------
    boys, girls : births of each sex in the window.
    srb_lo, srb_hi : 95 % interval of the SRB, boys per 100 girls (None: no interval).
    reference_srb : boys per 100 girls expected without sex selection (e.g. 106).

    Returns
    -------
    (estimate, lower, upper) in girls.

    >>> estimate, lower, upper = missing_girls(1120, 1000, 104.0, 121.0, 106.0)
    >>> round(estimate, 1), lower < estimate < upper
    (56.6, True)
    """
    ratio = reference_srb / 100.0
    estimate = boys / ratio - girls
    births = boys + girls

    def at(srb: float | None) -> float | None:
        if srb is None or not np.isfinite(srb):
            return None
        share = float(share_from_srb(srb))
        return births * (share / ratio - (1.0 - share))

    return estimate, at(srb_lo), at(srb_hi)


def funnel_limits(births: np.ndarray, target_srb: float, coverage: float) -> tuple[np.ndarray, np.ndarray]:
    """Control limits of a funnel plot for the SRB against the number of births.

    Spiegelhalter (2005), "Funnel plots for comparing institutional performance", Stat Med
    24:1185: for an area with ``n`` births and a target proportion ``p0`` of boys, the limits
    are the exact binomial quantiles of ``Bin(n, p0)`` at (1 - coverage)/2 and (1 + coverage)/2,
    interpolated between integers as in his appendix, divided by n and mapped to SRB.

    Parameters
    ----------
    births : births (boys + girls) at which to draw the limits.
    target_srb : the centre line, boys per 100 girls.
    coverage : 0.95 or 0.998 for the usual two pairs of limits.

    Returns
    -------
    (lower, upper) SRB arrays aligned with ``births``.

    >>> lower, upper = funnel_limits(np.array([1000.0]), 106.0, 0.95)
    >>> bool(lower[0] < 106 < upper[0]), round(float(upper[0]), 0)
    (True, 120.0)
    """
    # the binomial needs whole births (scipy returns NaN for a fractional n)
    births = np.rint(np.asarray(births, dtype=float))
    p0 = float(share_from_srb(target_srb))
    bounds = []
    for tail in ((1 - coverage) / 2, (1 + coverage) / 2):
        quantile = stats.binom.ppf(tail, births, p0)
        # Spiegelhalter's interpolation makes the step function of ppf continuous in n
        below = stats.binom.cdf(quantile - 1, births, p0)
        at = stats.binom.cdf(quantile, births, p0)
        with np.errstate(invalid="ignore", divide="ignore"):
            alpha = np.where(at > below, (at - tail) / (at - below), 0.0)
        share = np.clip((quantile - alpha) / births, 1e-9, 1 - 1e-9)
        bounds.append(srb_from_share(share))
    return bounds[0], bounds[1]
