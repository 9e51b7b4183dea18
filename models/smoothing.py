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
    per pool, integrated over its (normal-approximation) likelihood under the prior uniform
    on the between-area sd (as ``"eb"``; no PC prior: it hid real outliers).
``"spatial"``
    BYM2 (Riebler, Sorbye, Simpson & Rue 2016, Stat Methods Med Res 25:1145) on the logit
    of p, one intercept and one sum-to-zero constraint per connected component, fitted by
    a Laplace approximation (Rue, Martino & Chopin 2009, JRSS-B 71:319) with plug-in
    hyperparameters.  See :mod:`models.smoothing_spatial`.

Details, corner cases and the choice of default: ``models/README-smoothing.md``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from models.constants import DEFAULT_ALERT_LEVEL
from models.smoothing_beta import mixture_summary, srb_summary
from models.smoothing_eb import EB_PRIORS, JEFFREYS, Mixture, eb_mixture, tree_posterior
from models.smoothing_spatial import check_edges, spatial_posterior

METHODS = ("none", "eb", "hierarchical", "spatial")
MAX_NAMED = 20  # cell indices named per message; is_fallback marks all of them


@dataclass(frozen=True)
class Note:
    """One corner case met: its text, and the cells it concerns.

    ``per == "cell"``: ``cells`` are the affected cells; ``per == "pool"``: one cell of each
    affected pool (the caller names the pool from it: level, stratum and period).
    A note of the spatial fit may come as text only (``cells`` empty).
    """

    text: str
    cells: np.ndarray
    per: str = "cell"


@dataclass(frozen=True)
class SmoothedSRB:
    """Per-cell posterior summaries, aligned with the input arrays (boys per 100 girls).

    ``share_mean`` is the posterior mean share of boys (beta-family methods; None for
    ``spatial``), the quantity ``spdep::EBest`` estimates.
    """

    srb_smoothed: np.ndarray
    srb_lo: np.ndarray
    srb_hi: np.ndarray
    prob_above: np.ndarray
    is_fallback: np.ndarray
    messages: tuple[str, ...]
    notes: tuple[Note, ...] = ()
    share_mean: np.ndarray | None = field(default=None, repr=False)


def _name(ids: np.ndarray, what: str) -> str:
    ids = np.asarray(ids)
    shown = ", ".join(str(int(i)) for i in ids[:MAX_NAMED])
    more = f" and {ids.size - MAX_NAMED} more" if ids.size > MAX_NAMED else ""
    return f"{what} {shown}{more}"


class _Notes:
    """Collects fallback flags, messages (with indices) and structured notes."""

    def __init__(self, g: np.ndarray, pool_ids: np.ndarray):
        self.flag = np.zeros(g.size, bool)
        self.messages: list[str] = []
        self.notes: list[Note] = []
        ranks, first = np.unique(g, return_index=True)  # first cell of each pool
        self._first = dict(zip(pool_ids[ranks].tolist(), first.tolist(), strict=True))

    def cells(self, mask: np.ndarray, text: str, flag: bool = True) -> None:
        ids = np.flatnonzero(mask)
        if ids.size:
            if flag:
                self.flag[ids] = True
            self.messages.append(f"{text}: {_name(ids, 'cells')}")
            self.notes.append(Note(text, ids))

    def pools(self, pool_ids: np.ndarray, bad: np.ndarray, text: str) -> None:
        if np.any(bad):
            self.messages.append(f"{text}: {_name(pool_ids[bad], 'pools')}")
            cells = np.array([self._first[p] for p in pool_ids[bad].tolist()], np.int64)
            self.notes.append(Note(text, cells, "pool"))


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

def _eb_mix(y, n, g, n_pools, pool_ids, notes, prior="mml", integrate=True, moments=True):
    """Posterior mixture per cell under the per-pool beta prior (precision integrated)."""
    mix, fit = eb_mixture(y, n, g, n_pools, prior, integrate, moments)
    notes.pools(pool_ids, ~fit.ok, "no pooling, Jeffreys prior (fewer than two areas with births, "
                "or all boys / all girls in the pool)")
    notes.pools(pool_ids, fit.clipped, "between-area variance estimate <= 0, clipped to zero "
                "(precision M capped at the pool's births; the integration over M still adds "
                "between-area variance)")
    notes.pools(pool_ids, fit.ok & ~fit.converged,
                "marginal likelihood did not converge in 60 steps: last ascent iterate kept")
    ok = fit.ok[g]
    notes.cells(~ok, "no pooling, Jeffreys prior (pool of one area, or all boys / "
                "all girls)")
    notes.cells(ok & ~fit.converged[g], "prior from a non-converged fit")
    notes.cells(ok & (n == 0), "no births: estimate is the pool prior")
    return mix, fit


