"""BYM2 spatial smoothing of the share of boys on the logit scale (internal).

``spatial_posterior`` groups pools by their set of areas (a *structure*), splits each
structure's graph into connected components, and fits every component whole: its own
intercept and sum-to-zero constraint; hyperparameters (sigma, phi) per pool at the mode of
their Laplace-approximate posterior, then integrated out on a 5 x 5 grid of Laplace fits
(``models.smoothing_spatial_fit``; exact sparse algebra in ``models.smoothing_spatial_blocks``).
No tiling: a component of any size is one system.

Fallbacks (cells flagged; ``models.smoothing`` then reports the beta-binomial EB estimate):
an island (an area without neighbours among its pool's areas), an unpoolable pool, a
non-converged fit, and every cell when no neighbour pairs were given at all (one message).

With (sigma, phi) integrated out the posterior of eta_i is a Gaussian mixture; its SRB mean,
equal-tailed interval and ``prob_above`` come from ``models.smoothing_spatial_mixture``.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy import sparse, special
from scipy.sparse import csgraph

from models.smoothing_spatial_fit import (
    Component,
    component,
    fit_hyper,
    integration_nodes,
    laplace_fit,
)
from models.smoothing_spatial_mixture import mixture_summary

CHUNK_BYTES = 1.0e8  # memory of the block factors per batch of pools (per thread)
WORKERS = 2          # threads over chunks of pools (the machine has 2 cores)
NO_EDGES = ('method "spatial" got no neighbour pairs (set the configuration key '
            '[data] adjacency to an adjacency.csv): every cell uses the beta-binomial EB estimate')


@dataclass
class SpatialOut:
    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    prob: np.ndarray
    fallback: np.ndarray
    messages: list[str]
    sigma: np.ndarray   # per pool (dense pool index): fitted sigma (logit scale), NaN if none
    phi: np.ndarray     # per pool: fitted BYM2 mixing phi, NaN if none


def check_edges(area, edges, g, size):
    """Validate ``area`` and ``edges`` (public-side checks); return int64 arrays."""
    if area is None or edges is None:
        raise ValueError('method "spatial" needs area (one index per cell) and edges (k, 2)')
    area = np.asarray(area)
    if area.ndim != 1 or area.size != size:
        raise ValueError(f"area must be 1-D with {size} entries, got shape {area.shape}")
    area = area.astype(np.int64)
    edges = np.asarray(edges)
    if not edges.size:
        edges = np.zeros((0, 2), np.int64)
    if edges.ndim != 2 or edges.shape[1] != 2:
        raise ValueError("edges must be a (k, 2) array of area index pairs")
    edges = edges.astype(np.int64)
    known = np.unique(area)
    unknown = ~np.isin(edges, known)
    if unknown.any():
        raise ValueError(f"edges name unknown areas {np.unique(edges[unknown])[:20].tolist()}")
    loops = edges[:, 0] == edges[:, 1]
    if loops.any():
        raise ValueError(f"edges contain self-loops at areas {edges[loops, 0][:20].tolist()}")
    key = np.sort(edges, axis=1)
    uniq, counts = np.unique(key, axis=0, return_counts=True)
    if np.any(counts > 1):
        raise ValueError("edges list a pair twice (duplicate, or both (i, j) and (j, i): give "
                         f"each undirected pair once): {uniq[counts > 1][:10].tolist()}")
    pair = g.astype(np.int64) * (area.max(initial=0) + 1) + area
    if np.unique(pair).size != size:
        raise ValueError("an area appears more than once in the same pool")
    return area, edges


@dataclass
class _Cells:
    """Per-cell summaries being filled in (SRB scale), fallback flags, per-pool (sigma, phi)."""

    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    prob: np.ndarray
    bad: np.ndarray
    sigma: np.ndarray
    phi: np.ndarray


def _components(areas: np.ndarray, adj: sparse.csr_matrix) -> tuple[list[Component], np.ndarray]:
    """Connected components (>= 2 areas) of the graph induced on ``areas``; and islands.

    Each component's columns are put in breadth-first order; components whose adjacency is
    then identical share one ``Component`` (one batch), e.g. the demo's rings of villages.
    """
    sub = adj[areas][:, areas].tocsr()
    ncomp, lab = csgraph.connected_components(sub, directed=False)
    groups: dict[bytes, list[np.ndarray]] = {}
    islands = []
    for c in range(ncomp):
        cols = np.flatnonzero(lab == c)
        if cols.size == 1:
            islands.append(areas[cols[0]])
            continue
        local = sub[cols][:, cols].tocsr()
        start = int(csgraph.breadth_first_order(local, 0, return_predecessors=False)[-1])
        cols = cols[csgraph.breadth_first_order(local, start, return_predecessors=False)]
        local = sub[cols][:, cols].tocoo()
        key = np.concatenate([[cols.size], local.row, local.col]).astype(np.int64).tobytes()
        groups.setdefault(key, []).append(cols)
    comps = []
    for members in groups.values():
        first = members[0]
        comps.append(component(np.stack(members), sub[first][:, first].tocsr()))
    return comps, np.asarray(islands, np.int64)


def _chunk_size(comps: list[Component]) -> int:
    per_pool = sum(sum(v.size**2 for v in c.graph.levels) * 3 * 8 * c.count for c in comps)
    return max(1, int(CHUNK_BYTES // max(per_pool, 1)))


def _fit_structure(comps, rows, pools, y, n, start, out, summary):
    """Fit every component for the pools (rows = cell index per pool x area column).

    Chunks of pools are independent and write disjoint cells, so WORKERS threads share
    them (the batched LAPACK and matmul calls release the GIL); results do not depend on
    the order.
    """
    chunk = _chunk_size(comps)
    slices = [slice(s, s + chunk) for s in range(0, pools.size, chunk)]
    task = partial(_fit_chunk, comps, rows, pools, y, n, start, out, summary)
    if len(slices) == 1:
        task(slices[0])
        return
    with ThreadPoolExecutor(WORKERS) as executor:
        list(executor.map(task, slices))


def _fit_chunk(comps, rows, pools, y, n, start, out, summary, sl):
    mu0, sig2_start, x_start = start
    data = []
    for comp in comps:
        cells = rows[sl][:, comp.cols].reshape(-1, comp.cols.shape[1])  # pool-major rows
        x0 = x_start[cells]
        p0 = special.expit(x0)
        data.append((y[cells], n[cells], x0, n[cells] * p0 * (1 - p0),
                     np.repeat(mu0[sl], comp.count)))
    theta0 = np.stack([0.5 * np.log(sig2_start[sl]), np.zeros(sig2_start[sl].size)], 1)
    theta, f_hat, hess = fit_hyper(comps, data, theta0)
    out.sigma[pools[sl]], out.phi[pools[sl]] = np.exp(theta[:, 0]), special.expit(theta[:, 1])
    nodes, weights = integration_nodes(theta, f_hat, hess, comps, data)
    for comp, (yy, nn, x0, d0, m0) in zip(comps, data, strict=True):
        fits = [laplace_fit(comp, yy, nn, x0, d0, m0, np.repeat(np.exp(2 * t[:, 0]), comp.count),
                            np.repeat(special.expit(t[:, 1]), comp.count)) for t in nodes]
        mode, var, ok = (np.stack(parts) for parts in zip(*fits, strict=True))
        cells = rows[sl][:, comp.cols].reshape(-1, comp.cols.shape[1])
        good = ok.all(0)
        out.bad[cells] = ~good[:, None]
        var = np.where(good[None, :, None], var, 1.0)
        mode = np.where(good[None, :, None], mode, 0.0)
        out.mean[cells], out.lo[cells], out.hi[cells], out.prob[cells] = summary(
            np.repeat(weights, comp.count, axis=0), mode, var)


def _structures(g, area):
    """Group pools by their (sorted) set of areas: {bytes: (areas, [cell rows])}."""
    order = np.lexsort((area, g))
    bounds = np.searchsorted(g[order], np.arange(g.max(initial=-1) + 2))
    groups: dict[bytes, tuple[np.ndarray, list[int], list[np.ndarray]]] = {}
    for p in range(bounds.size - 1):
        cells = order[bounds[p]:bounds[p + 1]]
        key = area[cells].tobytes()
        if key not in groups:
            groups[key] = (area[cells], [], [])
        groups[key][1].append(p)
        groups[key][2].append(cells)
    return groups


def spatial_posterior(y, n, g, area, edges, prior, alert_level, confidence) -> SpatialOut:
    """Laplace-approximate BYM2 posterior for every cell; islands and failures flagged.

    ``prior`` = (mu, M, ok, share0): per pool the beta-binomial mean and precision (sigma's
    start, ``1 / ((M + 1) mu (1 - mu))`` by the delta method) and whether the pool is
    poolable; per cell the EB posterior share (the start of the fit).
    """
    mu, M, ok, share0 = prior
    n_pools = mu.size
    out = _Cells(*(np.full(y.size, v) for v in (100.0, 90.0, 110.0, 0.5)),
                 np.ones(y.size, bool), np.full(n_pools, np.nan), np.full(n_pools, np.nan))
    if len(edges) == 0:
        return _finish(out, [NO_EDGES])
    n_areas = int(max(area.max(initial=0), edges.max(initial=0))) + 1
    adj = sparse.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])),
                            shape=(n_areas, n_areas)).tocsr()
    adj = ((adj + adj.T) > 0).astype(float).tocsr()
    mu0 = special.logit(mu)
    sig2 = 1.0 / ((M + 1.0) * mu * (1 - mu))
    x_start = special.logit(share0)
    messages: list[str] = []
    for areas, pools, cell_rows in _structures(g, area).values():
        pools = np.asarray(pools)
        comps, islands = _components(areas, adj)
        if islands.size:
            # the cells are flagged as fallbacks, and named by the caller through the notes
            messages.append(f"{islands.size} area(s) without a neighbour of their level "
                            f"(islands) use the beta-binomial EB estimate")
        keep = ok[pools]
        if not comps or not keep.any():
            continue
        rows = np.stack(cell_rows)[keep]  # pools x areas, columns in sorted area order
        pk = pools[keep]
        _fit_structure(comps, rows, pk, y, n, (mu0[pk], sig2[pk], x_start), out,
                       partial(mixture_summary, alert_level=alert_level, confidence=confidence))
    return _finish(out, messages)


def _finish(out: _Cells, messages) -> SpatialOut:
    """Flag anything not finite (never NaN out); flagged cells get the EB estimate upstream."""
    bad = out.bad | ~np.isfinite(out.mean) | ~np.isfinite(out.lo) | ~np.isfinite(out.hi) \
        | ~np.isfinite(out.prob)
    values = [np.where(bad, fill, v) for v, fill in
              ((out.mean, 100.0), (out.lo, 90.0), (out.hi, 110.0), (out.prob, 0.5))]
    return SpatialOut(*values, bad, messages, out.sigma, out.phi)
