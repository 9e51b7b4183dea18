"""Benchmark of models.smoothing.smooth_srb at the size in issue 3.

3,000 areas (1 city, 16 districts, 184 towns, 2,799 villages on a lattice) x 5 strata x 312
weekly trailing 52-week windows = 4.68 million cells in one call per method.
Prints wall and CPU seconds (threads: CPU can exceed wall) and peak memory (tracemalloc
peak of Python/numpy allocations during the call, and the process's maximum RSS).  Run: ``python -m bench.smoothing``.
"""
from __future__ import annotations

import os
import resource
import sys
import time
import tracemalloc

import numpy as np

from models.smoothing import smooth_srb

N_WINDOWS = 312
WINDOW = 52
N_STRATA = 5
STRATUM_SHARE = np.array([1.0, 0.45, 0.35, 0.2, 0.25])


def _lattice_edges(rows: int, cols: int, offset: int) -> np.ndarray:
    idx = np.arange(rows * cols).reshape(rows, cols) + offset
    return np.concatenate([np.stack([idx[:-1].ravel(), idx[1:].ravel()], 1),
                           np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], 1)])


def make_tree():
    """Areas 0 city, 1-16 districts (4x4), 17-200 towns, 201-2999 villages (lattice)."""
    v_rows, v_cols = 63, 45          # 2,835 lattice slots, trimmed to 2,799 villages
    n_vil = 2799
    r, c = np.divmod(np.arange(n_vil), v_cols)
    town_rc = (r // 4, c // 4)        # 16 x 12 = 192 blocks, trimmed to 184 towns
    town_key = town_rc[0] * 12 + town_rc[1]
    towns, town_of_vil = np.unique(town_key, return_inverse=True)
    tr, tc = np.divmod(towns, 12)
    dist_of_town = (tr // 4) * 3 + tc // 4          # 4 x 3 = 12 districts
    dist_of_town = np.unique(dist_of_town, return_inverse=True)[1]
    n_town, n_dist = towns.size, dist_of_town.max() + 1
    first_town, first_vil = 1 + n_dist, 1 + n_dist + n_town
    parent_area = np.concatenate([[-1], np.zeros(n_dist, int), 1 + dist_of_town,
                                  first_town + town_of_vil])
    vil_edges = _lattice_edges(v_rows, v_cols, 0)
    vil_edges = vil_edges[(vil_edges < n_vil).all(1)] + first_vil
    edges = [vil_edges]
    up = parent_area[vil_edges]
    town_pairs = np.unique(np.sort(up[up[:, 0] != up[:, 1]], 1), axis=0)
    edges.append(town_pairs)
    up2 = parent_area[town_pairs]
    edges.append(np.unique(np.sort(up2[up2[:, 0] != up2[:, 1]], 1), axis=0))
    level = np.concatenate([[0], np.ones(n_dist, int), np.full(n_town, 2), np.full(n_vil, 3)])
    return parent_area, level, np.concatenate(edges)


def make_cells(seed: int = 0):
    """Trailing-window births per area x stratum x window, aggregated up the tree."""
    rng = np.random.default_rng(seed)
    parent_area, level, edges = make_tree()
    n_area = parent_area.size
    vil = np.flatnonzero(level == 3)
    rate = rng.uniform(20, 400, vil.size) / 52.0
    weeks = N_WINDOWS + WINDOW - 1
    srb_true = 105 + 3 * rng.standard_normal(vil.size)
    boys = np.zeros((n_area, N_STRATA, N_WINDOWS), np.int64)
    girls = np.zeros_like(boys)
    p = srb_true / (100 + srb_true)
    for s in range(N_STRATA):
        births = rng.poisson(rate[:, None] * STRATUM_SHARE[s], (vil.size, weeks))
        b = rng.binomial(births, p[:, None])
        for arr, x in ((boys, b), (girls, births - b)):
            cs = np.concatenate([np.zeros((vil.size, 1), np.int64), np.cumsum(x, 1)], 1)
            arr[vil, s] = cs[:, WINDOW:] - cs[:, :-WINDOW]
    for lev in (2, 1, 0):   # aggregate children into parents
        kids = np.flatnonzero(level == lev + 1)
        np.add.at(boys, parent_area[kids], boys[kids])
        np.add.at(girls, parent_area[kids], girls[kids])
    a, s, w = np.meshgrid(np.arange(n_area), np.arange(N_STRATA), np.arange(N_WINDOWS),
                          indexing="ij")
    a, s, w = a.ravel(), s.ravel(), w.ravel()
    pool = (level[a] * N_STRATA + s) * N_WINDOWS + w
    cell_of = np.arange(a.size).reshape(n_area, N_STRATA, N_WINDOWS)
    pa = parent_area[a]
    parent = np.where(pa >= 0, cell_of[np.maximum(pa, 0), s, w], -1)
    return dict(boys=boys.ravel(), girls=girls.ravel(), pool=pool, parent=parent, area=a,
                edges=edges)


def run(method: str, cells: dict) -> tuple[float, float, float, float, int]:
    kw = dict(pool=cells["pool"], method=method)
    if method == "hierarchical":
        kw["parent"] = cells["parent"]
    if method == "spatial":
        kw.update(area=cells["area"], edges=cells["edges"])
    tracemalloc.start()
    t0, c0 = time.perf_counter(), time.process_time()
    res = smooth_srb(cells["boys"], cells["girls"], **kw)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = tracemalloc.get_traced_memory()[1] / 2**30
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    bad = sum(int(np.isnan(getattr(res, k)).sum()) for k in
              ("srb_smoothed", "srb_lo", "srb_hi", "prob_above"))
    return dt, cpu, peak, rss, bad


def main(methods: tuple[str, ...] = ("eb", "hierarchical", "spatial")) -> None:
    cells = make_cells()
    print(f"cells: {cells['boys'].size:,}  pools: {np.unique(cells['pool']).size:,}  "
          f"edges: {len(cells['edges']):,}")
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores; wall time suffers above ~1)")
    print(f"{'method':<14}{'seconds':>9}{'CPU s':>8}{'peak GiB (tracemalloc)':>24}{'max RSS GiB':>13}{'NaN':>5}")
    for m in methods:
        dt, cpu, peak, rss, bad = run(m, cells)
        print(f"{m:<14}{dt:>9.2f}{cpu:>8.2f}{peak:>24.2f}{rss:>13.2f}{bad:>5}")


if __name__ == "__main__":
    main(tuple(sys.argv[1:]) or ("eb", "hierarchical", "spatial"))
