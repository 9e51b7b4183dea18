"""Validation of models.smoothing against truth, R spdep and full MCMC (issue 3).

Run ``python -m validate.smoothing``.  Three checks, each printed as a table:

1. Simulated registries (20 x 20 lattice of villages, 20-400 births a year, smooth true
   logit surface + iid noise, 20 seeds x 400 villages = 8,000 areas): MSE against the truth
   and 95 % coverage for raw, ``none``, ``eb``, ``hierarchical`` (villages in 25 towns of
   4 x 4, in 4 districts of 10 x 10, in one city; counts summed up the tree), ``spatial``,
   and R ``spdep::EBest(family="binomial")`` / ``EBlocal``.
2. Full MCMC (PyMC, nutpie sampler if installed, else PyMC's NUTS; 4 x 1000 draws) of
   the BYM2 model that ``spatial`` fits, on a 20 x 10 lattice (200 areas), with priors on
   sigma (exponential, P(sigma > 1) = 0.01) and phi (uniform) integrated over, against
   ``smooth_srb(method="spatial")``: posterior means (bar 0.5 SRB points) and 95 % interval
   ends (bar 1.0) on the SRB scale.
3. ``spdep::EBest(family="binomial")`` against ``smooth_srb(method="eb",
   eb_prior="moments", integrate=False)`` (its ``share_mean``): the estimators coincide
   when the moment between-area variance is positive (EBest does not clip) and the
   precision below its cap; compared on every such seed of the 20.
4. The spatial fit of one large connected component (20 x 20 = 400 and 60 x 50 = 3,000
   areas, above the former 300-area tiling limit) against an independent dense Laplace fit
   of the whole component (dense covariance, Newton to the mode with the Hessian refreshed,
   same hyperparameters): max |difference| of posterior mean and interval ends (bar 0.02
   SRB points); and the 95 % coverage of ``spatial`` over the 20 simulation seeds (bar
   92-97 %).

Every ``check_*`` returns the names of its failed bars; ``main`` returns how many failed.
A peer that is not installed is skipped with a printed reason.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from functools import cache
from pathlib import Path

import numpy as np
from scipy import sparse, special
from scipy.sparse import csgraph

from models.constants import DEFAULT_ALERT_LEVEL
from models.smoothing import smooth_srb
from models.smoothing_eb import M_MIN, eb_posterior, fit_moments
from models.smoothing_spatial import spatial_posterior
from models.smoothing_spatial_fit import INTERCEPT_SD, SIGMA_RATE, component, laplace_fit
from pipeline.config import SurveillanceSettings
from validate.verdicts import verdict

SEEDS = tuple(range(1, 21))
EBEST_SEEDS = SEEDS  # check_ebest: every seed where the estimators coincide


def lattice_edges(rows: int, cols: int) -> np.ndarray:
    idx = np.arange(rows * cols).reshape(rows, cols)
    return np.concatenate([np.stack([idx[:-1].ravel(), idx[1:].ravel()], 1),
                           np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], 1)])


def simulate(seed: int, rows: int = 20, cols: int = 20):
    """True SRB: 105.5 + smooth waves (+-5 points) + iid noise (sd 1 point)."""
    rng = np.random.default_rng(seed)
    r, c = np.divmod(np.arange(rows * cols), cols)
    ph = rng.uniform(0, 2 * np.pi, 2)
    logit = (np.log(1.055) + 0.035 * np.sin(r / 3.0 + ph[0]) + 0.03 * np.cos(c / 4.0 + ph[1])
             + rng.normal(0, 0.01, r.size))
    n = rng.integers(20, 401, r.size)
    boys = rng.binomial(n, special.expit(logit))
    return boys, n - boys, lattice_edges(rows, cols), 100 * np.exp(logit)


def village_tree(boys, girls, rows: int = 20, cols: int = 20):
    """Cells of villages + 25 towns (4 x 4) + 4 districts (10 x 10) + city, counts summed.

    Returns (boys, girls, pool, parent) for all cells; villages are cells 0 .. rows*cols-1.
    """
    r, c = np.divmod(np.arange(rows * cols), cols)
    town = (r // 4) * (cols // 4) + c // 4
    n_town = town.max() + 1
    tr, tc = np.divmod(np.arange(n_town), cols // 4)
    dist = (tr * 4 // 10) * 2 + (tc * 4 // 10)
    n_vil, n_dist = rows * cols, dist.max() + 1
    t_boys, t_girls = np.bincount(town, boys), np.bincount(town, girls)
    d_boys, d_girls = np.bincount(dist, t_boys), np.bincount(dist, t_girls)
    all_boys = np.r_[boys, t_boys, d_boys, d_boys.sum()].astype(np.int64)
    all_girls = np.r_[girls, t_girls, d_girls, d_girls.sum()].astype(np.int64)
    first_town, first_dist = n_vil, n_vil + n_town
    city = first_dist + n_dist
    parent = np.r_[first_town + town, first_dist + dist, np.full(n_dist, city), -1]
    pool = np.r_[np.zeros(n_vil), np.ones(n_town), np.full(n_dist, 2), 3].astype(np.int64)
    return all_boys, all_girls, pool, parent


def _rscript(code: str, files: dict[str, np.ndarray]) -> dict[str, np.ndarray] | str:
    if shutil.which("Rscript") is None:
        return "Rscript not found"
    with tempfile.TemporaryDirectory() as tmp:
        for name, arr in files.items():
            np.savetxt(Path(tmp) / f"{name}.csv", arr, delimiter=",", fmt="%.17g")
        res = subprocess.run(["Rscript", "-e", code], cwd=tmp, capture_output=True, text=True)
        if res.returncode != 0:
            return "R failed: " + res.stderr.strip().splitlines()[-1]
        return {p.stem: np.loadtxt(p, delimiter=",") for p in Path(tmp).glob("out_*.csv")}


R_EB = """
suppressMessages(library(spdep))
y <- scan("y.csv", quiet=TRUE); n <- scan("n.csv", quiet=TRUE)
e <- as.matrix(read.csv("e.csv", header=FALSE)) + 1
nb <- vector("list", length(n)); for (i in seq_along(n)) nb[[i]] <- integer(0)
for (k in seq_len(nrow(e))) { nb[[e[k,1]]] <- c(nb[[e[k,1]]], e[k,2]);
  nb[[e[k,2]]] <- c(nb[[e[k,2]]], e[k,1]) }
