"""BYM2 Laplace fit of whole connected components, hyperparameters by marginal likelihood.

Model for one pool and one connected component of m areas (Riebler, Sorbye, Simpson & Rue
2016, Stat Methods Med Res 25:1145)::

    boys_i ~ Binomial(births_i, expit(eta_i)),   eta_i = beta + a u_i + e_i,
    a = sigma sqrt(phi),  e_i ~ N(0, tau),  tau = sigma^2 (1 - phi),
    u ~ scaled ICAR, precision s L (L the component's Laplacian, s the geometric mean of
        diag(L^+): Sorbye & Rue 2014), constrained to sum(u) = 0,
    beta ~ N(logit mu_pool, INTERCEPT_SD^2)      (one intercept per component).

Laplace approximation (Rue, Martino & Chopin 2009): the binomial likelihood is replaced by
its Gaussian approximation at ``x`` (working response ``x + (boys - births p) / d``,
precision ``d = births p (1 - p)``).  Marginalising ``e`` gives a sparse posterior precision
for ``u`` (``s L + diag(a^2 c)``, ``c = d / (1 + tau d)``) bordered by the intercept; it is
factorised exactly (``models.smoothing_spatial_blocks``), the constraint applied by
conditioning ("kriging", Rue & Held 2005 sec. 2.3.3), and ``eta_i`` follows given
``(beta, u)`` in closed form.  The mode is the fixed point of the Gaussian step with ``d``
frozen at the beta-binomial start (exact mode; variances from ``d`` at the start, within
~1e-3 relative of ``d`` at the mode, tested).

Hyperparameters (sigma, phi) per pool: the maximum of the approximate marginal posterior
``log p(y | sigma, phi) + log prior`` over ``(log sigma, logit phi)`` (INLA's mode, its
``int.strategy = "eb"``), with the Gaussian approximation at the start; priors: sigma
exponential with P(sigma > 1) = 0.01 (a PC prior, Simpson et al. 2017), phi uniform on
(0, 1).  Search: Newton steps on a finite-difference stencil, all pools of a chunk at once.
The hyperparameters are then integrated out over a small grid around the mode
(:func:`integration_nodes`); the summaries of the resulting Gaussian mixture are in
``models.smoothing_spatial_mixture``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse, special

from models.smoothing_spatial_blocks import LevelGraph, diag_inverse, factor, level_graph, solve

INTERCEPT_SD = 1.0       # prior sd of a component's intercept around the pooled logit
RIDGE = 1e-7             # tiny ridge on s L so the unconstrained system is proper; the
                         # constraint removes its null direction exactly
SIGMA_RATE = -np.log(0.01) / 1.0   # PC prior: P(sigma > 1 on the logit scale) = 0.01
LOG_SIGMA_BOUNDS = (np.log(1e-3), np.log(3.0))
LOGIT_PHI_BOUNDS = (special.logit(0.005), special.logit(0.995))
HYPER_STEPS = 3          # Newton steps on the hyperparameters
STENCIL = (0.25, 0.5)    # finite-difference step in (log sigma, logit phi)
MAX_STEP = (1.0, 2.0)    # largest Newton move per step
NODES_PER_AXIS = 5       # Gauss-Hermite nodes per hyperparameter axis (25 fits per pool)
FALLBACK_SD = (0.5, 1.0)  # sd of (log sigma, logit phi) if the Hessian is not negative definite
MAX_FIXED_POINT = 60
FIXED_POINT_TOL = 1e-7


@dataclass
class Component:
    """Connected components with one and the same graph: columns (count, m), graph, scale.

    Components whose adjacency is identical in their node order (e.g. every ring of ten
    villages) are fitted as extra rows of one batch; ``cols[j]`` maps the graph's nodes to
    the structure's columns for the j-th of them.
    """

    cols: np.ndarray
    graph: LevelGraph
    scale: float

    @property
    def count(self) -> int:
        return self.cols.shape[0]


def component(cols: np.ndarray, adj: sparse.csr_matrix) -> Component:
    """Level graph and BYM2 scale s of the connected graph ``adj`` (local 0/1 adjacency).

    ``diag(L^+)`` exactly: with one node grounded, ``(L + e_r e_r')^{-1} = X + 11'`` where X
    is the grounded inverse padded with zeros, and ``L^+ = (I - J) X (I - J)``, J = 11'/m.
    """
    graph = level_graph(adj)
    m = graph.size
    q = np.zeros((1, m))
    q[0, 0] = 1.0
    fac = factor(graph, 1.0, q, with_logdet=False)
    xdiag = diag_inverse(graph, fac)[0] - 1.0
    xsum = solve(graph, fac, np.ones((1, m, 1)))[0, :, 0] - m
    lplus = xdiag - 2.0 * xsum / m + xsum.sum() / m**2
    return Component(np.atleast_2d(cols), graph, float(np.exp(np.mean(np.log(lplus)))))


class Gaussian:
    """The Gaussian step for a batch of pools on one component at fixed (sigma, phi, d)."""

    def __init__(self, comp: Component, sig2, phi, d, mu0, with_logdet: bool):
        self.a = np.sqrt(sig2 * phi)[:, None]
        self.tau = (sig2 * (1.0 - phi))[:, None]
        self.d = d
        self.c = d / (1.0 + self.tau * d)
        self.mu0 = mu0
        self.comp = comp
        self.fac = factor(comp.graph, comp.scale, RIDGE + self.a**2 * self.c, with_logdet)
        fixed = solve(comp.graph, self.fac, np.stack([self.a * self.c, np.ones_like(d)], -1))
        self.xc, x1 = fixed[..., 0], fixed[..., 1]
        sc = self.xc.sum(1)
        self.s_b = self.c.sum(1) + INTERCEPT_SD**-2 - self.a[:, 0] * np.sum(self.c * self.xc, 1)
        self.g_u = x1 + self.xc * (sc / self.s_b)[:, None]
        self.g_b = -sc / self.s_b
        self.v_c = self.g_u.sum(1)

    def step(self, ytil):
        """Posterior mean of eta for working response ``ytil``; also the log marginal."""
        a, c = self.a, self.c
        cy = c * ytil
        xh = solve(self.comp.graph, self.fac, (a * cy)[..., None])[..., 0]
        h_b = cy.sum(1) + self.mu0 * INTERCEPT_SD**-2
        beta = (h_b - a[:, 0] * np.sum(c * xh, 1)) / self.s_b
        u = xh - beta[:, None] * self.xc
        usum = u.sum(1)
        t = usum / self.v_c
        self.beta, self.u = beta - self.g_b * t, u - self.g_u * t[:, None]  # constrained
        lin = self.beta[:, None] + a * self.u
        eta = (lin + self.tau * self.d * ytil) / (1.0 + self.tau * self.d)
        quad = (np.sum(cy * ytil, 1) + self.mu0**2 * INTERCEPT_SD**-2
                - a[:, 0] * np.sum(cy * u, 1) - h_b * beta)
        with np.errstate(divide="ignore"):
            logc = np.where(self.d > 0, np.log(c), 0.0).sum(1)
        loglik = 0.5 * (logc - self.fac.logdet - np.log(self.s_b) - quad
                        - np.log(self.v_c) - usum**2 / self.v_c)
        return eta, loglik

    def variance(self):
        """Posterior variance of eta (Gaussian approximation), constraint applied."""
        a, tau, d = self.a, self.tau, self.d
        dinv = diag_inverse(self.comp.graph, self.fac)
        vlin = ((1.0 - a * self.xc) ** 2 / self.s_b[:, None] + a**2 * dinv
                - (self.g_b[:, None] + a * self.g_u) ** 2 / self.v_c[:, None])
        return tau / (1.0 + tau * d) + vlin / (1.0 + tau * d) ** 2


def working(x, y, n, d):
    """Working response of the Gaussian approximation at x (0 births: x itself)."""
    return x + (y - n * special.expit(x)) / np.where(d > 0, d, 1.0)


def log_hyper_posterior(theta, comps, data):
    """Approximate log p(sigma, phi | y) + const per pool, summed over components.

    ``theta`` (pools, 2) = (log sigma, logit phi); ``data`` = per component (y, n, x0, d0,
    mu0), rows pool-major (pools x count), with x0 the start (logit of the EB posterior
    share) and d0 its binomial precision.
    """
    sigma, phi = np.exp(theta[:, 0]), special.expit(theta[:, 1])
    total = np.log(sigma) - SIGMA_RATE * sigma + np.log(phi) + np.log1p(-phi)
    for comp, (y, n, x0, d0, mu0) in zip(comps, data, strict=True):
        sig2, mix = np.repeat(sigma**2, comp.count), np.repeat(phi, comp.count)
        g = Gaussian(comp, sig2, mix, d0, mu0, with_logdet=True)
        total = total + g.step(working(x0, y, n, d0))[1].reshape(-1, comp.count).sum(1)
    return total


def fit_hyper(comps, data, theta0):
    """Maximise :func:`log_hyper_posterior` per pool by stencil Newton steps from theta0.

    Each step evaluates the centre, +-h on both axes and (+h, +h) (6 sweeps), builds the
    gradient and Hessian, and moves to the quadratic maximum (clipped to MAX_STEP; along
    the gradient when the Hessian is not negative definite).  The best point seen is kept.
    """
    lo = np.array([LOG_SIGMA_BOUNDS[0], LOGIT_PHI_BOUNDS[0]])
    hi = np.array([LOG_SIGMA_BOUNDS[1], LOGIT_PHI_BOUNDS[1]])
    h = np.array(STENCIL)
    limit = np.array(MAX_STEP)
    theta = np.clip(theta0, lo + h, hi - h)
    best_t, best_f = theta.copy(), np.full(theta.shape[0], -np.inf)
    for _ in range(HYPER_STEPS):
        theta = np.clip(theta, lo + h, hi - h)
        f = {k: log_hyper_posterior(theta + np.array(k) * h, comps, data)
             for k in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1), (1, 1))}
        for k, v in f.items():
            better = v > best_f
            best_t[better], best_f[better] = (theta + np.array(k) * h)[better], v[better]
        grad = np.stack([(f[1, 0] - f[-1, 0]) / (2 * h[0]), (f[0, 1] - f[0, -1]) / (2 * h[1])], 1)
        hxx = (f[1, 0] - 2 * f[0, 0] + f[-1, 0]) / h[0] ** 2
        hyy = (f[0, 1] - 2 * f[0, 0] + f[0, -1]) / h[1] ** 2
        hxy = (f[1, 1] - f[1, 0] - f[0, 1] + f[0, 0]) / (h[0] * h[1])
        det = hxx * hyy - hxy**2
        concave = (hxx < 0) & (det > 0)
        safe = np.where(concave, det, 1.0)
        newton = np.stack([-(hyy * grad[:, 0] - hxy * grad[:, 1]) / safe,
                           -(hxx * grad[:, 1] - hxy * grad[:, 0]) / safe], 1)
        move = np.where(concave[:, None], newton, np.sign(grad) * limit)
        theta = theta + np.clip(move, -limit, limit)
    theta = np.clip(theta, lo, hi)
    f = log_hyper_posterior(theta, comps, data)
    better = f > best_f
    best_t[better], best_f[better] = theta[better], f[better]
    return best_t, best_f, np.stack([np.stack([hxx, hxy], 1), np.stack([hxy, hyy], 1)], 1)


def integration_nodes(theta, f_hat, hess, comps, data):
    """Nodes and weights over (log sigma, logit phi) for integrating the hyperparameters out.

    A product Gauss-Hermite rule (NODES_PER_AXIS per axis) in the standardised coordinates
    ``theta = theta_hat + V Lambda^{1/2} z`` of the Gaussian approximation at the mode
    (``V Lambda V'`` = minus the inverse Hessian; INLA's grid strategy, Rue et al. 2009
    sec. 6.5), each rule weight multiplied by the ratio of the approximate posterior to that
    Gaussian, ``exp(f(theta_k) - f_hat + |z_k|^2 / 2)``, so skewness is followed.
    Returns nodes (K, pools, 2) and weights (pools, K) summing to one.
    """
    z1, w1 = np.polynomial.hermite_e.hermegauss(NODES_PER_AXIS)
    z = np.stack(np.meshgrid(z1, z1, indexing="ij"), -1).reshape(-1, 2)
    logw = np.log(np.outer(w1, w1).ravel() / w1.sum() ** 2)
    neg = -hess
    concave = (neg[:, 0, 0] > 0) & (np.linalg.det(neg) > 0)
    neg[~concave] = np.diag(1.0 / np.square(FALLBACK_SD))
    lam, vec = np.linalg.eigh(np.linalg.inv(neg))
    root = vec * np.sqrt(lam)[:, None, :]
    lo = np.array([LOG_SIGMA_BOUNDS[0], LOGIT_PHI_BOUNDS[0]])
    hi = np.array([LOG_SIGMA_BOUNDS[1], LOGIT_PHI_BOUNDS[1]])
    nodes = np.clip(theta[None] + np.einsum("pij,kj->kpi", root, z), lo, hi)
    logf = np.stack([log_hyper_posterior(t, comps, data) for t in nodes], 1)
    logw = logw[None] + logf - f_hat[:, None] + 0.5 * np.sum(z**2, 1)[None]
    logw = np.where(np.isfinite(logw), logw, -np.inf)
    w = np.exp(logw - logw.max(1, keepdims=True))
    return nodes, w / w.sum(1, keepdims=True)


def laplace_fit(comp, y, n, x0, d0, mu0, sig2, phi):
    """Mode and variance of eta on one component; converged flag per row (all per row)."""
    g = Gaussian(comp, sig2, phi, d0, mu0, with_logdet=False)
    x = x0.copy()
    step = np.full(x.shape[0], np.inf)
    for _ in range(MAX_FIXED_POINT):
        xn, _ = g.step(working(x, y, n, d0))
        step = np.max(np.abs(xn - x), axis=1)
        x = xn
        if np.all(step < FIXED_POINT_TOL):
            break
    ok = (step < FIXED_POINT_TOL) & np.all(np.isfinite(x), axis=1)
    return x, g.variance(), ok