def _leave_one_out(A_up, B_up, y, n):
    """The parent's posterior without the child's own births (the parent's counts include
    them; using them twice would pull the child's prior mean toward its own data).

    The parent's Beta(A, B) is conjugate in its counts to first order, so its posterior
    from the other children is Beta(A - boys, B - girls); at least half a birth of each
    sex is kept (a parent whose only child is this cell keeps a Jeffreys-weak prior).
    Returns the prior mean and its variance for the child.
    """
    a = np.maximum(A_up - y, JEFFREYS)
    b = np.maximum(B_up - (n - y), JEFFREYS)
    mean = a / (a + b)
    return mean, mean * (1 - mean) / (a + b + 1)


def _hier_mix(y, n, g, pool_ids, parent, notes):
    """Top-down: roots by plain EB within their pool, children shrink to the parent."""
    depth = tree_depth(parent)
    is_parent = np.zeros(y.size, bool)  # the matched Beta is needed only where a child reads it
    is_parent[parent[parent >= 0]] = True
    K = None
    row = np.empty(y.size, np.int64)
    prior_mean, var_mean = np.empty(y.size), np.empty(y.size)
    A, B = np.empty(y.size), np.empty(y.size)
    grids, weights, offset = [], [], 0
    for d in range(int(depth.max(initial=0)) + 1):
        idx = np.flatnonzero(depth == d)
        lp, lg = np.unique(g[idx], return_inverse=True)
        if d == 0:
            part, _ = _eb_mix(y[idx], n[idx], lg, lp.size, pool_ids[lp], _Sub(notes, idx))
        else:
            up = parent[idx]
            m, m_var = _leave_one_out(A[up], B[up], y[idx], n[idx])
            part, clip = tree_posterior(y[idx], n[idx], lg, lp.size, m, m_var, is_parent[idx])
            notes.pools(pool_ids[lp], clip, f"depth {d}: between-area variance around the "
                        "parents estimated at zero (precision M capped at the pool's births)")
        K = part.M.shape[1] if K is None else K
        row[idx] = part.row + offset
        prior_mean[idx], var_mean[idx] = part.prior_mean, part.var_mean
        A[idx], B[idx] = part.A, part.B
        grids.append(part.M)
        weights.append(part.w)
        offset += part.M.shape[0]
    notes.cells((depth > 0) & (n == 0), "no births: estimate is the parent's posterior")
    mix = Mixture(y, n, row, prior_mean, var_mean, np.vstack(grids), np.vstack(weights))
    mix.A, mix.B = A, B
    return mix


class _Sub:
    """The notes of a subset of cells (the roots), indices mapped back to all cells."""

    def __init__(self, notes: _Notes, idx: np.ndarray):
        self.notes, self.idx = notes, idx

    def cells(self, mask, text, flag=True):
        full = np.zeros(self.notes.flag.size, bool)
        full[self.idx[mask]] = True
        self.notes.cells(full, text, flag)

    def pools(self, pool_ids, bad, text):
        self.notes.pools(pool_ids, bad, text)