nb <- lapply(nb, function(v) if (length(v)) sort(as.integer(v)) else 0L)
class(nb) <- "nb"; attr(nb, "region.id") <- as.character(seq_along(n))
a <- EBest(y, n, family="binomial")
write.table(format(a$estmm, digits=17), "out_ebest.csv", row.names=FALSE, col.names=FALSE,
            quote=FALSE)
b <- EBlocal(y, n, nb)
write.table(format(b$est, digits=17), "out_eblocal.csv", row.names=FALSE, col.names=FALSE,
            quote=FALSE)
"""


def r_peers(boys, girls, edges):
    """Shares of boys from spdep EBest (binomial) and EBlocal, or a reason string."""
    out = _rscript(R_EB, {"y": boys, "n": boys + girls, "e": edges})
    return out if isinstance(out, str) else (out["out_ebest"], out["out_eblocal"])


@cache
def seed_peers(seed: int):
    """``r_peers`` of ``simulate(seed)``, run once per seed (sections 1 and 3 share it)."""
    boys, girls, edges, _ = simulate(seed)
    return r_peers(boys, girls, edges)


def _srb(share):
    share = np.clip(share, 1e-9, 1 - 1e-9)
    return 100 * share / (1 - share)


def _scores(method, boys, girls, edges, truth):
    """(MSE against the truth, 95 % coverage) of one method on one simulated registry."""
    m = boys.size
    if method == "hierarchical":
        tb, tg, tpool, parent = village_tree(boys, girls)
        r = smooth_srb(tb, tg, pool=tpool, method=method, parent=parent)
    else:
        r = smooth_srb(boys, girls, pool=np.zeros(m, np.int64), method=method,
                       area=np.arange(m), edges=edges)
    est, lo, hi = r.srb_smoothed[:m], r.srb_lo[:m], r.srb_hi[:m]
    return np.mean((est - truth) ** 2), np.mean((lo <= truth) & (truth <= hi))


def check_simulation() -> list[str]:
    """Section 1: MSE and coverage on the simulated registries, every estimator on the same
    seeds (the R peers too), with a PASS/FAIL line per bar and method.

    Bars (issue 3): MSE at least 40 % below raw, below R EBest and below R EBlocal;
    95 % interval coverage 92-97 %.  Returns the names of the failed bars.
    """
    methods = ("none", "eb", "hierarchical", "spatial")
    rows = {k: ([], []) for k in ("raw", *methods, "R EBest", "R EBlocal")}
    skipped = ""
    for seed in SEEDS:
        boys, girls, edges, truth = simulate(seed)
        raw = 100 * boys / np.maximum(girls, 1)
        rows["raw"][0].append(np.mean((raw - truth) ** 2))
        for method in methods:
            mse, cover = _scores(method, boys, girls, edges, truth)
            rows[method][0].append(mse)
            rows[method][1].append(cover)
        peers = skipped or seed_peers(seed)
        if isinstance(peers, str):
            skipped = peers
            continue
        for name, share in zip(("R EBest", "R EBlocal"), peers, strict=True):
            rows[name][0].append(np.mean((_srb(share) - truth) ** 2))
    print(f"\n1. Simulated registries: 20x20 lattice, 20-400 births/yr, {len(SEEDS)} seeds x 400 "
          f"villages, every estimator on the same seeds")
    print(f"{'estimator':<14}{'MSE':>9}{'vs raw':>9}{'coverage95':>12}{'seed min-max':>16}")
    base = np.mean(rows["raw"][0])
    for name, (mse, cov) in rows.items():
        if not mse:
            print(f"{name:<14}  skipped: {skipped}")
            continue
        c = f"{np.mean(cov):.3f}" if cov else "-"
        span = f"{min(cov):.3f}-{max(cov):.3f}" if cov else "-"
        print(f"{name:<14}{np.mean(mse):>9.2f}{np.mean(mse) / base - 1:>+9.0%}{c:>12}{span:>16}")
    # The bars are the for the method the pipeline uses by default; the options are
    # held to the same bars and reported, but only the default's verdict counts.
    default = SurveillanceSettings().smoothing
    failed: list[str] = []
    for method in ("eb", "hierarchical", "spatial"):
        mse, cov = np.mean(rows[method][0]), np.mean(rows[method][1])
        counts = failed if method == default else []
        role = "default" if method == default else "option"
        _bar(f"{method} ({role}): MSE vs raw", mse / base - 1, mse <= 0.6 * base, "<= -0.40", counts, role)
        for peer in ("R EBest", "R EBlocal"):
            if rows[peer][0]:
                ref = np.mean(rows[peer][0])
                _bar(f"{method} ({role}): MSE - {peer}", mse - ref, mse < ref, "< 0", counts, role)
        _bar(f"{method} ({role}): coverage95", cov, 0.92 <= cov <= 0.97, "0.92-0.97", counts, role)
    return failed


def check_ebest() -> list[str]:
    """Section 3: ``smooth_srb(method="eb", eb_prior="moments", integrate=False)`` against
    ``spdep::EBest(family="binomial")`` on every seed where the two estimators coincide.

    They coincide when the moment between-area variance is positive (EBest neither clips
    V <= 0 to zero nor caps the precision M at the pool's births N; we do both) and
    M_MIN <= M <= N.  Bar: max |posterior mean share - EBest estmm| <= 1e-6.
    """
    print("\n3. EB (eb_prior='moments', integrate=False) vs spdep::EBest(family='binomial')")
    failed: list[str] = []
    worst, compared = 0.0, []
    for seed in EBEST_SEEDS:
        boys, girls, _, _ = simulate(seed)
        y, n = boys.astype(float), (boys + girls).astype(float)
        fit = fit_moments(y, n, np.zeros(y.size, np.int64), 1)
        if fit.clipped[0] or not M_MIN < fit.M[0] < n.sum():
            print(f"   seed {seed}: moment variance <= 0 or M at a bound: estimators differ by "
                  "design (not compared)")
            continue
        peers = seed_peers(seed)
        if isinstance(peers, str):
            print(f"   skipped: {peers}")
            return failed
        r = smooth_srb(boys, girls, pool=np.zeros(y.size, np.int64), method="eb",
                       eb_prior="moments", integrate=False)
        worst = max(worst, float(np.max(np.abs(r.share_mean - peers[0]))))
        compared.append(seed)
    print(f"   compared on {len(compared)} of {len(EBEST_SEEDS)} seeds (seeds {compared}): "
          f"max |share difference| {worst:.2e}")
    _bar(f"max |share diff|, {len(compared)} of {len(EBEST_SEEDS)} seeds", worst,
         bool(compared) and worst <= 1e-6, "<= 1e-6", failed)
    return failed


def spatial_fit(boys, girls, edges):
    """The spatial path of ``smooth_srb`` for one pool, exposing its internals.

    Returns (SpatialOut with the fitted sigma and phi, pooled logit mu0, EB start share), from
    the same beta-binomial prior and start that ``models.smoothing`` hands to the fit.
    """
    y, n = boys.astype(float), (boys + girls).astype(float)
    g = np.zeros(y.size, np.int64)
    A, B, fit = eb_posterior(y, n, g, 1)
    prior = (fit.mu, fit.M_mix, fit.ok & fit.converged, A / (A + B))
    out = spatial_posterior(y, n, g, np.arange(y.size), edges, prior, DEFAULT_ALERT_LEVEL, 0.95)
    return out, float(special.logit(fit.mu[0])), A / (A + B)


def _bar(name: str, value: float, ok: bool, bar: str, failed: list[str], role: str = "default") -> None:
    """One bar's line: PASS/FAIL where the bar is required, met/missed for an option."""
    shown = verdict(ok, name) if role == "default" else ("met" if ok else "missed")
    print(f"   {name:<42}{value:>10.4f}   bar {bar:<12}{shown}")
    if not ok:
        failed.append(name)


def bym2_mcmc(boys, girls, edges, mu0: float, scale: float, seed: int = 20260101):
    """Full-MCMC posterior draws of SRB under BYM2 with priors on sigma and phi.

    Priors as in ``models.smoothing_spatial_fit``: intercept N(mu0, INTERCEPT_SD^2), sigma
    exponential (rate SIGMA_RATE: P(sigma > 1) = 0.01), phi uniform (0, 1); u ICAR
    (sum-to-zero, PyMC's soft constraint sd 0.001) scaled by the BYM2 factor s.
    Returns (draws (n, m), sampler name, sigma and phi draws, divergences).
    """
    import pymc as pm

    m = boys.size
    W = np.zeros((m, m))
    W[edges[:, 0], edges[:, 1]] = W[edges[:, 1], edges[:, 0]] = 1
    with pm.Model() as model:
        beta = pm.Normal("beta", mu0, INTERCEPT_SD)
        sigma = pm.Exponential("sigma", SIGMA_RATE)
        phi = pm.Uniform("phi", 0.0, 1.0)
        u = pm.ICAR("u", W=W, sigma=1.0)
        v = pm.Normal("v", 0.0, 1.0, shape=m)
        eta = beta + sigma * (pm.math.sqrt(1 - phi) * v + pm.math.sqrt(phi) * u / np.sqrt(scale))
        pm.Deterministic("srb", 100 * pm.math.exp(eta))
        pm.Binomial("y", n=boys + girls, logit_p=eta, observed=boys)
    try:
        import nutpie
        trace = nutpie.sample(nutpie.compile_pymc_model(model), draws=1000, tune=1000, chains=4,
                              seed=seed, progress_bar=False)
        sampler = "nutpie"
    except ImportError:
        with model:
            trace = pm.sample(draws=1000, tune=1000, chains=4, random_seed=seed,
                              progressbar=False)
        sampler = "PyMC NUTS"
    post = trace.posterior
    divergent = int(np.sum(trace.sample_stats["diverging"].values))
    return (post["srb"].values.reshape(-1, m), sampler, post["sigma"].values.ravel(),
            post["phi"].values.ravel(), divergent)


def check_mcmc() -> list[str]:
    print("\n2. Spatial (Laplace, INLA-style hyperparameter mode) vs full MCMC, 200-area lattice")
    try:
        import pymc  # noqa: F401
    except ImportError as err:
        print(f"   skipped: {err}")
        return []
    boys, girls, edges, _ = simulate(11, 20, 10)
    m = boys.size
    r = smooth_srb(boys, girls, pool=np.zeros(m, np.int64), method="spatial",
                   area=np.arange(m), edges=edges)
    out, mu0, _ = spatial_fit(boys, girls, edges)
    scale = component(np.arange(m), _adjacency(edges, m)).scale
    draws, sampler, sig, phi, divergent = bym2_mcmc(boys, girls, edges, mu0, scale)
    print(f"   {sampler}: {len(draws)} draws, {divergent} divergent; sigma {np.mean(sig):.4f} "
          f"(sd {np.std(sig):.4f}), phi {np.mean(phi):.2f} (sd {np.std(phi):.2f}); Laplace mode: "
          f"sigma {out.sigma[0]:.4f}, phi {out.phi[0]:.2f}")
    failed: list[str] = []
    for name, ours, theirs, bar in (
            ("posterior mean", r.srb_smoothed, draws.mean(0), 0.5),
            ("2.5 % end", r.srb_lo, np.quantile(draws, 0.025, 0), 1.0),
            ("97.5 % end", r.srb_hi, np.quantile(draws, 0.975, 0), 1.0)):
        d = np.abs(ours - theirs)
        _bar(f"{name} max |diff| (mean {d.mean():.3f})", d.max(), d.max() <= bar, f"<= {bar}",
             failed)
    return failed


def _adjacency(edges, m):
    adj = sparse.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(m, m))
    return ((adj + adj.T) > 0).astype(float).tocsr()


