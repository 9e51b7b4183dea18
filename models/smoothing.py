"""Small-area Bayesian smoothing of the sex ratio at birth (issue 3).

One public function, :func:`smooth_srb`, with four estimators of the share of boys
``p = boys / (boys + girls)`` per cell (cell = area x stratum x trailing window), all
reported on the SRB scale (boys per 100 girls, ``100 p / (1 - p)``):

``"none"``
    No pooling: each cell's own Jeffreys posterior Beta(boys + 1/2, girls + 1/2).
``"eb"``
    Beta-binomial empirical Bayes per pool, prior by marginal maximum likelihood
    (Griffiths 1973, Biometrics 29:637; moment start of Kleinman 1973, JASA 68:46), the
    posterior averaged over the uncertainty of the prior precision (see
    :mod:`models.smoothing_eb`).
``"hierarchical"``
    The same beta-binomial, but each cell's prior mean is its parent area's posterior
    mean (village -> town -> district -> city), processed top-down; one prior precision
    per pool, integrated over its (normal-approximation) likelihood.
``"spatial"``
    BYM2 (Riebler, Sorbye, Simpson & Rue 2016, Stat Methods Med Res 25:1145) on the logit
    of p, one intercept and one sum-to-zero constraint per connected component, fitted by
    a Laplace approximation (Rue, Martino & Chopin 2009, JRSS-B 71:319) with plug-in
    hyperparameters.  See :mod:`models.smoothing_spatial`.

Details, corner cases and the choice of default: ``models/README-smoothing.md``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.constants import DEFAULT_ALERT_LEVEL
from models.smoothing_beta import srb_summary
from models.smoothing_eb import JEFFREYS, eb_posterior, tree_posterior
from models.smoothing_spatial import check_edges, spatial_posterior

METHODS = ("none", "eb", "hierarchical", "spatial")
MAX_NAMED = 20  # cell indices named per message; is_fallback marks all of them


@dataclass(frozen=True)
class SmoothedSRB:
    """Per-cell posterior summaries, aligned with the input arrays (boys per 100 girls)."""

    srb_smoothed: np.ndarray
    srb_lo: np.ndarray
    srb_hi: np.ndarray
    prob_above: np.ndarray
    is_fallback: np.ndarray
    messages: tuple[str, ...]


def _name(ids: np.ndarray, what: str) -> str:
    ids = np.asarray(ids)
    shown = ", ".join(str(int(i)) for i in ids[:MAX_NAMED])
    more = f" and {ids.size - MAX_NAMED} more" if ids.size > MAX_NAMED else ""
    return f"{what} {shown}{more}"


class _Notes:
    """Collects fallback flags and messages."""

    def __init__(self, size: int):
        self.flag = np.zeros(size, bool)
        self.messages: list[str] = []

    def cells(self, mask: np.ndarray, text: str, flag: bool = True) -> None:
        ids = np.flatnonzero(mask)
        if ids.size:
            if flag:
                self.flag[ids] = True
            self.messages.append(f"{text}: {_name(ids, 'cells')}")

    def pools(self, pool_ids: np.ndarray, bad: np.ndarray, text: str) -> None:
        if np.any(bad):
            self.messages.append(f"{text}: {_name(pool_ids[bad], 'pools')}")


# --- input checks (inner routines trust their input) --------------------------------------

def _int_array(x, name: str, size: int | None = None) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {arr.shape}")
    fractional = arr.size and not np.issubdtype(arr.dtype, np.integer) and (
        not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)))
    if fractional:
        raise ValueError(f"{name} must hold integers")
    if size is not None and arr.size != size:
        raise ValueError(f"{name} has {arr.size} entries but boys has {size}")
    return arr.astype(np.int64)


def _check_counts(boys, girls, pool):
    y = _int_array(boys, "boys")
    girls = _int_array(girls, "girls", y.size)
    pool = _int_array(pool, "pool", y.size)
    for name, arr in (("boys", y), ("girls", girls)):
        if np.any(arr < 0):
            raise ValueError(f"{name} is negative at {_name(np.flatnonzero(arr < 0), 'cells')}")
    return y.astype(float), (y + girls).astype(float), pool


def _check_options(method: str, alert_level: float, confidence: float) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not (np.isfinite(alert_level) and alert_level > 0):
        raise ValueError(f"alert_level must be a positive SRB, got {alert_level}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def _dense_rank(pool: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct pool ids, index of each cell's pool) = np.unique(..., return_inverse).

    Pipeline pool ids are already small non-negative ranks: then one bincount, no sort.
    """
    if pool.size and pool.min() >= 0 and pool.max() < 4 * pool.size:
        present = np.bincount(pool) > 0
        return np.flatnonzero(present), (np.cumsum(present) - 1)[pool]
    return np.unique(pool, return_inverse=True)


