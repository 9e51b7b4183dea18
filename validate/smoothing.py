"""Validation of models.smoothing against truth, R spdep and full MCMC (issue 3).

Run ``python -m validate.smoothing``.  Three checks, each printed as a table:

1. Simulated registries (20 x 20 lattice of villages, 20-400 births a year, smooth true
   logit surface + iid noise, 20 seeds x 400 villages = 8,000 areas): MSE against the truth
   and 95 % coverage for raw, ``none``, ``eb``, ``hierarchical`` (villages in 25 towns of
   4 x 4, in 4 districts of 10 x 10, in one city; counts summed up the tree), ``spatial``,
   and R ``spdep::EBest(family="binomial")`` / ``EBlocal``.
2. Full MCMC (PyMC + nutpie, 4 x 1000 draws) on a 20 x 10 lattice (200 areas) of the
   same BYM2 model that ``spatial`` fits, with its hyperparameters fixed at the plug-in
   values: posterior means and 95 % interval ends compared on the SRB scale.
3. ``spdep::EBest(family="binomial")`` against our beta-binomial posterior mean with the
   *moment* prior (``fit_moments``): the estimators coincide when the between-area
   variance estimate is positive (EBest does not clip) and below the precision cap.

A peer that is not installed is skipped with a printed reason.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from scipy import sparse, special

from models.smoothing import smooth_srb
from models.smoothing_eb import eb_posterior, fit_moments
from models.smoothing_spatial import _phi_moments, _units

SEEDS = tuple(range(1, 21))
EBEST_SEEDS = (1, 2, 3, 4, 5)


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


def _srb(share):
    share = np.clip(share, 1e-9, 1 - 1e-9)
    return 100 * share / (1 - share)


def check_simulation() -> None:
    methods = ("none", "eb", "hierarchical", "spatial")
    rows = {k: ([], []) for k in ("raw", *methods, "R EBest", "R EBlocal")}
    skipped = ""
    for seed in SEEDS:
        boys, girls, edges, truth = simulate(seed)
        m = boys.size
        pool = np.zeros(m, np.int64)
        raw = 100 * boys / np.maximum(girls, 1)
        rows["raw"][0].append(np.mean((raw - truth) ** 2))
        for method in methods:
            if method == "hierarchical":
                tb, tg, tpool, parent = village_tree(boys, girls)
                r = smooth_srb(tb, tg, pool=tpool, method=method, parent=parent)
                est, lo, hi = r.srb_smoothed[:m], r.srb_lo[:m], r.srb_hi[:m]
            else:
                r = smooth_srb(boys, girls, pool=pool, method=method, area=np.arange(m),
                               edges=edges)
                est, lo, hi = r.srb_smoothed, r.srb_lo, r.srb_hi
            rows[method][0].append(np.mean((est - truth) ** 2))
            rows[method][1].append(np.mean((lo <= truth) & (truth <= hi)))
        if seed not in EBEST_SEEDS:
            continue
        peers = r_peers(boys, girls, edges)
        if isinstance(peers, str):
            skipped = peers
            continue
        for name, share in zip(("R EBest", "R EBlocal"), peers, strict=True):
            rows[name][0].append(np.mean((_srb(share) - truth) ** 2))
    print(f"\n1. Simulated registries: 20x20 lattice, 20-400 births/yr, {len(SEEDS)} seeds x 400 "
          f"villages (R peers: seeds {EBEST_SEEDS[0]}-{EBEST_SEEDS[-1]})")
    print(f"{'estimator':<14}{'MSE':>9}{'vs raw':>9}{'coverage95':>12}{'seed min-max':>16}")
    base = np.mean(rows["raw"][0])
    for name, (mse, cov) in rows.items():
        if not mse:
            print(f"{name:<14}  skipped: {skipped}")
            continue
        c = f"{np.mean(cov):.3f}" if cov else "-"
        span = f"{min(cov):.3f}-{max(cov):.3f}" if cov else "-"
        print(f"{name:<14}{np.mean(mse):>9.2f}{np.mean(mse) / base - 1:>+9.0%}{c:>12}{span:>16}")


def check_ebest() -> None:
    print("\n3. EB with the moment prior vs spdep::EBest(family='binomial')")
    worst = 0.0
    for seed in EBEST_SEEDS:
        boys, girls, edges, _ = simulate(seed)
        n = (boys + girls).astype(float)
        y = boys.astype(float)
        g = np.zeros(y.size, np.int64)
        fit = fit_moments(y, n, g, 1)
        ours = (fit.mu[0] * fit.M[0] + y) / (fit.M[0] + n)
        peers = r_peers(boys, girls, edges)
        if isinstance(peers, str):
            print(f"   skipped: {peers}")
            return
        if fit.clipped[0]:
            print(f"   seed {seed}: moment variance <= 0, estimators differ by design (skip)")
            continue
        worst = max(worst, float(np.max(np.abs(ours - peers[0]))))
    print(f"   max |share difference| over {len(EBEST_SEEDS)} seeds: {worst:.2e} (target 1e-6)")


def plug_in(boys, girls, edges):
    """The hyperparameters the spatial method uses: (mu0, sigma^2, phi, unit)."""
    y, n = boys.astype(float), (boys + girls).astype(float)
    g = np.zeros(y.size, np.int64)
    _, _, fit = eb_posterior(y, n, g, 1)
    mu, M = fit.mu, fit.M_mix
    sig2 = 1.0 / ((M + 1.0) * mu * (1 - mu))
    m = y.size
    adj = sparse.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(m, m))
    adj = ((adj + adj.T) > 0).astype(float).tocsr()
    units, _ = _units(np.arange(m), adj)
    phi = _phi_moments(units, [np.arange(m)[None, :]], y, n, sig2)
    return float(special.logit(mu[0])), float(sig2[0]), float(phi[0]), units[0]


def check_mcmc() -> None:
    print("\n2. Spatial (Laplace) vs full MCMC (PyMC + nutpie), 200-area lattice")
    try:
        import nutpie
        import pymc as pm
    except ImportError as err:
        print(f"   skipped: {err}")
        return
    boys, girls, edges, _ = simulate(11, 20, 10)
    m = boys.size
    r = smooth_srb(boys, girls, pool=np.zeros(m, np.int64), method="spatial",
                   area=np.arange(m), edges=edges)
    mu0, sig2, phi, unit = plug_in(boys, girls, edges)
    W = np.zeros((m, m))
    W[edges[:, 0], edges[:, 1]] = W[edges[:, 1], edges[:, 0]] = 1
    with pm.Model() as model:
        beta = pm.Normal("beta", mu0, 1.0)
        u = pm.ICAR("u", W=W, sigma=1.0)
        v = pm.Normal("v", 0, 1, shape=m)
        b = np.sqrt(sig2) * (np.sqrt(1 - phi) * v + np.sqrt(phi) * u / np.sqrt(unit.scale))
        pm.Deterministic("srb", 100 * pm.math.exp(beta + b))
        pm.Binomial("y", n=boys + girls, logit_p=beta + b, observed=boys)
    compiled = nutpie.compile_pymc_model(model)
    trace = nutpie.sample(compiled, draws=1000, tune=1000, chains=4, seed=20260101,
                          progress_bar=False)
    draws = trace.posterior["srb"].values.reshape(-1, m)
    d_mean = np.abs(r.srb_smoothed - draws.mean(0))
    d_lo = np.abs(r.srb_lo - np.quantile(draws, 0.025, 0))
    d_hi = np.abs(r.srb_hi - np.quantile(draws, 0.975, 0))
    print(f"   plug-in: sigma={np.sqrt(sig2):.4f} (logit), phi={phi:.2f}; MCMC draws {len(draws)}")
    print(f"   {'quantity':<16}{'max |diff|':>12}{'mean |diff|':>13}{'target':>8}")
    for name, d, tgt in (("posterior mean", d_mean, 0.5), ("2.5 % end", d_lo, 1.0),
                         ("97.5 % end", d_hi, 1.0)):
        print(f"   {name:<16}{d.max():>12.3f}{d.mean():>13.3f}{tgt:>8.1f}")


def main() -> None:
    check_simulation()
    check_mcmc()
    check_ebest()


if __name__ == "__main__":
    main()
