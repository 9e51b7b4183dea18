"""Tests of models.smoothing (issue 3).  Expected values come from theory or scipy, named.

All random draws use fixed seeds; every tolerance says where it comes from.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, optimize, special, stats

from models import smoothing_beta
from models.smoothing import smooth_srb, tree_depth
from models.smoothing_beta import beta_quantile, by_chunks, trigamma
from models.smoothing_eb import (
    _log_prior,
    _score_hessian,
    bb_loglik,
    compress,
    eb_mixture,
    eb_posterior,
    fit_mml,
    fit_moments,
    mix_moments,
    precision_grid,
)
from models.srb import share_from_srb
from validate.smoothing import simulate


def _lattice(rows, cols, offset=0):
    idx = np.arange(rows * cols).reshape(rows, cols) + offset
    return np.concatenate([np.stack([idx[:-1].ravel(), idx[1:].ravel()], 1),
                           np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], 1)])


def _no_nan(r):
    for k in ("srb_smoothed", "srb_lo", "srb_hi", "prob_above"):
        v = getattr(r, k)
        assert np.all(np.isfinite(v)), k
    assert np.all((r.prob_above >= 0) & (r.prob_above <= 1))


# --- special functions -------------------------------------------------------------------

def test_trigamma_matches_scipy():
    x = np.array([0.01, 0.5, 1.0, 3.3, 7.9, 8.0, 50.0, 1e4, 1e7])
    np.testing.assert_allclose(trigamma(x), special.polygamma(1, x), rtol=1e-10)


def test_beta_quantile_matches_scipy_ppf():
    # Cornish-Fisher branch (a, b >= 200) and exact branch; tolerance 3e-7 relative on p
    # (the documented accuracy; 3e-5 SRB points).
    a = np.array([0.5, 3.0, 40.0, 200.0, 260.0, 5e3, 1e5])
    b = np.array([0.5, 80.0, 35.0, 210.0, 250.0, 4.8e3, 9.4e4])
    for q in (0.025, 0.5, 0.975):
        np.testing.assert_allclose(beta_quantile(a, b, q), stats.beta.ppf(q, a, b), rtol=3e-7)


# --- plain EB ------------------------------------------------------------------------------

def test_mml_matches_direct_optimisation():
    # Reference: scipy Nelder-Mead on the beta-binomial marginal likelihood (betaln form).
    rng = np.random.default_rng(11)
    n = rng.integers(20, 400, 300).astype(float)
    y = rng.binomial(n.astype(int), rng.beta(515, 485, 300)).astype(float)
    g = np.zeros(300, np.int64)
    fit = fit_mml(compress(y, n, g, 1), fit_moments(y, n, g, 1))

    def nll(t):
        a, b = special.expit(t[0]) * np.exp(t[1]), (1 - special.expit(t[0])) * np.exp(t[1])
        return -np.sum(special.betaln(y + a, n - y + b) - special.betaln(a, b))

    ref = optimize.minimize(nll, [0.0, np.log(500)], method="Nelder-Mead",
                            options=dict(xatol=1e-10, fatol=1e-12, maxiter=4000))
    assert fit.converged[0]
    assert nll([special.logit(fit.mu[0]), np.log(fit.M[0])]) <= ref.fun + 1e-8
    np.testing.assert_allclose(fit.mu[0], special.expit(ref.x[0]), rtol=1e-6)
    np.testing.assert_allclose(fit.M[0], np.exp(ref.x[1]), rtol=1e-3)


def _brute_mixture(A, B, W, cut, confidence=0.95):
    """Reference: scipy.stats.beta per component, quantiles by brentq on the mixture CDF."""
    prob = np.sum(W * stats.beta.sf(cut, A, B), axis=1)
    q = (1 - confidence) / 2
    ends = []
    for level in (q, 1 - q):
        ends.append([optimize.brentq(lambda x, i=i, level=level: np.sum(W[i] * stats.beta.cdf(x, A[i], B[i]))
                                     - level, 1e-9, 1 - 1e-9, xtol=1e-15, rtol=1e-14)
                     for i in range(A.shape[0])])
    lo, hi = (np.array(e) for e in ends)
    return prob, 100 * lo / (1 - lo), 100 * hi / (1 - hi)


def test_prob_above_and_interval_are_the_exact_mixture():
    # The eb posterior is a 9-point mixture of Betas over the prior precision M (issue 3,
    # audit item 5: a single matched Beta was off by up to 0.056 in prob_above).  Reference:
    # scipy.stats.beta sf/cdf per component and brentq.  Components with min(A, B) >= 200
    # (or weighted error <= EDGE_WEIGHTED) use the Edgeworth series (error dF < 1.5e-6, test
    # below), so prob_above agrees to 1.5e-6.  An interval end moves by dF / f on the share
    # scale, f = the share density at a 2.5 % quantile, phi(1.96) / sd_share >= 0.058 / 0.1
    # here: <= 2.6e-6, and the Halley stop leaves <= SHARE_TOL = 5e-7 (halley_tolerance):
    # assert 3e-6 on the share of boys.
    rng = np.random.default_rng(3)
    n = rng.integers(20, 400, 200)
    boys = rng.binomial(n, 0.515)
    boys[:3], n[:3] = [0, 7, 3], [0, 7, 9]  # no births, all boys, few births
    r = smooth_srb(boys, n - boys, pool=np.zeros(200, np.int64))
    mix, _ = eb_mixture(boys.astype(float), n.astype(float), np.zeros(200, np.int64), 1)
    cells = np.r_[0:3, rng.choice(np.arange(3, 200), 27, replace=False)]
    A, B, W = mix.components(cells)
    prob, lo, hi = _brute_mixture(A, B, W, share_from_srb(110.0))
    np.testing.assert_allclose(r.prob_above[cells], prob, rtol=0, atol=1.5e-6)
    np.testing.assert_allclose(share_from_srb(r.srb_lo[cells]), share_from_srb(lo), rtol=0, atol=3e-6)
    np.testing.assert_allclose(share_from_srb(r.srb_hi[cells]), share_from_srb(hi), rtol=0, atol=3e-6)
    mean = np.sum(W * 100 * A / (B - 1), axis=1)
    np.testing.assert_allclose(r.srb_smoothed[cells[1:]], mean[1:], rtol=1e-12)
    # the mixture is not its matched Beta: the single-Beta prob_above differs visibly here
    single = stats.beta.sf(share_from_srb(110.0), mix.A[cells], mix.B[cells])
    assert np.max(np.abs(single - prob)) > 1e-3


@pytest.mark.parametrize("method", ["eb", "hierarchical"])
def test_fast_mixture_summaries_on_a_benchmark_like_case(method):
    # Issue 3 speed work: components packed by weight (only those of positive weight, cells
    # sorted by their count), the Edgeworth series below min(A, B) = 200 where its weighted
    # error is <= 1e-8, and the Halley stop in share units.  The 2.5 / 97.5 % ends must stay
    # within 1e-6 of brentq on the exact mixture (share of boys; the bound derived in the test
    # above is 3e-6 in the worst case, and 1e-6 holds here: sd_share <= ~0.03 for these
    # 52-week windows), prob_above within 1.5e-6.  Cells: villages of 20-400 births a year in
    # one town per 16, as in bench.smoothing, 3 windows.
    rng = np.random.default_rng(44)
    villages, towns = 320, 20
    town = np.arange(villages) % towns
    n = rng.integers(5, 160, (3, villages))
    boys = rng.binomial(n, rng.beta(515, 485, villages))
    t_boys = np.stack([np.bincount(town, b, towns) for b in boys]).astype(np.int64)
    t_n = np.stack([np.bincount(town, m, towns) for m in n]).astype(np.int64)
    size = villages + towns
    all_boys = np.concatenate([np.r_[t_boys[w], boys[w]] for w in range(3)])
    all_n = np.concatenate([np.r_[t_n[w], n[w]] for w in range(3)])
    pool = np.concatenate([np.r_[np.full(towns, 2 * w), np.full(villages, 2 * w + 1)] for w in range(3)])
    parent = np.concatenate([np.r_[np.full(towns, -1), town + w * size] for w in range(3)])
    options = {"parent": parent} if method == "hierarchical" else {}
    r = smooth_srb(all_boys, all_n - all_boys, pool=pool, method=method, **options)
    from models.smoothing import _dense_rank, _hier_mix, _Notes
    y, nf = all_boys.astype(float), all_n.astype(float)
    ids, g = _dense_rank(pool)
    if method == "eb":
        mix, _ = eb_mixture(y, nf, g, ids.size)
    else:
        mix = _hier_mix(y, nf, g, ids, parent, _Notes(g, ids))
    cells = np.sort(rng.choice(all_boys.size, 40, replace=False))
    A, B, W = mix.components(cells)
    prob, lo, hi = _brute_mixture(A, B, W, share_from_srb(110.0))
    np.testing.assert_allclose(r.prob_above[cells], prob, rtol=0, atol=1.5e-6)
    np.testing.assert_allclose(share_from_srb(r.srb_lo[cells]), share_from_srb(lo), rtol=0, atol=1e-6)
    np.testing.assert_allclose(share_from_srb(r.srb_hi[cells]), share_from_srb(hi), rtol=0, atol=1e-6)
    # padding: a cell's components are only those of positive weight, the rest zero
    assert np.all(np.sum(W > 0, axis=1) == mix.widths()[cells])


def test_edgeworth_component_cdf_matches_betainc():
    # Beta components with min(A, B) >= 200 use the Edgeworth series of logit p (cumulants
    # from psi functions) up to the g1^2 term.  The first omitted terms are of order
    # n^(-3/2) (g1 g2 He6 phi / 144, k5 He4 phi / (120 k2^2.5)), so the error scales as
    # min(A, B)^(-3/2); its constant, 1.2e-6 at min(A, B) = 200 (B / A in [0.8, 1.25]), was
    # measured against betainc on 4,000 draws.  Assert 1.5e-6 (200 / min(A, B))^1.5.
    rng = np.random.default_rng(14)
    A = np.exp(rng.uniform(np.log(200), np.log(5e4), 400))
    B = A * rng.uniform(0.8, 1.25, 400)
    t = special.logit(A / (A + B)) + rng.normal(0, 2, 400) * np.sqrt(1 / A + 1 / B)
    bound = 1.5e-6 * (200 / np.minimum(A, B)) ** 1.5
    mix = smoothing_beta._BetaMix(A[:, None], B[:, None], np.ones((400, 1)))
    F, f, _ = mix.cdf(t)
    Fu, _, _ = mix.cdf(t, upper=True)
    x = special.expit(t)
    assert np.all(np.abs(F - special.betainc(A, B, x)) <= bound)
    assert np.all(np.abs(Fu - special.betainc(B, A, 1 - x)) <= bound)
    dens = stats.beta.pdf(x, A, B) * x * (1 - x)  # density of logit p
    # the density only steers the Newton steps (the root is where F = q); its error is the
    # derivative of the CDF's, the same order per unit of z: bound / sd, times a margin 10
    # for the higher Hermite polynomials (He7 against He6)
    assert np.all(np.abs(f - dens) <= 10 * bound / np.sqrt(1 / A + 1 / B))


def test_edgeworth_below_200_meets_its_error_law_and_psi_recurrence_is_exact():
    # Components with 10 <= min(A, B) < 200 take the series when their weighted error
    # W EDGE_ERR (200 / min(A, B))^1.5 is <= EDGE_WEIGHTED (issue 3 speed: betainc costs
    # ~10x more).  The law must hold there too (the n^(-3/2) order of the omitted terms);
    # cumulants below 30 come from the psi recurrence, checked against scipy to 1e-12.
    rng = np.random.default_rng(15)
    low = np.exp(rng.uniform(np.log(10), np.log(200), 4000))  # min(A, B)
    high = low * rng.uniform(1.0, 1.25, 4000)
    swap = rng.random(4000) < 0.5
    A, B = np.where(swap, high, low), np.where(swap, low, high)
    t = special.logit(A / (A + B)) + rng.normal(0, 2.5, 4000) * np.sqrt(1 / A + 1 / B)
    k1, sd, g1, g2 = smoothing_beta._edgeworth(A, B)
    np.testing.assert_allclose(k1, special.digamma(A) - special.digamma(B), rtol=0, atol=1e-12)
    np.testing.assert_allclose(sd**2, special.polygamma(1, A) + special.polygamma(1, B), rtol=1e-12)
    k2 = sd**2
    np.testing.assert_allclose(g1 * k2**1.5, special.polygamma(2, A) - special.polygamma(2, B),
                               rtol=1e-9, atol=1e-18)
    np.testing.assert_allclose(g2 * k2**2, special.polygamma(3, A) + special.polygamma(3, B), rtol=1e-9)
    parts = (k1, 1 / sd, g1 / 6, g2 / 24, g1 * g1 / 72)
    big = np.full((4000, 1), 1e9)  # A, B >= 200 here only so that the series is used
    mix = smoothing_beta._BetaMix(big, big, np.ones((4000, 1)), tuple(p[:, None] for p in parts))
    F = mix.cdf(t, order=0)[0]
    bound = smoothing_beta.EDGE_ERR * (200 / np.minimum(A, B)) ** 1.5
    assert np.all(np.abs(F - special.betainc(A, B, special.expit(t))) <= bound)
    # the rule: small weight -> series, large weight -> exact betainc
    A2, B2 = np.array([[50.0, 50.0]]), np.array([[52.0, 52.0]])
    W2 = np.array([[1e-4, 1 - 1e-4]])
    assert smoothing_beta._BetaMix(A2, B2, W2).small.tolist() == [1]


def test_precision_integration_matches_quadrature():
    # E[p_i | y] and Var[p_i | y] with M integrated out (mu fixed): adaptive quadrature of
    # likelihood x prior over log M against the 9-point grid (N_GRID).  The grid spans +-4 sd
    # of a near-Gaussian likelihood (mass outside ~6e-5); the trapezoid rule on a smooth,
    # near-Gaussian integrand with step h = 1 sd errs by ~exp(-2 pi^2 / h^2) ~ 3e-9 relative,
    # so the tail mass dominates: allow 1 % of the posterior sd on the mean.
    rng = np.random.default_rng(21)
    n = rng.integers(20, 400, 400).astype(float)
    y = rng.binomial(n.astype(int), rng.beta(0.515 * 400, 0.485 * 400, 400)).astype(float)
    g = np.zeros(400, np.int64)
    data = compress(y, n, g, 1)
    fit = fit_mml(data, fit_moments(y, n, g, 1))
    mu = fit.mu[0]

    def ll(om):
        M = np.exp(np.atleast_1d(om))
        return bb_loglik(data, mu * M, (1 - mu) * M)[0]

    top = ll(np.log(fit.M[0]))

    def post(om):
        return np.exp(ll(om) - top + _log_prior(np.array(om)))

    lo, hi = 0.0, np.log(n.sum())
    Z = integrate.quad(post, lo, hi, points=[np.log(fit.M[0])], limit=200)[0]
    i = np.array([0, 1, 2])

    def cond(om, k):
        M = np.exp(om)
        m = (mu * M + y[i]) / (M + n[i])
        return m if k == 1 else m * (1 - m) / (M + n[i] + 1) + m * m

    m1 = np.array([integrate.quad(lambda o, j=j: post(o) * cond(o, 1)[j], lo, hi, limit=200)[0]
                   for j in range(3)]) / Z
    m2 = np.array([integrate.quad(lambda o, j=j: post(o) * cond(o, 2)[j], lo, hi, limit=200)[0]
                   for j in range(3)]) / Z
    var = m2 - m1 * m1
    A, B, _ = eb_posterior(y, n, g, 1)
    om, _, w = precision_grid(lambda M: bb_loglik(data, mu * M, (1 - mu) * M),
                              np.array([lo]), np.array([hi]), 201)
    g_mean, g_var = mix_moments(y[i], n[i], g[i], np.full(3, mu), np.exp(om), w, np.zeros(3))
    np.testing.assert_allclose(g_mean, m1, atol=1e-3 * np.sqrt(var).min())
    np.testing.assert_allclose(g_var, var, rtol=1e-3)
    mean9 = A[i] / (A[i] + B[i])
    var9 = A[i] * B[i] / ((A[i] + B[i]) ** 2 * (A[i] + B[i] + 1))
    assert np.all(np.abs(mean9 - m1) < 0.01 * np.sqrt(var))
    # The 9-point posterior adds the uncertainty of mu, (M / (M + n))^2 Var(mu_hat) <= Var(mu_hat)
    # (Kass & Steffey, first order), to the quadrature's variance (mu fixed); the rest is
    # the grid error above (tail mass 6e-5, i.e. well under 1e-3 relative).
    _, h11, _, _ = _score_hessian(data, fit.mu, fit.M)
    var_mu = (mu * (1 - mu)) ** 2 / -h11[0]
    assert np.all(var9 >= var * (1 - 1e-3)) and np.all(var9 <= var * (1 + 1e-3) + var_mu)


def test_zero_between_area_variance_clips_and_shrinks_between_pooled_and_raw():
    # Identical shares in every area: the moment variance is negative -> clipped to 0, the
    # MML precision sits at its cap N (pool births).  For every M the posterior mean share
    # is a convex combination of mu and boys_i / n_i, so the M-average is too (exact).
    boys = np.array([51, 102, 153, 204, 255] * 4)
    girls = np.array([49, 98, 147, 196, 245] * 4)
    pool = np.zeros(20, np.int64)
    r = smooth_srb(boys, girls, pool=pool)
    assert any("clipped to zero" in m and "pools 0" in m for m in r.messages)
    y, n = boys.astype(float), (boys + girls).astype(float)
    fit = fit_mml(compress(y, n, pool, 1), fit_moments(y, n, pool, 1))
    assert fit.clipped[0] and fit.M[0] == pytest.approx(n.sum())
    A, B, _ = eb_posterior(y, n, pool, 1)
    share = A / (A + B)
    lo, hi = np.minimum(fit.mu[0], y / n), np.maximum(fit.mu[0], y / n)
    assert np.all((share >= lo - 1e-12) & (share <= hi + 1e-12))
    assert not r.is_fallback.any()


def test_regression_eb_coverage_when_mml_variance_is_zero():
    """Bug: plug-in EB intervals covered 29 % of true SRBs on validate.smoothing seed 1, where
    the MML between-area variance is 0.  With the precision integrated out, the coverage over
    all 20 validation registries (8,000 villages) must meet the issue's bar, 92-97 %.

    The bar is the issue's, not a binomial band: each seed's truth is one fixed smooth surface,
    so the villages of a seed are not independent draws from the prior and the per-seed
    coverage varies far beyond the binomial SE (0.78-1.00 measured); the 20-seed mean
    (0.940 measured) is the calibration figure the issue names.
    """
    from validate.smoothing import SEEDS
    boys, girls, _, _ = simulate(1)
    r = smooth_srb(boys, girls, pool=np.zeros(boys.size, np.int64))
    assert any("clipped to zero" in m for m in r.messages)
    cover = []
    for seed in SEEDS:
        boys, girls, _, truth = simulate(seed)
        r = smooth_srb(boys, girls, pool=np.zeros(boys.size, np.int64))
        cover.append(np.mean((r.srb_lo <= truth) & (truth <= r.srb_hi)))
    assert 0.92 <= np.mean(cover) <= 0.97


def test_none_is_the_jeffreys_posterior():
    boys, girls = np.array([0, 3, 40, 7]), np.array([0, 5, 38, 0])
    r = smooth_srb(boys, girls, pool=np.zeros(4, np.int64), method="none")
    _no_nan(r)
    a, b = boys + 0.5, girls + 0.5
    lo = stats.beta.ppf(0.025, a, b)
    np.testing.assert_allclose(r.srb_lo, 100 * lo / (1 - lo), rtol=1e-9)
    np.testing.assert_allclose(r.prob_above, stats.beta.sf(share_from_srb(110.0), a, b), rtol=1e-9)
    np.testing.assert_allclose(r.srb_smoothed[1:3], 100 * a[1:3] / (b[1:3] - 1), rtol=1e-12)
    assert r.is_fallback.tolist() == [True, False, False, True]  # b <= 1: median reported


def test_chunked_threads_are_identical_to_one_call(monkeypatch):
    rng = np.random.default_rng(8)
    a, b = rng.uniform(0.5, 3e3, 1001), rng.uniform(0.5, 3e3, 1001)
    one = smoothing_beta.srb_summary(a, b, 110.0, 0.95)
    monkeypatch.setattr(smoothing_beta, "MIN_CHUNK", 10)
    two = smoothing_beta.srb_summary(a, b, 110.0, 0.95)
    for u, v in zip(one, two, strict=True):
        assert np.array_equal(u, v)
    assert by_chunks(lambda x: (x * 2,), np.arange(30.0))[0].tolist() == list(np.arange(30.0) * 2)


def test_large_counts_stay_at_raw_srb():
    # n = 1e6 per area, spread of true shares 0.02: shrinkage weight M / (M + n) with
    # M ~ p(1-p)/V ~ 600, so |smoothed - raw| <= ~1e-3 * |raw - pooled| < 0.05 SRB points.
    rng = np.random.default_rng(5)
    n = np.full(50, 1_000_000)
    boys = rng.binomial(n, rng.uniform(0.49, 0.53, 50))
    r = smooth_srb(boys, n - boys, pool=np.zeros(50, np.int64))
    raw = 100 * boys / (n - boys)
    assert np.max(np.abs(r.srb_smoothed - raw)) < 0.05


def test_simulated_eb_coverage_and_mse():
    # Truth drawn from the model's own Beta prior (M = 2000), 8 pools x 400 areas: binomial
    # SE of the coverage sqrt(0.95 * 0.05 / 3200) = 0.0039, so 0.95 +- 3 SE = [0.938, 0.962]
    # if the intervals were calibrated at this fixed M.  They are calibrated on average over
    # the hyperprior (uniform on the between-area sd), which puts weight on smaller M than
    # 2000 and widens them: 0.969 measured.  The test holds the bar, 92-97 %, and
    # the lower binomial bound.  MSE must be at most 60 % of raw (the 40 % cut).
    rng = np.random.default_rng(7)
    k, P = 400, 8
    pool = np.repeat(np.arange(P), k)
    p = rng.beta(0.515 * 2000, 0.485 * 2000, k * P)
    n = rng.integers(20, 400, k * P)
    boys = rng.binomial(n, p)
    r = smooth_srb(boys, n - boys, pool=pool)
    truth = 100 * p / (1 - p)
    cover = np.mean((r.srb_lo <= truth) & (truth <= r.srb_hi))
    assert 0.938 <= cover <= 0.97
    raw = 100 * boys / np.maximum(n - boys, 1)
    assert np.mean((r.srb_smoothed - truth) ** 2) < 0.6 * np.mean((raw - truth) ** 2)


def test_corner_cases_never_nan_and_flagged():
    boys = np.array([0, 10, 0, 30, 25, 7, 0, 5])
    girls = np.array([0, 0, 12, 28, 27, 0, 0, 0])
    pool = np.array([0, 0, 0, 0, 0, 1, 2, 3])  # pool 1: one area; 2: no births; 3: all boys
    r = smooth_srb(boys, girls, pool=pool)
    _no_nan(r)
    assert r.is_fallback[0]            # no births
    assert r.is_fallback[5:].all()     # unpoolable pools
    assert any("pools 1, 2, 3" in m for m in r.messages)
    assert any("no births" in m and "cells 0" in m for m in r.messages)


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        (dict(boys=[1, -2], girls=[3, 4], pool=[0, 0]), "boys is negative at cells 1"),
        (dict(boys=[1, 2], girls=[3], pool=[0, 0]), "girls has 1 entries"),
        (dict(boys=[1, 2], girls=[3, 4], pool=[0]), "pool has 1 entries"),
        (dict(boys=[1.5, 2], girls=[3, 4], pool=[0, 0]), "boys must hold integers"),
        (dict(boys=[1, 2], girls=[3, 4], pool=[0, 0], method="mcmc"), "method must be one of"),
        (dict(boys=[1, 2], girls=[3, 4], pool=[0, 0], method="hierarchical"), "needs parent"),
        (dict(boys=[1, 2], girls=[3, 4], pool=[0, 1], method="hierarchical", parent=[1, 1]),
         "parent must be -1 or another cell's index: cells 1"),
        (dict(boys=[1, 2], girls=[3, 4], pool=[0, 1], method="hierarchical", parent=[1, 0]),
         "cycle"),
        (dict(boys=[1, 2], girls=[3, 4], pool=[0, 0], method="spatial", area=[0, 1]), "needs area"),
        (dict(boys=[1, 2], girls=[3, 4], pool=[0, 0], method="spatial", area=[0, 1],
              edges=[[0, 7]]), "unknown areas [7]"),
        (dict(boys=[1, 2], girls=[3, 4], pool=[0, 0], method="spatial", area=[0, 1],
              edges=[[1, 1]]), "self-loops at areas [1]"),
        (dict(boys=[1, 2], girls=[3, 4], pool=[0, 0], method="spatial", area=[0, 1],
              edges=[[0, 1], [1, 0]]), "list a pair twice"),
        # regression: a (2, 3) array used to be reshaped silently into three pairs
        (dict(boys=[1, 2], girls=[3, 4], pool=[0, 0], method="spatial", area=[0, 1],
              edges=[[0, 1, 0], [1, 0, 1]]), "edges must be a (k, 2) array"),
        (dict(boys=[1, 2], girls=[3, 4], pool=[0, 0], method="spatial", area=[0, 0],
              edges=[]), "more than once in the same pool"),
    ],
)
def test_bad_input_messages(kwargs, text):
    with pytest.raises(ValueError) as err:
        smooth_srb(kwargs.pop("boys"), kwargs.pop("girls"), **kwargs)
    assert text in str(err.value)


# --- hierarchical -------------------------------------------------------------------------

def test_tree_depth():
    assert tree_depth(np.array([-1, 0, 0, 1, 3])).tolist() == [0, 1, 1, 2, 3]


def test_hierarchical_shrinks_to_own_parent_not_city():
    # Two districts, SRB 100 and 120, each with 60 small villages drawn at its own level.
    # Villages must centre on their district (within 3 posterior SEs of the district
    # mean, SE ~ 100/sqrt(60 * 100) * 2 ~ 2.6 points), not on the city (~110).
    rng = np.random.default_rng(9)
    k = 60
    share = np.r_[np.full(k, share_from_srb(100.0)), np.full(k, share_from_srb(120.0))]
    n = rng.integers(40, 120, 2 * k)
    boys = rng.binomial(n, share)
    d_boys = np.array([boys[:k].sum(), boys[k:].sum()])
    d_n = np.array([n[:k].sum(), n[k:].sum()])
    all_boys = np.r_[d_boys.sum(), d_boys, boys]
    all_n = np.r_[d_n.sum(), d_n, n]
    parent = np.r_[-1, 0, 0, np.full(k, 1), np.full(k, 2)]
    pool = np.r_[0, 1, 1, np.full(2 * k, 2)]
    r = smooth_srb(all_boys, all_n - all_boys, pool=pool, method="hierarchical",
                   parent=parent)
    _no_nan(r)
    v = r.srb_smoothed[3:]
    assert abs(v[:k].mean() - 100) < 8 and abs(v[k:].mean() - 120) < 8
    assert v[k:].mean() - v[:k].mean() > 15
    eb = smooth_srb(all_boys, all_n - all_boys, pool=pool).srb_smoothed[3:]
    assert v[k:].mean() - v[:k].mean() > eb[k:].mean() - eb[:k].mean()


# --- spatial ------------------------------------------------------------------------------

def _spatial_case(seed, rows=12, cols=12):
    rng = np.random.default_rng(seed)
    m = rows * cols
    r, c = np.divmod(np.arange(m), cols)
    logit = np.log(1.06) + 0.05 * np.sin(r / 3) + 0.04 * np.cos(c / 4)
    n = rng.integers(20, 400, m)
    boys = rng.binomial(n, special.expit(logit))
    return boys, n - boys, _lattice(rows, cols), 100 * np.exp(logit)


def test_spatial_beats_raw_and_covers():
    # A smooth surface on a lattice: the spatial posterior must cut MSE well below raw
    # (>= 60 %), and cover the truth at least at the nominal rate less 3 binomial SEs:
    # sqrt(0.95 * 0.05 / 432) = 0.0105 for 3 x 144 cells, 0.95 - 0.031 = 0.918.  (No upper
    # bound: this truth has no area-level noise, and the fit covers 1.000 here.)
    cov, mse_ratio = [], []
    for seed in (1, 2, 3):
        boys, girls, edges, truth = _spatial_case(seed)
        area = np.arange(boys.size)
        r = smooth_srb(boys, girls, pool=np.zeros(boys.size, np.int64), method="spatial",
                       area=area, edges=edges)
        _no_nan(r)
        raw = 100 * boys / girls
        mse_ratio.append(np.mean((r.srb_smoothed - truth) ** 2) / np.mean((raw - truth) ** 2))
        cov.append(np.mean((r.srb_lo <= truth) & (truth <= r.srb_hi)))
    assert max(mse_ratio) < 0.4
    assert np.mean(cov) >= 0.918


def test_spatial_zero_birth_cell_borrows_from_neighbours():
    boys, girls, edges, truth = _spatial_case(6, 8, 8)
    boys[10] = girls[10] = 0
    r = smooth_srb(boys, girls, pool=np.zeros(64, np.int64), method="spatial",
                   area=np.arange(64), edges=edges)
    _no_nan(r)
    # the cell has no data: its posterior is the neighbours' prediction, so the truth lies
    # within ~3 posterior sds of it (sd = 95 % half-width / 1.96; a fixed-seed 3-sigma check)
    sd = (r.srb_hi[10] - r.srb_lo[10]) / (2 * 1.96)
    assert abs(r.srb_smoothed[10] - truth[10]) < 3 * sd


def test_smoothed_srb_always_inside_its_interval_even_for_heavy_tails():
    """Regression (hierarchical, found wiring the output gate): with a few girls and a weak
    prior the posterior mean of SRB lies beyond the 97.5 % quantile; the median stands in."""
    rng = np.random.default_rng(1)
    births = rng.integers(0, 40, 5000)
    boys = rng.binomial(births, rng.beta(20, 19, 5000))
    girls = births - boys
    boys[:50], girls[:50] = np.arange(50), 0
    pool = np.repeat(np.arange(50), 100)
    parent = np.full(5000, -1)
    parent[1:] = 0
    for method, options in (("none", {}), ("eb", {}), ("hierarchical", {"parent": parent})):
        r = smooth_srb(boys, girls, pool=pool, method=method, **options)
        assert np.all(np.isfinite(r.srb_smoothed)), method
        assert np.all((r.srb_lo <= r.srb_smoothed) & (r.srb_smoothed <= r.srb_hi)), method


# --- issue 3 audit: fallbacks, clips, leave-one-out, pool independence ----------------------

def test_non_converging_mml_fit_keeps_last_ascent_iterate_and_says_so(monkeypatch):
    # Fault injection: the Newton loop of the MML fit is cut to one step (MAX_ITER = 1), so
    # no pool can converge.  The documented fallback: the last ascent iterate is kept (its
    # likelihood is at least the moment start's), every cell of the pool is flagged, a
    # message names the pool, and every published summary stays finite.
    from models import smoothing_eb
    rng = np.random.default_rng(2)
    n = rng.integers(20, 400, 300)
    boys = rng.binomial(n, rng.beta(515, 485, 300))
    y, nf, g = boys.astype(float), n.astype(float), np.zeros(300, np.int64)
    start = fit_moments(y, nf, g, 1)
    monkeypatch.setattr(smoothing_eb, "MAX_ITER", 1)
    r = smooth_srb(boys, n - boys, pool=g)
    fit = fit_mml(compress(y, nf, g, 1), start)
    assert not fit.converged[0]
    data = compress(y, nf, g, 1)
    ll = (bb_loglik(data, fit.mu * fit.M, (1 - fit.mu) * fit.M)[0],
          bb_loglik(data, start.mu * start.M, (1 - start.mu) * start.M)[0])
    assert ll[0] >= ll[1]
    assert any("did not converge" in m and "pools 0" in m for m in r.messages)
    assert r.is_fallback.all()
    _no_nan(r)


def test_hierarchical_variance_clip_at_zero_between_children():
    # Children with exactly their parent's share (boys / births = 0.5 in every village):
    # the between-area variance around the parents is estimated at zero, i.e. the precision's
    # likelihood peaks at its cap M = N (births in the pool), which is reported as a clip.
    # The integration over M still leaves each posterior between the parent's prior mean and
    # the child's own share (a convex combination for every M).
    k = 30
    n = np.full(2 * k, 100)
    boys = np.full(2 * k, 50)
    d_boys, d_n = np.array([boys[:k].sum(), boys[k:].sum()]), np.array([n[:k].sum(), n[k:].sum()])
    all_boys = np.r_[d_boys.sum(), d_boys, boys]
    all_n = np.r_[d_n.sum(), d_n, n]
    parent = np.r_[-1, 0, 0, np.full(k, 1), np.full(k, 2)]
    pool = np.r_[0, 1, 1, np.full(2 * k, 2)]
    r = smooth_srb(all_boys, all_n - all_boys, pool=pool, method="hierarchical", parent=parent)
    _no_nan(r)
    assert any("depth 2: between-area variance around the parents estimated at zero" in m
               and "pools 2" in m for m in r.messages)
    # every share is 0.5, so every posterior mean share is 0.5 up to rounding
    np.testing.assert_allclose(r.share_mean[3:], 0.5, atol=1e-3)


def test_hierarchical_leave_one_out_parent():
    # A parent with two children of equal size and shares 0.4 and 0.6.  The parent's counts
    # include each child's; the child's prior mean must come from the parent's posterior
    # without the child's own births: Beta(A - boys, B - girls) (conjugate update undone),
    # so child 2's prior mean sits near child 1's share (0.4), not at the parent's 0.5.
    from models.smoothing import _dense_rank, _hier_mix, _Notes
    boys = np.array([100, 40, 60])
    n = np.array([200, 100, 100])
    parent = np.array([-1, 0, 0])
    pool = np.array([0, 1, 1])
    y, nf = boys.astype(float), n.astype(float)
    ids, g = _dense_rank(pool)
    mix = _hier_mix(y, nf, g, ids, parent, _Notes(g, ids))
    A0, B0 = mix.A[0], mix.B[0]  # root: no pooling, Jeffreys Beta(100.5, 100.5)
    np.testing.assert_allclose([A0, B0], [100.5, 100.5], rtol=1e-9)
    expect = (A0 - y[1:]) / (A0 + B0 - nf[1:])
    np.testing.assert_allclose(mix.prior_mean[1:], expect, rtol=1e-12)
    assert abs(mix.prior_mean[2] - 0.4) < 0.01 and abs(mix.prior_mean[1] - 0.6) < 0.01
    # consequence: each child's posterior lies below (child 2) / above (child 1) its raw share
    # by more than with the double-counted parent (prior mean 0.5)
    r = smooth_srb(boys, n - boys, pool=pool, method="hierarchical", parent=parent)
    # every component's posterior mean is a convex combination of prior mean and raw share
    assert mix.prior_mean[2] < r.share_mean[2] < 0.6 and 0.4 < r.share_mean[1] < mix.prior_mean[1]
    # swapping boys and girls maps child 1 onto child 2: mirror images up to rounding
    assert r.share_mean[1] + r.share_mean[2] == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("method", ["eb", "hierarchical"])
def test_results_of_a_pool_do_not_depend_on_other_pools(method):
    """Regression (audit item 7): a grid point skipped only when negligible in *every* pool
    moved a pool's eb results by ~6e-9 when unrelated pools were added (look-ahead through
    later periods).  Decisions are per pool now: results are bit-identical."""
    rng = np.random.default_rng(31)

    def registry(size, offset):
        n = rng.integers(0, 300, size)
        boys = rng.binomial(n, rng.beta(515, 485, size))
        parent = np.r_[-1, np.zeros(size - 1, np.int64)] + offset
        parent[0] = -1
        pool = np.r_[0, np.ones(size - 1, np.int64)] + 2 * (offset > 0)
        return boys, n - boys, pool, parent

    first = registry(200, 0)
    other = registry(300, 200)
    options = (lambda p: {"parent": p}) if method == "hierarchical" else (lambda p: {})
    alone = smooth_srb(*first[:2], pool=first[2], method=method, **options(first[3]))
    both = smooth_srb(np.r_[first[0], other[0]], np.r_[first[1], other[1]],
                      pool=np.r_[first[2], other[2]], method=method,
                      **options(np.r_[first[3], other[3]]))
    for name in ("srb_smoothed", "srb_lo", "srb_hi", "prob_above"):
        assert np.array_equal(getattr(alone, name), getattr(both, name)[:200]), name


def test_hierarchical_keeps_a_town_far_above_its_neighbours_visible():
    """The enforcement team must see the area that sex selection makes stand out. A town of
    350 births at SRB 150 (210 boys, 140 girls) between towns at 106, in a pool of four: its
    own data hold the SRB at 150 with a 95 % interval of about 121-186 (Jeffreys), so a
    posterior that still shrinks it most of the way to its neighbours says the prior, not
    the data, decided. Bars: the smoothed SRB stays above 130 (over half-way from 106 to the
    raw 150) and P(SRB > 110) above 0.95, for `hierarchical` as for `eb`. (A PC prior with
    P(sd_logit > 0.05) = 0.01 on the spread around the parent, tried to bring validate's
    coverage from 0.989 to 0.94, gave this town 94.0 with P = 0.11: it was dropped.)"""
    births = np.array([350, 300, 10, 250])  # T1, T2, T3 in district D1; T4 in D2
    boys = np.array([210, 155, 5, 129])
    girls = births - boys
    d1 = slice(0, 3)
    boys_all = np.concatenate([[boys.sum(), boys[d1].sum(), boys[3]], boys])
    girls_all = np.concatenate([[girls.sum(), girls[d1].sum(), girls[3]], girls])
    pool = np.array([0, 1, 1, 2, 2, 2, 2])
    parent = np.array([-1, 0, 0, 1, 1, 1, 2])
    for method in ("eb", "hierarchical"):
        kw = {"parent": parent} if method == "hierarchical" else {}
        r = smooth_srb(boys_all, girls_all, pool=pool, method=method, **kw)
        assert r.srb_smoothed[3] > 130, (method, r.srb_smoothed[3])
        assert r.prob_above[3] > 0.95, (method, r.prob_above[3])


def test_hierarchical_pools_with_large_and_small_births_do_not_mix_their_sums():
    """Regression: the per-pool histogram of births kept counts below 1,024 and above in two
    sorted runs, and the tree likelihood looked values up as if one run were sorted, so a
    pool holding children of over 1,024 births read another pool's sums (in a pipeline run:
    a crash on mismatched shapes, or quietly wrong estimates). A pool's estimates must not
    depend on the other pools in the call: exactly equal, alone or together."""
    rng = np.random.default_rng(0)
    boys_all, girls_all, pool, parent = [], [], [], []
    for stratum in range(2):  # a root and its 40 children, four of them over 1,024 births
        births = np.concatenate([rng.integers(5, 60, 36), [1500, 2000, 3000, 1100]])
        boys = rng.binomial(births, 0.515)
        root = len(boys_all)
        boys_all += [boys.sum(), *boys]
        girls_all += [(births - boys).sum(), *(births - boys)]
        pool += [2 * stratum] + [2 * stratum + 1] * 40
        parent += [-1] + [root] * 40
    boys_all, girls_all, pool, parent = map(np.array, (boys_all, girls_all, pool, parent))
    both = smooth_srb(boys_all, girls_all, pool=pool, method="hierarchical", parent=parent)
    alone = smooth_srb(boys_all[:41], girls_all[:41], pool=pool[:41], method="hierarchical", parent=parent[:41])
    np.testing.assert_array_equal(both.srb_smoothed[:41], alone.srb_smoothed)
    np.testing.assert_array_equal(both.prob_above[:41], alone.prob_above)