def tree_depth(parent: np.ndarray) -> np.ndarray:
    """Depth of every cell below its root (-1 parent); ValueError on a cycle."""
    depth = np.zeros(parent.size, np.int64)
    cur = parent.copy()
    for _ in range(parent.size + 1):
        up = cur >= 0
        if not up.any():
            return depth
        depth[up] += 1
        cur[up] = parent[cur[up]]
    raise ValueError("parent contains a cycle: no path to a root (-1) from some cells")


def _check_parent(parent, size: int) -> np.ndarray:
    if parent is None:
        raise ValueError('method "hierarchical" needs parent (cell index of the parent, -1 root)')
    parent = _int_array(parent, "parent", size)
    bad = (parent < -1) | (parent >= size) | (parent == np.arange(size))
    if bad.any():
        raise ValueError(f"parent must be -1 or another cell's index: {_name(np.flatnonzero(bad), 'cells')}")
    return parent


# --- estimators -----------------------------------------------------------------------

def _eb_beta(y, n, g, n_pools, pool_ids, notes):
    """Posterior Beta(A, B) per cell under the per-pool beta prior (precision integrated)."""
    A, B, fit = eb_posterior(y, n, g, n_pools)
    notes.pools(pool_ids, ~fit.ok, "no pooling (Jeffreys Beta(1/2, 1/2) prior): fewer than two "
                "areas with births, or no boys / no girls at all in")
    notes.pools(pool_ids, fit.clipped, "between-area variance estimate <= 0, clipped to zero "
                "(MML precision at its cap, the pool's births) in")
    notes.pools(pool_ids, fit.ok & ~fit.converged,
                "marginal likelihood did not converge; last ascent iterate kept in")
    ok = fit.ok[g]
    notes.cells(~ok, "no pooling for cells of an unpoolable pool")
    notes.cells(~fit.converged[g], "prior from a non-converged fit")
    notes.cells(ok & (n == 0), "no births: estimate is the pool prior")
    return A, B, fit


def _hier_beta(y, n, g, n_pools, pool_ids, parent, notes):
    """Top-down: roots by plain EB within their pool, children shrink to the parent."""
    depth = tree_depth(parent)
    A = np.empty(y.size)
    B = np.empty(y.size)
    root = depth == 0
    ridx = np.flatnonzero(root)
    rp, rg = np.unique(g[ridx], return_inverse=True)
    A[ridx], B[ridx], _ = _eb_beta(y[ridx], n[ridx], rg, rp.size, pool_ids[rp], notes)
    for d in range(1, int(depth.max(initial=0)) + 1):
        idx = np.flatnonzero(depth == d)
        up = parent[idx]
        total = A[up] + B[up]
        m = A[up] / total
        m_var = m * (1 - m) / (total + 1)
        lp, lg = np.unique(g[idx], return_inverse=True)
        A[idx], B[idx], clip = tree_posterior(y[idx], n[idx], lg, lp.size, m, m_var)
        notes.pools(pool_ids[lp], clip, f"depth {d}: between-area variance around the parent "
                    "estimated at zero in")
    notes.cells((depth > 0) & (n == 0), "no births: estimate is the parent's posterior")
    return A, B


