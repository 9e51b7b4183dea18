"""Tests of the spatial (BYM2, Laplace) smoother: models/smoothing_spatial*.py (issue 3).

References are independent dense computations with numpy (named in each test); every
random draw has a fixed seed and every tolerance says where it comes from.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, sparse, special, stats
from scipy.sparse import csgraph

from models import smoothing_spatial_fit
from models.smoothing import smooth_srb
from models.smoothing_eb import eb_posterior
from models.smoothing_spatial import NO_EDGES, spatial_posterior
from models.smoothing_spatial_blocks import diag_inverse, factor, level_graph, solve
from models.smoothing_spatial_fit import (
    INTERCEPT_SD,
    Gaussian,
    component,
    fit_hyper,
    laplace_fit,
    log_hyper_posterior,
    working,
)
from models.smoothing_spatial_mixture import mixture_summary
from models.srb import share_from_srb
from validate.smoothing import dense_laplace, lattice_edges, sparse_laplace

OLD_TILING_LIMIT = 300  # components above this many areas used to be cut into tiles


def _adjacency(edges, m):
    adj = sparse.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(m, m))
    return ((adj + adj.T) > 0).astype(float).tocsr()


def _no_nan(r):
    for k in ("srb_smoothed", "srb_lo", "srb_hi", "prob_above"):
        assert np.all(np.isfinite(getattr(r, k))), k


def _irregular_graph(seed, m=40):
    """A connected irregular graph: a random spanning tree plus random chords."""
    rng = np.random.default_rng(seed)
    tree = np.stack([np.arange(1, m), rng.integers(0, np.arange(1, m))], 1)
    chords = rng.integers(0, m, (2 * m, 2))
    chords = chords[chords[:, 0] != chords[:, 1]]
    pairs = np.unique(np.sort(np.concatenate([tree, chords]), 1), axis=0)
    return pairs


def _one_pool(boys, girls, edges):
    y, n = boys.astype(float), (boys + girls).astype(float)
    g = np.zeros(y.size, np.int64)
    A, B, fit = eb_posterior(y, n, g, 1)
    prior = (fit.mu, fit.M_mix, fit.ok & fit.converged, A / (A + B))
    out = spatial_posterior(y, n, g, np.arange(y.size), edges, prior, 110.0, 0.95)
    return out, float(special.logit(fit.mu[0])), A / (A + B)


# --- exact sparse algebra -------------------------------------------------------------------

def test_block_factor_solve_and_selected_inverse_equal_dense_algebra():
    # Every step is exact; against numpy's dense solve / slogdet / inv the differences are
    # rounding only: <= cond(A) * 1e-16 with cond(A) <= (8 s + q_max) / q_min ~ 1e3 here.
    pairs = _irregular_graph(1)
    m = 40
    adj = _adjacency(pairs, m)
    graph = level_graph(adj)
    lap = csgraph.laplacian(adj).toarray()
    rng = np.random.default_rng(2)
    q = rng.uniform(0.05, 3.0, (3, m))
    fac = factor(graph, 0.7, q, with_logdet=True)
    rhs = rng.normal(size=(3, m, 2))
    x = solve(graph, fac, rhs)
    dinv = diag_inverse(graph, fac)
    for k in range(3):
        A = 0.7 * lap + np.diag(q[k])
        np.testing.assert_allclose(x[k], np.linalg.solve(A, rhs[k]), atol=1e-11)
        assert fac.logdet[k] == pytest.approx(np.linalg.slogdet(A)[1], abs=1e-10)
        np.testing.assert_allclose(dinv[k], np.diag(np.linalg.inv(A)), atol=1e-12)


def test_bym2_scale_is_geometric_mean_of_pseudo_inverse_diagonal():
    # Sorbye & Rue (2014): s = exp(mean log diag L^+); reference numpy.linalg.pinv.
    pairs = _irregular_graph(3, 30)
    adj = _adjacency(pairs, 30)
    lplus = np.linalg.pinv(csgraph.laplacian(adj).toarray())
    comp = component(np.arange(30), adj)
    assert comp.scale == pytest.approx(np.exp(np.mean(np.log(np.diag(lplus)))), rel=1e-10)


def test_gaussian_step_equals_dense_bym2_posterior_and_marginal_likelihood():
    # Dense reference: prior covariance of eta = sd_b^2 11' + sigma^2 ((1-phi) I + phi L^+/s),
    # working response ytil with precision d; posterior mean/variance by dense inversion and
    # log N(ytil; mu0, Cov + D^-1) by scipy.  The only approximation in the sparse form is
    # the ridge RIDGE = 1e-7 on s L: relative effect <= RIDGE / (s rho_1) ~ 1e-6 here
    # (rho_1 = 2 - 2 cos(pi / 6) on a 6 x 5 lattice), so tolerances 1e-5 relative.
    rows, cols = 6, 5
    m = rows * cols
    edges = lattice_edges(rows, cols)
    adj = _adjacency(edges, m)
    comp = component(np.arange(m), adj)
    lplus = np.linalg.pinv(csgraph.laplacian(adj).toarray())
    rng = np.random.default_rng(3)
    n = rng.integers(0, 100, m).astype(float)  # includes cells with no births
    y = rng.binomial(n.astype(int), 0.52).astype(float)
    x0 = special.logit(0.51) + rng.normal(0, 0.02, m)
    d0 = n * special.expit(x0) * (1 - special.expit(x0))
    mu0 = np.array([special.logit(0.515)])
    ytil = working(x0, y, n, d0)
    obs = d0 > 0
    gaps = []
    for sig2, phi in ((0.002, 0.3), (0.01, 0.8), (0.0005, 0.99), (0.02, 0.02)):
        cov = INTERCEPT_SD**2 + sig2 * ((1 - phi) * np.eye(m) + phi * lplus / comp.scale)
        post = np.linalg.inv(np.linalg.inv(cov) + np.diag(d0))
        mean = post @ (np.linalg.solve(cov, np.full(m, mu0[0])) + d0 * ytil)
        marg = stats.multivariate_normal(np.full(obs.sum(), mu0[0]),
                                         cov[np.ix_(obs, obs)] + np.diag(1 / d0[obs]))
        g = Gaussian(comp, np.array([sig2]), np.array([phi]), d0[None], mu0, with_logdet=True)
        eta, loglik = g.step(ytil[None])
        np.testing.assert_allclose(eta[0], mean, rtol=1e-5)
        np.testing.assert_allclose(g.variance()[0], np.diag(post), rtol=1e-5)
        gaps.append(loglik[0] - marg.logpdf(ytil[obs]))
    # the marginal likelihood is right up to a constant free of (sigma, phi)
    assert np.ptp(gaps) < 1e-5


# --- components, intercepts, constraint ------------------------------------------------------

def test_disconnected_components_have_own_intercept_and_sum_to_zero():
    # Two 6 x 6 lattices (true SRB 100 and 120) and an island.  The two lattices have the
    # same graph, so they are fitted as two rows of one batch; each component's intercept
    # must sit at its own pooled logit (within 3 pooled SEs, ~0.03 on the logit; not pulled
    # to the other component, 0.18 away), and its structured effect u must sum to zero to
    # rounding (constraint by conditioning: |sum u| <= 1e-9, vs the u scale ~1).
    rng = np.random.default_rng(4)
    e = np.concatenate([lattice_edges(6, 6), lattice_edges(6, 6) + 36])
    share = np.r_[np.full(36, share_from_srb(100.0)), np.full(36, share_from_srb(120.0)),
                  share_from_srb(110.0)]
    n = rng.integers(50, 200, 73)
    boys = rng.binomial(n, share)
    r = smooth_srb(boys, n - boys, pool=np.zeros(73, np.int64), method="spatial",
                   area=np.arange(73), edges=e)
    _no_nan(r)
    assert r.is_fallback[72] and not r.is_fallback[:72].any()
    assert any("1 area(s) without a neighbour" in msg and "islands" in msg for msg in r.messages)
    out, mu0, start = _one_pool(boys, n - boys, e)
    y, nn = boys.astype(float), n.astype(float)
    for sl in (slice(0, 36), slice(36, 72)):
        cells = np.arange(73)[sl]
        comp = component(np.arange(36), _adjacency(e[: len(e) // 2], 36))
        x0 = special.logit(start[cells])[None]
        d0 = nn[cells] * special.expit(x0) * (1 - special.expit(x0))
        sig2, phi = np.array([out.sigma[0] ** 2]), np.array([out.phi[0]])
        g = Gaussian(comp, sig2, phi, d0, np.array([mu0]), with_logdet=False)
        x, _, ok = laplace_fit(comp, y[cells][None], nn[cells][None], x0, d0,
                               np.array([mu0]), sig2, phi)
        g.step(working(x, y[cells][None], nn[cells][None], d0))
        pooled = special.logit(boys[sl].sum() / n[sl].sum())
        se = 1 / np.sqrt(n[sl].sum() * 0.25)
        assert ok.all()
        assert abs(g.beta[0] - pooled) < 3 * se
        assert abs(g.u[0].sum()) < 1e-9


def test_large_component_matches_dense_whole_component_fit():
    # 18 x 18 = 324 areas, above the old 300-area tiling limit: one component, fitted whole
    # at the fitted (sigma, phi).  Reference: validate.smoothing.dense_laplace (dense
    # covariance, Newton with the Hessian refreshed).  Mode: same fixed point, tolerance
    # 1e-7 on the logit.  Variances use d frozen at the EB start: relative change
    # <= 2 max|p - p0| / (p (1 - p)) (first-order perturbation of (Q + D)^-1).
    rows = cols = 18
    assert rows * cols > OLD_TILING_LIMIT
    rng = np.random.default_rng(5)
    m = rows * cols
    r_, c_ = np.divmod(np.arange(m), cols)
    logit = np.log(1.06) + 0.05 * np.sin(r_ / 3) + 0.04 * np.cos(c_ / 4)
    n = rng.integers(20, 400, m)
    boys = rng.binomial(n, special.expit(logit))
    edges = lattice_edges(rows, cols)
    out, mu0, start = _one_pool(boys, n - boys, edges)
    assert not out.fallback.any()
    sigma, phi = out.sigma[0], out.phi[0]
    x, var, ok = sparse_laplace(boys, n - boys, edges, mu0, sigma, phi, start)
    x_dense, var_dense = dense_laplace(boys, n - boys, edges, mu0, sigma, phi, start)
    assert ok
    np.testing.assert_allclose(x, x_dense, atol=1e-6)
    p = special.expit(x)
    rel = 2 * np.max(np.abs(p - start) / (p * (1 - p)))
    assert rel < 0.2
    np.testing.assert_allclose(var, var_dense, rtol=rel)


def test_coverage_is_nominal_when_the_truth_is_bym2():
    # Data drawn from the model itself (sigma 0.05, phi 0.7, 20 x 20 lattice, 3 seeds =
    # 1,200 cells): 95 % intervals should cover ~0.95.  Binomial SE of the mean coverage
    # sqrt(.95 .05 / 1200) = 0.006, inflated ~3x for within-seed correlation and plug-in
    # hyperparameters: accept 0.91-0.99.
    rows = cols = 20
    m = rows * cols
    edges = lattice_edges(rows, cols)
    lplus = np.linalg.pinv(csgraph.laplacian(_adjacency(edges, m)).toarray())
    lplus /= np.exp(np.mean(np.log(np.diag(lplus))))
    w, U = np.linalg.eigh(lplus)
    cover = []
    for seed in (1, 2, 3):
        rng = np.random.default_rng(seed)
        u = U @ (np.sqrt(np.clip(w, 0, None)) * rng.normal(size=m))
        eta = np.log(1.06) + 0.05 * (np.sqrt(0.3) * rng.normal(size=m) + np.sqrt(0.7) * u)
        n = rng.integers(20, 401, m)
        boys = rng.binomial(n, special.expit(eta))
        r = smooth_srb(boys, n - boys, pool=np.zeros(m, np.int64), method="spatial",
                       area=np.arange(m), edges=edges)
        truth = 100 * np.exp(eta)
        cover.append(np.mean((r.srb_lo <= truth) & (truth <= r.srb_hi)))
    assert 0.91 <= np.mean(cover) <= 0.99


# --- hyperparameters ---------------------------------------------------------------------------

def test_hyperparameter_search_reaches_the_maximum():
    # The stencil-Newton search must land where Nelder-Mead (scipy, tight tolerances) finds
    # the maximum of the same log posterior: within 0.02 log-units, 1/25 of the 0.5 drop
    # that marks one standard error, i.e. well inside the hyperparameters' own uncertainty.
    rows, cols = 12, 12
    m = rows * cols
    rng = np.random.default_rng(6)
    r_, c_ = np.divmod(np.arange(m), cols)
    logit = np.log(1.06) + 0.05 * np.sin(r_ / 3) + rng.normal(0, 0.02, m)
    n = rng.integers(50, 400, m).astype(float)
    y = rng.binomial(n.astype(int), special.expit(logit)).astype(float)
    comp = component(np.arange(m), _adjacency(lattice_edges(rows, cols), m))
    x0 = np.full((1, m), special.logit(y.sum() / n.sum()))
    d0 = n * special.expit(x0) * (1 - special.expit(x0))
    data = [(y[None], n[None], x0, d0, x0[:, 0])]
    theta, f_hat, _ = fit_hyper([comp], data, np.array([[np.log(0.03), 0.0]]))
    f = log_hyper_posterior(theta, [comp], data)[0]
    assert f == pytest.approx(f_hat[0], abs=1e-12)
    best = optimize.minimize(lambda t: -log_hyper_posterior(t[None], [comp], data)[0], theta[0],
                             method="Nelder-Mead", options={"xatol": 1e-5, "fatol": 1e-8})
    assert f >= -best.fun - 0.02


# --- fallbacks -----------------------------------------------------------------------------

def test_no_adjacency_gives_one_message_naming_the_key_and_the_eb_estimate():
    rng = np.random.default_rng(7)
    n = rng.integers(20, 300, 50)
    boys = rng.binomial(n, 0.52)
    pool = np.repeat([0, 1], 25)
    r = smooth_srb(boys, n - boys, pool=pool, method="spatial", area=np.tile(np.arange(25), 2),
                   edges=np.zeros((0, 2), np.int64))
    eb = smooth_srb(boys, n - boys, pool=pool, method="eb")
    assert [m for m in r.messages if "neighbour pairs" in m] == [NO_EDGES]
    assert "[data] adjacency" in NO_EDGES
    assert not any("islands" in m for m in r.messages)
    np.testing.assert_array_equal(r.srb_smoothed, eb.srb_smoothed)
    np.testing.assert_array_equal(r.srb_hi, eb.srb_hi)
    assert r.is_fallback.all()


def test_non_convergence_is_flagged_and_falls_back(monkeypatch):
    # Fault injection: the Laplace fixed point is allowed a single iteration, so it cannot
    # meet its tolerance; those cells must be flagged, named, and given the EB estimate.
    monkeypatch.setattr(smoothing_spatial_fit, "MAX_FIXED_POINT", 1)
    rng = np.random.default_rng(8)
    n = rng.integers(20, 300, 36)
    boys = rng.binomial(n, 0.52)
    edges = lattice_edges(6, 6)
    r = smooth_srb(boys, n - boys, pool=np.zeros(36, np.int64), method="spatial",
                   area=np.arange(36), edges=edges)
    eb = smooth_srb(boys, n - boys, pool=np.zeros(36, np.int64), method="eb")
    _no_nan(r)
    assert r.is_fallback.all()
    assert any("non-convergence" in m for m in r.messages)
    np.testing.assert_array_equal(r.srb_smoothed, eb.srb_smoothed)


def test_no_nan_with_empty_all_boys_and_all_girls_cells():
    rng = np.random.default_rng(9)
    m = 64
    n = rng.integers(20, 300, m)
    boys = rng.binomial(n, 0.52)
    girls = n - boys
    boys[3] = girls[3] = 0          # no births
    girls[10] = 0                   # all boys
    boys[20] = 0                    # all girls
    r = smooth_srb(boys, girls, pool=np.zeros(m, np.int64), method="spatial",
                   area=np.arange(m), edges=lattice_edges(8, 8))
    _no_nan(r)
    assert not r.is_fallback.any()
    assert np.all((r.srb_lo < r.srb_smoothed) & (r.srb_smoothed < r.srb_hi))
    # an empty cell borrows from its neighbours: its interval is wider than theirs
    width = r.srb_hi - r.srb_lo
    assert width[3] > np.max(width[[2, 4, 11]])


def test_mixture_summary_matches_root_finding_and_reduces_to_one_gaussian():
    # Reference: scipy brentq on the mixture CDF (xtol 1e-12); the Newton-in-bracket answer
    # must agree to 1e-8 on the logit.  With identical components the mixture is one
    # Gaussian: 100 exp(m +- z sd) and 100 exp(m + v / 2) exactly.
    rng = np.random.default_rng(10)
    K, P, c = 9, 2, 5
    w = rng.dirichlet(np.ones(K), P)
    m = np.log(1.06) + rng.normal(0, 0.05, (K, P, c))
    v = rng.uniform(0.0005, 0.01, (K, P, c))
    mean, lo, hi, prob = mixture_summary(w, m, v, 110.0, 0.95)
    def cdf(x, p, i):
        return np.sum(w[p] * stats.norm.cdf(x, m[:, p, i], np.sqrt(v[:, p, i])))

    for p in range(P):
        for i in range(c):
            for level, got in ((0.025, lo), (0.975, hi)):
                root = optimize.brentq(lambda x, lv=level, p=p, i=i: cdf(x, p, i) - lv, -2, 2,
                                       xtol=1e-12)
                assert np.log(got[p, i] / 100) == pytest.approx(root, abs=1e-8)
            assert prob[p, i] == pytest.approx(1 - cdf(np.log(1.1), p, i), abs=1e-12)
            assert mean[p, i] == pytest.approx(
                100 * np.sum(w[p] * np.exp(m[:, p, i] + v[:, p, i] / 2)), rel=1e-12)
    same_m, same_v = np.repeat(m[:1], K, 0), np.repeat(v[:1], K, 0)
    mean, lo, hi, _ = mixture_summary(w, same_m, same_v, 110.0, 0.95)
    z = special.ndtri(0.975)
    np.testing.assert_allclose(lo, 100 * np.exp(m[0] - z * np.sqrt(v[0])), rtol=1e-10)
    np.testing.assert_allclose(hi, 100 * np.exp(m[0] + z * np.sqrt(v[0])), rtol=1e-10)
    np.testing.assert_allclose(mean, 100 * np.exp(m[0] + v[0] / 2), rtol=1e-12)