def dense_laplace(boys, girls, edges, mu0, sigma, phi, start):
    """Independent reference: the whole component's Laplace fit with dense matrices.

    Prior covariance of eta: ``INTERCEPT_SD^2 11' + sigma^2 ((1 - phi) I + phi L^+ / s)``
    (the sum-to-zero ICAR covariance is L^+ / s); Newton with the Hessian refreshed every
    step to |step| < 1e-10; variances from the Hessian at the mode.  Returns (mode, var).
    """
    y, n = boys.astype(float), (boys + girls).astype(float)
    m = y.size
    lap = csgraph.laplacian(_adjacency(edges, m)).toarray()
    lplus = np.linalg.inv(lap + 1.0 / m) - 1.0 / m
    s = np.exp(np.mean(np.log(np.diag(lplus))))
    cov = INTERCEPT_SD**2 + sigma**2 * ((1 - phi) * np.eye(m) + phi * lplus / s)
    prec = np.linalg.inv(cov)
    x = special.logit(start)
    for _ in range(100):
        p = special.expit(x)
        hess = prec + np.diag(n * p * (1 - p))
        step = np.linalg.solve(hess, y - n * p - prec @ (x - mu0))
        x = x + step
        if np.max(np.abs(step)) < 1e-10:
            break
    p = special.expit(x)
    return x, np.diag(np.linalg.inv(prec + np.diag(n * p * (1 - p))))