def smooth_srb(boys, girls, *, pool, method="eb", parent=None, area=None, edges=None,
               alert_level=DEFAULT_ALERT_LEVEL, confidence=0.95) -> SmoothedSRB:
    """Posterior mean, interval and exceedance probability of the SRB for every cell.

    Parameters
    ----------
    boys, girls : int arrays, one entry per cell (births with known sex in the window).
    pool : int array; cells with the same id share one prior (same level, stratum, window).
    method : ``"none"``, ``"eb"`` (default), ``"hierarchical"`` or ``"spatial"``.
    parent : int array for ``"hierarchical"``: index of the parent area's cell (same
        stratum and window, one level up) or -1 for a root.
    area, edges : for ``"spatial"``: area index per cell, and a (k, 2) int array of
        undirected neighbour pairs of area indices, each pair listed once.
    alert_level : SRB (boys per 100 girls) for ``prob_above``; default 110.
    confidence : coverage of the equal-tailed interval; default 0.95.

    Returns
    -------
    SmoothedSRB with ``srb_smoothed`` (posterior mean SRB), ``srb_lo``/``srb_hi``
    (equal-tailed interval, boys per 100 girls), ``prob_above`` = P(SRB > alert_level),
    ``is_fallback`` and ``messages`` (naming pool ids and cell indices).  No NaN anywhere.

    Raises
    ------
    ValueError
        Negative or non-integer counts, arrays of different lengths, an unknown method,
        a bad ``parent`` (out of range, self, cycle), bad ``area``/``edges`` (unknown
        areas, self-loops, duplicate or reversed pairs, one area twice in a pool).

    Examples
    --------
    >>> r = smooth_srb([60, 45, 52, 500], [40, 55, 50, 470], pool=[0, 0, 0, 0])
    >>> bool(np.all(r.srb_lo < r.srb_smoothed)), bool(np.all(r.srb_smoothed < r.srb_hi))
    (True, True)
    >>> [round(float(v), 1) for v in r.srb_smoothed]  # 4 areas: M barely identified, mild pull
    [125.4, 96.3, 106.6, 106.7]
    """
    y, n, pool = _check_counts(boys, girls, pool)
    _check_options(method, alert_level, confidence)
    pool_ids, g = _dense_rank(pool)
    notes = _Notes(y.size)
    if method == "none":
        return _finish_beta(JEFFREYS + y, JEFFREYS + n - y, notes, alert_level, confidence)
    if method == "eb":
        A, B, _ = _eb_beta(y, n, g, pool_ids.size, pool_ids, notes)
        return _finish_beta(A, B, notes, alert_level, confidence)
    if method == "hierarchical":
        parent = _check_parent(parent, y.size)
        A, B = _hier_beta(y, n, g, pool_ids.size, pool_ids, parent, notes)
        return _finish_beta(A, B, notes, alert_level, confidence)
    return _spatial(y, n, g, pool_ids, (area, edges), notes, alert_level, confidence)


def _spatial(y, n, g, pool_ids, graph, notes, alert_level, confidence) -> SmoothedSRB:
    area, edges = check_edges(*graph, g, y.size)
    eb_notes = _Notes(y.size)
    A, B, fit = _eb_beta(y, n, g, pool_ids.size, pool_ids, eb_notes)
    prior = (fit.mu, fit.M_mix, fit.ok & fit.converged, A / (A + B))
    out = spatial_posterior(y, n, g, area, edges, prior, alert_level, confidence)
    beta = _finish_beta(A, B, eb_notes, alert_level, confidence)
    fb = out.fallback
    notes.cells(fb, "spatial fit unavailable (island, unpoolable pool or non-convergence): "
                "beta-binomial EB estimate used")
    notes.messages.extend(out.messages)
    notes.flag |= fb & beta.is_fallback
    notes.messages.extend(m for m in beta.messages if "cells" in m or "pools" in m)
    pick = [np.where(fb, getattr(beta, k), v) for k, v in
            (("srb_smoothed", out.mean), ("srb_lo", out.lo), ("srb_hi", out.hi),
             ("prob_above", out.prob))]
    return SmoothedSRB(*pick, notes.flag, tuple(notes.messages))


def _finish_beta(A, B, notes, alert_level, confidence) -> SmoothedSRB:
    mean, lo, hi, prob, no_mean = srb_summary(A, B, alert_level, confidence)
    notes.cells(no_mean, "posterior mean SRB infinite (no girls, weak prior): posterior "
                "median reported")
    return SmoothedSRB(mean, lo, hi, prob, notes.flag.copy(), tuple(notes.messages))