def smooth_srb(boys, girls, *, pool, method="eb", parent=None, area=None, edges=None,
               alert_level=DEFAULT_ALERT_LEVEL, confidence=0.95, eb_prior="mml",
               integrate=True) -> SmoothedSRB:
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
    eb_prior, integrate : options of ``"eb"``.  ``eb_prior="mml"`` (default) fits the prior
        by marginal maximum likelihood, ``"moments"`` by the moment estimator alone;
        ``integrate=True`` (default) averages the posterior over the uncertainty of the
        prior precision M, ``False`` plugs the fitted M in.  ``eb_prior="moments",
        integrate=False`` is ``spdep::EBest(family="binomial")`` (``share_mean`` equals its
        ``estmm``) wherever the moment between-area variance is positive and M is below
        its cap, the pool's births.

    Returns
    -------
    SmoothedSRB with ``srb_smoothed`` (posterior mean SRB), ``srb_lo``/``srb_hi``
    (equal-tailed interval, boys per 100 girls), ``prob_above`` = P(SRB > alert_level),
    ``is_fallback``, ``messages`` (naming pool ids and cell indices) and ``notes`` (the
    same, as cell indices for the caller to name).  No NaN anywhere.

    Raises
    ------
    ValueError
        Negative or non-integer counts, arrays of different lengths, an unknown method or
        EB option, a bad ``parent`` (out of range, self, cycle), bad ``area``/``edges``
        (unknown areas, self-loops, duplicate or reversed pairs, one area twice in a pool).

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
    if eb_prior not in EB_PRIORS:
        raise ValueError(f"eb_prior must be one of {EB_PRIORS}, got {eb_prior!r}")
    pool_ids, g = _dense_rank(pool)
    notes = _Notes(g, pool_ids)
    if method == "none":
        mean, lo, hi, prob, no_mean = srb_summary(JEFFREYS + y, JEFFREYS + n - y, alert_level,
                                                  confidence)
        return _result((mean, lo, hi, prob), no_mean, notes, (JEFFREYS + y) / (2 * JEFFREYS + n))
    if method == "eb":
        mix, _ = _eb_mix(y, n, g, pool_ids.size, pool_ids, notes, eb_prior, integrate, moments=False)
        return _finish_mix(mix, notes, alert_level, confidence, same_prior=True)
    if method == "hierarchical":
        parent = _check_parent(parent, y.size)
        mix = _hier_mix(y, n, g, pool_ids, parent, notes)
        return _finish_mix(mix, notes, alert_level, confidence)
    return _spatial(y, n, g, pool_ids, (area, edges), notes, alert_level, confidence)


def _spatial(y, n, g, pool_ids, graph, notes, alert_level, confidence) -> SmoothedSRB:
    area, edges = check_edges(*graph, g, y.size)
    eb_notes = _Notes(g, pool_ids)
    mix, fit = _eb_mix(y, n, g, pool_ids.size, pool_ids, eb_notes)
    prior = (fit.mu, fit.M_mix, fit.ok & fit.converged, mix.A / (mix.A + mix.B))
    out = spatial_posterior(y, n, g, area, edges, prior, alert_level, confidence)
    beta = _finish_mix(mix, eb_notes, alert_level, confidence, same_prior=True)
    fb = out.fallback
    notes.cells(fb, "spatial fit unavailable (island, unpoolable pool or non-convergence): "
                "beta-binomial EB estimate used")
    notes.messages.extend(out.messages)
    notes.notes.extend(Note(m, np.empty(0, np.int64)) for m in out.messages)
    notes.flag |= fb & beta.is_fallback
    notes.messages.extend(m for m in beta.messages if "cells" in m or "pools" in m)
    notes.notes.extend(beta.notes)
    pick = [np.where(fb, getattr(beta, k), v) for k, v in
            (("srb_smoothed", out.mean), ("srb_lo", out.lo), ("srb_hi", out.hi),
             ("prob_above", out.prob))]
    return SmoothedSRB(*pick, notes.flag, tuple(notes.messages), tuple(notes.notes))


def _finish_mix(mix: Mixture, notes, alert_level, confidence, same_prior=False) -> SmoothedSRB:
    """Exact mixture summaries; with ``same_prior`` (every cell of a pool has the same prior,
    as in ``eb``) cells with the same pool, boys and births are summarised once."""
    width = mix.widths()
    if not same_prior:
        summary = mixture_summary(mix.components, mix.y.size, alert_level, confidence, width)
    else:
        span = int(mix.n.max(initial=0)) + 1
        key = (mix.row.astype(np.int64) * span + mix.n.astype(np.int64)) * span + mix.y.astype(np.int64)
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        part = mixture_summary(lambda idx: mix.components(first[idx]), first.size, alert_level,
                               confidence, width[first])
        summary = tuple(col[inverse] for col in part)
    return _result(summary[:4], summary[4], notes, summary[5])


def _result(summary, no_mean, notes, share_mean) -> SmoothedSRB:
    notes.cells(no_mean, "mean SRB infinite or outside the interval (few girls): "
                "posterior median shown")
    return SmoothedSRB(*summary, notes.flag.copy(), tuple(notes.messages), tuple(notes.notes),
                       share_mean)
