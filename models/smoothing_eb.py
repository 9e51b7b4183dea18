"""Beta-binomial empirical Bayes, plain and along the area tree (internal, trusted input).

Model (per pool g): boys_i | p_i ~ Binomial(n_i, p_i), p_i ~ Beta(mu_g M_g, (1 - mu_g) M_g),
with the prior fitted by marginal maximum likelihood of the beta-binomial
(Griffiths 1973; Kleinman 1973 moments as the start).  The between-area variance of the
share is ``V = mu (1 - mu) / (M + 1)``.  ``M`` lives in ``[M_MIN, N_g]`` (N_g births in the
pool): a moment estimate ``V <= 0`` is clipped to zero between-area variance, which here
means the largest precision ``M = N_g`` - the prior then equals the complete-pooling
posterior of the common share, so every cell is pulled to the pooled rate except for its
own births' weight ``n_i / (N_g + n_i)``.

The Newton iterations run for all pools at once; per-pool sums use ``np.bincount``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from models.smoothing_beta import trigamma

M_MIN = 1.0  # weakest prior: worth one birth
MAX_ITER = 60
TOL = 1e-9
LL_TOL = 1e-9  # a log-likelihood gain below this ends the search (flat ridge towards V = 0)
JEFFREYS = 0.5


@dataclass
class PoolFit:
    """Prior per pool: share mean ``mu``, precision ``M``; ``ok`` False = no pooling."""

    mu: np.ndarray
    M: np.ndarray
    ok: np.ndarray
    clipped: np.ndarray
    converged: np.ndarray


def _sum(g: np.ndarray, w: np.ndarray, n_pools: int) -> np.ndarray:
    return np.bincount(g, weights=w, minlength=n_pools)


def fit_moments(y, n, g, n_pools):
    """Moment prior (Kleinman 1973; the estimator of spdep::EBest(family="binomial")).

    ``s2 = sum n_i (p_i - mu)^2 / N``, ``V = (s2 - mu (1 - mu) / nbar) / (1 - 1 / nbar)``
    with ``nbar = N / k`` over the k cells with births; V <= 0 is clipped to zero.
    """
    N = _sum(g, n, n_pools)
    Y = _sum(g, y, n_pools)
    k = _sum(g, (n > 0).astype(float), n_pools)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = Y / N
        p = np.where(n > 0, y / np.maximum(n, 1), 0.0)
        s2 = _sum(g, n * (p - mu[g]) ** 2, n_pools) / N
        nbar = N / k
        V = (s2 - mu * (1 - mu) / nbar) / (1 - 1 / nbar)
        ok = (k >= 2) & (nbar > 1) & (mu > 0) & (mu < 1)
        clipped = ok & ~(V > 0)
        M = np.where(V > 0, mu * (1 - mu) / V - 1.0, np.inf)
    M = np.where(ok, np.clip(M, M_MIN, np.maximum(N, M_MIN)), 1.0)
    mu = np.where(ok, mu, 0.5)
    return PoolFit(mu, M, ok, clipped, np.ones(n_pools, bool))


def _bb_loglik(y, n, g, a, b, n_pools):
    """Beta-binomial log-likelihood per pool, without the binomial coefficients."""
    M = a + b
    ag, bg, Mg = a[g], b[g], M[g]
    cell = (special.gammaln(y + ag) - special.gammaln(ag) + special.gammaln(n - y + bg)
            - special.gammaln(bg) - special.gammaln(n + Mg) + special.gammaln(Mg))
    return _sum(g, cell, n_pools)


def _score_hessian(y, n, g, mu, M, n_pools):
    """Gradient and Hessian of the log-likelihood in (logit mu, log M), per pool."""
    a, b = mu * M, (1 - mu) * M
    ag, bg, Mg = a[g], b[g], M[g]
    ga = _sum(g, special.digamma(y + ag) - special.digamma(ag), n_pools)
    gb = _sum(g, special.digamma(n - y + bg) - special.digamma(bg), n_pools)
    gm = _sum(g, special.digamma(n + Mg) - special.digamma(Mg), n_pools)
    haa = _sum(g, trigamma(y + ag) - trigamma(ag), n_pools)
    hbb = _sum(g, trigamma(n - y + bg) - trigamma(bg), n_pools)
    hmm = _sum(g, trigamma(n + Mg) - trigamma(Mg), n_pools)
    g_a, g_b = ga - gm, gb - gm          # d ll / da, d ll / db
    h_aa, h_bb, h_ab = haa - hmm, hbb - hmm, -hmm
    s = M * mu * (1 - mu)                 # d a / d logit(mu)
    G = np.stack([s * (g_a - g_b), a * g_a + b * g_b])
    h11 = s * s * (h_aa - 2 * h_ab + h_bb) + (g_a - g_b) * s * (1 - 2 * mu)
    h22 = a * a * h_aa + 2 * a * b * h_ab + b * b * h_bb + a * g_a + b * g_b
    h12 = s * ((a * h_aa + b * h_ab) - (a * h_ab + b * h_bb)) + s * (g_a - g_b)
    return G, h11, h22, h12


def _newton_step(G, h11, h22, h12):
    """Newton direction where the Hessian is negative definite, else scaled ascent."""
    det = h11 * h22 - h12 * h12
    nd = (h11 < 0) & (det > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        a1 = G[0] / np.maximum(np.abs(h11), np.abs(G[0]))
        a2 = G[1] / np.maximum(np.abs(h22), np.abs(G[1]))
        d1 = np.where(nd, -(h22 * G[0] - h12 * G[1]) / det, a1)
        d2 = np.where(nd, -(-h12 * G[0] + h11 * G[1]) / det, a2)
    return np.clip(np.nan_to_num(d1), -2, 2), np.clip(np.nan_to_num(d2), -2, 2)


def _backtrack(ll_fn, ll0, propose, n_act):
    """Halve steps pool by pool until the log-likelihood does not drop (at most 12 times).

    ``propose(t)`` returns the candidate parameters for step fractions t; ``ll_fn(params,
    pools_mask)`` evaluates the log-likelihood for the pools in the mask (others 0).
    Returns the accepted parameters and a mask of pools where no ascent was found.
    """
    t = np.ones(n_act)
    todo = np.ones(n_act, bool)
    cand = propose(t)
    accepted = [c.copy() for c in cand]
    gain = np.zeros(n_act)
    for _half in range(12):
        ll1 = ll_fn(cand, todo)
        ok = todo & (ll1 >= ll0 - 1e-10 * np.abs(ll0))
        for acc, c in zip(accepted, cand, strict=True):
            acc[ok] = c[ok]
        gain[ok] = ll1[ok] - ll0[ok]
        todo &= ~ok
        if not todo.any():
            break
        t = np.where(todo, t / 2, t)
        cand = propose(t)
    return accepted, todo, gain


def fit_mml(y, n, g, n_pools, start: PoolFit) -> PoolFit:
    """Marginal maximum likelihood for (mu, M) per pool, all pools in one Newton loop.

    Bounds: ``log M`` in ``[log M_MIN, log N_g]``; backtracking keeps every step an ascent.
    """
    N = _sum(g, n, n_pools)
    hi = np.log(np.maximum(N, M_MIN))
    lo = np.full(n_pools, np.log(M_MIN))
    th = special.logit(start.mu)
    om = np.log(start.M)
    active = start.ok.copy()
    conv = ~start.ok
    for _ in range(MAX_ITER):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        sel = active[g]
        local = np.cumsum(active) - 1
        gl = local[g[sel]]
        ys, ns = y[sel], n[sel]
        mu, M = special.expit(th[idx]), np.exp(om[idx])
        G, h11, h22, h12 = _score_hessian(ys, ns, gl, mu, M, idx.size)
        d1, d2 = _newton_step(G, h11, h22, h12)
        ll0 = _bb_loglik(ys, ns, gl, mu * M, (1 - mu) * M, idx.size)

        def propose(t, idx=idx, d1=d1, d2=d2):
            return [th[idx] + t * d1, np.clip(om[idx] + t * d2, lo[idx], hi[idx])]

        def ll_fn(par, mask, ys=ys, ns=ns, gl=gl, k=idx.size):
            m = mask[gl]
            mu1, M1 = special.expit(par[0]), np.exp(par[1])
            return _bb_loglik(ys[m], ns[m], gl[m], mu1 * M1, (1 - mu1) * M1, k)

        (th1, om1), stuck, gain = _backtrack(ll_fn, ll0, propose, idx.size)
        moved = np.maximum(np.abs(th1 - th[idx]), np.abs(om1 - om[idx]))
        th[idx], om[idx] = th1, om1
        done = (moved < TOL) | stuck | (gain < LL_TOL)
        conv[idx[done]] = True
        active[idx[done]] = False
    clipped = start.ok & (om >= hi - 1e-9)
    return PoolFit(special.expit(th), np.exp(om), start.ok, clipped, conv)


# --- hierarchical: prior mean per cell from the parent's posterior -----------------------

def _ll_tree(y, n, g, m, M, n_pools):
    a, b, Mg = m * M[g], (1 - m) * M[g], M[g]
    cell = (special.gammaln(y + a) - special.gammaln(a) + special.gammaln(n - y + b)
            - special.gammaln(b) - special.gammaln(n + Mg) + special.gammaln(Mg))
    return _sum(g, cell, n_pools)


def _tree_score(y, n, g, m, M, n_pools):
    """d ll / d log M and d2 ll / d (log M)^2 per pool, prior means m fixed per cell."""
    Mg = M[g]
    a, b = m * Mg, (1 - m) * Mg
    d = (m * (special.digamma(y + a) - special.digamma(a))
         + (1 - m) * (special.digamma(n - y + b) - special.digamma(b))
         - special.digamma(n + Mg) + special.digamma(Mg))
    h = (m * m * (trigamma(y + a) - trigamma(a)) + (1 - m) ** 2 * (trigamma(n - y + b)
         - trigamma(b)) - trigamma(n + Mg) + trigamma(Mg))
    G = M * _sum(g, d, n_pools)
    return G, G + M * M * _sum(g, h, n_pools)


def fit_tree_precision(y, n, g, m, n_pools, start_M):
    """MML of the prior precision M per pool when cell i's prior mean is m_i (fixed).

    Returns (M, converged, clipped); bounds and backtracking as in :func:`fit_mml`.
    """
    N = _sum(g, n, n_pools)
    lo, hi = np.full(n_pools, np.log(M_MIN)), np.log(np.maximum(N, M_MIN))
    om = np.clip(np.log(start_M), lo, hi)
    active = np.ones(n_pools, bool)
    for _ in range(MAX_ITER):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        sel = active[g]
        gl = (np.cumsum(active) - 1)[g[sel]]
        ys, ns, ms = y[sel], n[sel], m[sel]
        M = np.exp(om[idx])
        G, H = _tree_score(ys, ns, gl, ms, M, idx.size)
        step = np.where(H < 0, -G / np.where(H < 0, H, -1.0),
                        G / np.maximum(np.abs(H), np.abs(G)))
        step = np.clip(np.nan_to_num(step), -2, 2)
        ll0 = _ll_tree(ys, ns, gl, ms, M, idx.size)

        def propose(t, idx=idx, step=step):
            return [np.clip(om[idx] + t * step, lo[idx], hi[idx])]

        def ll_fn(par, mask, ys=ys, ns=ns, gl=gl, ms=ms, k=idx.size):
            c = mask[gl]
            return _ll_tree(ys[c], ns[c], gl[c], ms[c], np.exp(par[0]), k)

        (om1,), stuck, gain = _backtrack(ll_fn, ll0, propose, idx.size)
        done = (np.abs(om1 - om[idx]) < TOL) | stuck | (gain < LL_TOL)
        om[idx] = om1
        active[idx[done]] = False
    return np.exp(om), ~active, om >= hi - 1e-9
