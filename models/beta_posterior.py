"""Summaries of a Beta posterior on the share of boys, reported as SRB.

With ``p ~ Beta(a, b)`` the SRB is ``100 p / (1 - p)``, whose posterior mean is
``100 a / (b - 1)`` for ``b > 1`` (the odds of a Beta variable follow a beta-prime
distribution). Quantiles map through the monotone ``p -> 100 p / (1 - p)``, and
``P(SRB > L) = P(p > L / (100 + L))`` comes exactly from the Beta survival function.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from models.srb import share_from_srb, srb_from_share


@dataclass(frozen=True)
class BetaSummary:
    srb_mean: np.ndarray  # posterior mean of SRB (median where b <= 1, see is_fallback)
    srb_lo: np.ndarray
    srb_hi: np.ndarray
    prob_above: np.ndarray
    is_fallback: np.ndarray  # True where the mean is infinite and the median stands in


def summarise_beta(
    a: np.ndarray, b: np.ndarray, *, alert_level: float, confidence: float = 0.95
) -> BetaSummary:
    """Posterior mean, equal-tailed interval and exceedance probability of SRB.

    Parameters
    ----------
    a, b : positive arrays, the Beta posterior of the share of boys.
    alert_level : SRB (boys per 100 girls) whose exceedance probability is wanted.
    confidence : coverage of the equal-tailed interval.

    Where ``b <= 1`` the mean of SRB is infinite; the posterior median is reported
    instead and the cell is flagged (``is_fallback``), so no published value is NaN or inf.

    >>> s = summarise_beta(np.array([530.5]), np.array([500.5]), alert_level=110.0)
    >>> round(float(s.srb_mean[0]), 2), round(float(s.prob_above[0]), 3)
    (106.21, 0.276)
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    # Many cells share a posterior (small areas repeat the same counts): compute each
    # distinct (a, b) once. The inverse incomplete beta is the costly part.
    pairs, inverse = np.unique(np.stack([a.ravel(), b.ravel()]), axis=1, return_inverse=True)
    ua, ub = pairs
    tail = (1.0 - confidence) / 2.0
    lo = srb_from_share(special.betaincinv(ua, ub, tail))
    hi = srb_from_share(special.betaincinv(ua, ub, 1.0 - tail))
    is_fallback = ub <= 1.0
    mean = np.empty_like(ua)
    mean[~is_fallback] = 100.0 * ua[~is_fallback] / (ub[~is_fallback] - 1.0)
    mean[is_fallback] = srb_from_share(special.betaincinv(ua[is_fallback], ub[is_fallback], 0.5))
    prob_above = special.betaincc(ua, ub, float(share_from_srb(alert_level)))

    def spread(values: np.ndarray) -> np.ndarray:
        return values[inverse].reshape(a.shape)

    return BetaSummary(spread(mean), spread(lo), spread(hi), spread(prob_above), spread(is_fallback))


def jeffreys_summary(
    boys: np.ndarray, girls: np.ndarray, *, alert_level: float, confidence: float = 0.95
) -> BetaSummary:
    """No pooling: each cell's own Jeffreys posterior Beta(boys + 1/2, girls + 1/2).

    >>> s = jeffreys_summary(np.array([0]), np.array([0]), alert_level=110.0)
    >>> round(float(s.srb_mean[0]), 1), bool(s.is_fallback[0])
    (100.0, True)
    """
    boys = np.asarray(boys, dtype=float)
    girls = np.asarray(girls, dtype=float)
    return summarise_beta(boys + 0.5, girls + 0.5, alert_level=alert_level, confidence=confidence)