def sparse_laplace(boys, girls, edges, mu0, sigma, phi, start):
    """Our whole-component Laplace fit at fixed (sigma, phi): (mode, variance) of eta."""
    y, n = boys.astype(float)[None], (boys + girls).astype(float)[None]
    m = y.size
    comp = component(np.arange(m), _adjacency(edges, m))
    x0 = special.logit(start)[None]
    d0 = n * special.expit(x0) * (1 - special.expit(x0))
    x, var, ok = laplace_fit(comp, y, n, x0, d0, np.array([mu0]), np.array([sigma**2]),
                             np.array([phi]))
    return x[0], var[0], bool(ok[0])


def check_large_component() -> list[str]:
    """Section 4: large components fitted whole agree with the dense whole fit."""
    print("\n4. Large connected components: sparse whole-component Laplace vs dense, same "
          "(sigma, phi)")
    failed: list[str] = []
    z = special.ndtri(0.975)
    # Bar 0.02 SRB points: ours freezes the Hessian at the EB start (variance within ~1e-3
    # relative of the refreshed one), i.e. interval ends within ~z * sd * 5e-4 * SRB
    # ~ 2 * 0.05 * 5e-4 * 110 = 0.006 points; the mode is exact (same fixed point).
    for rows, cols, seed in ((20, 20, 1), (60, 50, 2)):
        boys, girls, edges, _ = simulate(seed, rows, cols)
        t0 = time.perf_counter()
        out, mu0, start = spatial_fit(boys, girls, edges)
        seconds = time.perf_counter() - t0
        sigma, phi = out.sigma[0], out.phi[0]
        summaries = []
        for fit in (sparse_laplace, dense_laplace):
            x, var = fit(boys, girls, edges, mu0, sigma, phi, start)[:2]
            sd = np.sqrt(var)
            summaries.append((100 * np.exp(x + var / 2), 100 * np.exp(x - z * sd),
                              100 * np.exp(x + z * sd)))
        print(f"   {rows} x {cols} = {rows * cols} areas, one component (smooth_srb path "
              f"{seconds:.1f} s; mode sigma {sigma:.4f}, phi {phi:.2f})")
        for name, ours, dense in zip(("mean", "2.5 % end", "97.5 % end"), *summaries,
                                     strict=True):
            d = float(np.max(np.abs(ours - dense)))
            _bar(f"{rows * cols} areas: {name} max |diff|", d, d <= 0.02, "<= 0.02", failed)
    # the whole-component fit's coverage on the 20 seeds is section 1's `spatial` row
    return failed


def main() -> int:
    failed: list[str] = []
    for check in (check_simulation, check_mcmc, check_ebest, check_large_component):
        failed += check()
    print(f"\nsmoothing: {len(failed)} bar(s) not met" + (f": {'; '.join(failed)}" if failed else ""))
    return len(failed)


if __name__ == "__main__":
    raise SystemExit(main())
