"""Conversions between the share of boys and the sex ratio at birth.

SRB is always boys per 100 girls: ``srb = 100 * boys / girls``. With ``share`` the
proportion of boys among births with a known sex, ``srb = 100 * share / (1 - share)``.
"""
from __future__ import annotations

import numpy as np
from scipy import stats


def srb_from_share(share: np.ndarray | float) -> np.ndarray:
    """SRB (boys per 100 girls) from the share of boys (a proportion in [0, 1)).

    >>> float(srb_from_share(0.5))
    100.0
    """
    share = np.asarray(share, dtype=float)
    with np.errstate(divide="ignore"):
        return 100.0 * share / (1.0 - share)


def share_from_srb(srb: np.ndarray | float) -> np.ndarray:
    """Share of boys (a proportion) from an SRB in boys per 100 girls.

    >>> round(float(share_from_srb(106.0)), 6)
    0.514563
    """
    srb = np.asarray(srb, dtype=float)
    return srb / (100.0 + srb)


def srb_raw(boys: np.ndarray, girls: np.ndarray) -> np.ndarray:
    """Observed SRB, ``100 * boys / girls``; NaN where ``girls == 0``.

    >>> srb_raw(np.array([53, 5]), np.array([50, 0])).tolist()
    [106.0, nan]
    """
    boys = np.asarray(boys, dtype=float)
    girls = np.asarray(girls, dtype=float)
    out = np.full(boys.shape, np.nan)
    np.divide(100.0 * boys, girls, out=out, where=girls > 0)
    return out


def clopper_pearson_srb(
    boys: np.ndarray, girls: np.ndarray, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson) interval for the share of boys, mapped to SRB.

    The interval for the binomial proportion ``boys / (boys + girls)`` is mapped
    through the monotone ``p -> 100 p / (1 - p)``; the upper end is ``inf`` when
    ``girls == 0`` and both ends are NaN when there are no births.

    Parameters
    ----------
    boys, girls : integer arrays of the same shape (births with a known sex).
    confidence : two-sided coverage, default 0.95.

    Returns
    -------
    (lower, upper) SRB bounds in boys per 100 girls.

    >>> lo, hi = clopper_pearson_srb(np.array([515]), np.array([485]))
    >>> round(float(lo[0]), 2), round(float(hi[0]), 2)
    (93.62, 120.45)
    """
    boys = np.asarray(boys, dtype=float)
    girls = np.asarray(girls, dtype=float)
    alpha = 1.0 - confidence
    births = boys + girls
    with np.errstate(invalid="ignore", divide="ignore"):
        lo_share = np.where(boys > 0, stats.beta.ppf(alpha / 2, boys, girls + 1), 0.0)
        hi_share = np.where(girls > 0, stats.beta.ppf(1 - alpha / 2, boys + 1, girls), 1.0)
    lo = srb_from_share(lo_share)
    hi = srb_from_share(hi_share)
    empty = births == 0
    lo[empty] = np.nan
    hi[empty] = np.nan
    return lo, hi
