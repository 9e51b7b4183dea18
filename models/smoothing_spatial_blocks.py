"""Exact sparse Gaussian algebra for one connected graph, batched over pools (internal).

The matrices are ``A = s L + diag(q)`` with L the graph Laplacian of a connected
component (the same for every pool of a structure) and q > 0 a per-pool diagonal.
Ordering the nodes by breadth-first level from a pseudo-peripheral node makes A block
tridiagonal (an edge joins nodes of the same or of adjacent levels), so

* factorisation: ``S_0 = A_00``, ``S_k = A_kk - B_{k-1}' S_{k-1}^{-1} B_{k-1}``,
  ``log det A = sum_k log det S_k`` (block LDL', exact);
* solves: forward and back substitution over the levels;
* marginal variances ``diag(A^{-1})``: the selected-inverse (Takahashi) recursion for a
  block tridiagonal matrix, ``G_K = S_K^{-1}``,
  ``G_k = S_k^{-1} + M_k G_{k+1} M_k'`` with ``M_k = S_k^{-1} B_k`` (Takahashi, Fagan &
  Chen 1973; Rue & Held 2005, sec. 2.3; the block form of Petersen et al. 2008).

Every step is exact (no truncation); the cost is ``sum_k w_k^3`` per pool for level widths
``w_k`` (about ``sqrt(m)`` on a planar map), all pools of a chunk in one numpy call.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph


@dataclass
class LevelGraph:
    """A connected graph in breadth-first levels: node ids per level and dense L blocks."""

    levels: list[np.ndarray]      # local node ids of each level
    diag: list[np.ndarray]        # L[V_k, V_k] dense
    off: list[np.ndarray]         # L[V_k, V_{k+1}] dense (len(levels) - 1 of them)
    size: int

    @property
    def order(self) -> np.ndarray:
        return np.concatenate(self.levels)


def level_graph(adj: sparse.csr_matrix) -> LevelGraph:
    """Breadth-first levels of a connected graph (0/1 adjacency) from a pseudo-peripheral node."""
    m = adj.shape[0]
    start = int(csgraph.breadth_first_order(adj, 0, return_predecessors=False)[-1])
    dist = csgraph.shortest_path(adj, unweighted=True, indices=start).astype(np.int64)
    levels = [np.flatnonzero(dist == k) for k in range(int(dist.max()) + 1)]
    lap = csgraph.laplacian(adj).tocsr()
    diag = [lap[v][:, v].toarray() for v in levels]
    off = [lap[a][:, b].toarray() for a, b in zip(levels[:-1], levels[1:], strict=True)]
    return LevelGraph(levels, diag, off, m)


@dataclass
class Factor:
    sinv: list[np.ndarray]   # S_k^{-1}, (pools, w_k, w_k)
    mult: list[np.ndarray]   # M_k = S_k^{-1} B_k, (pools, w_k, w_{k+1})
    logdet: np.ndarray       # log det A per pool


def factor(graph: LevelGraph, scale: float, q: np.ndarray, with_logdet: bool) -> Factor:
    """Block LDL' of ``A = scale L + diag(q)``; q is (pools, m) in local node order."""
    sinv, mult = [], []
    logdet = np.zeros(q.shape[0])
    carry = None
    for k, nodes in enumerate(graph.levels):
        S = scale * graph.diag[k][None] + _diag_matrix(q[:, nodes])
        if carry is not None:
            S = S - carry
        if with_logdet:
            chol = np.linalg.cholesky(S)
            logdet += 2.0 * np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2)), axis=1)
        Si = np.linalg.inv(S)
        sinv.append(Si)
        if k < len(graph.off):
            B = scale * graph.off[k]
            Mk = Si @ B
            mult.append(Mk)
            carry = B.T @ Mk
    return Factor(sinv, mult, logdet)


def _diag_matrix(v: np.ndarray) -> np.ndarray:
    out = np.zeros(v.shape + (v.shape[-1],))
    idx = np.arange(v.shape[-1])
    out[:, idx, idx] = v
    return out


def solve(graph: LevelGraph, fac: Factor, rhs: np.ndarray) -> np.ndarray:
    """``A^{-1} rhs`` for rhs of shape (pools, m, k), local node order."""
    z = []
    prev = None
    for k, nodes in enumerate(graph.levels):
        r = rhs[:, nodes]
        if prev is not None:
            r = r - np.swapaxes(fac.mult[k - 1], 1, 2) @ prev
        z.append(r)
        prev = r
    out = np.empty_like(rhs)
    nxt = None
    for k in range(len(graph.levels) - 1, -1, -1):
        x = fac.sinv[k] @ z[k]
        if nxt is not None:
            x = x - fac.mult[k] @ nxt
        out[:, graph.levels[k]] = x
        nxt = x
    return out


def diag_inverse(graph: LevelGraph, fac: Factor) -> np.ndarray:
    """``diag(A^{-1})`` (pools, m) by the block selected-inverse recursion."""
    out = np.empty((fac.logdet.size, graph.size))
    G = None
    for k in range(len(graph.levels) - 1, -1, -1):
        G = fac.sinv[k] if G is None else fac.sinv[k] + fac.mult[k] @ G @ np.swapaxes(
            fac.mult[k], 1, 2)
        out[:, graph.levels[k]] = np.diagonal(G, axis1=1, axis2=2)
    return out
