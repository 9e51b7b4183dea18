"""The former dense eigenbasis Laplace step (tiles), kept only for one old test (internal).

Not used by ``models.smoothing_spatial`` any more: the spatial fit is now the exact
whole-component one in ``models.smoothing_spatial_fit``.  ``tests/models/test_smoothing.py``
still imports ``_laplace, _posterior_op, _prior_sd, _units`` for
``test_spatial_frozen_hessian_mode_is_exact_and_variance_close``; delete this module together
with that test (the frozen-Hessian property is now tested in
``tests/models/test_smoothing_spatial.py``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse, special
from scipy.sparse import csgraph

WHOLE = 300
TILE_CORE = 64
INTERCEPT_SD = 1.0
MAX_NEWTON = 50
NEWTON_TOL = 1e-7


@dataclass
class _Unit:
    """A dense block: areas (global ids), which are core, eigenbasis and edge geometry."""

    areas: np.ndarray
    core: np.ndarray
    rho: np.ndarray
    U: np.ndarray
    scale: float
    ei: np.ndarray
    ej: np.ndarray
    resist: np.ndarray
    outer: np.ndarray  # (m, m * m): row i = vec(u_i u_i'), u_i the i-th row of U


def _bisect(nodes: np.ndarray, adj: sparse.csr_matrix) -> list[np.ndarray]:
    """Cut a connected node set into compact parts of <= TILE nodes (BFS-distance halves)."""
    if nodes.size <= TILE_CORE:
        return [nodes]
    sub = adj[nodes][:, nodes]
    far = int(csgraph.breadth_first_order(sub, 0, return_predecessors=False)[-1])
    dist = csgraph.shortest_path(sub, unweighted=True, indices=far)
    order = np.lexsort((np.arange(nodes.size), dist))
    half = nodes.size // 2
    return _bisect(nodes[order[:half]], adj) + _bisect(nodes[order[half:]], adj)


def _make_unit(areas: np.ndarray, core: np.ndarray, adj: sparse.csr_matrix) -> _Unit:
    sub = adj[areas][:, areas].tocoo()
    lap = csgraph.laplacian(sub.astype(float)).toarray()
    rho, U = np.linalg.eigh(lap)
    rho[0] = 0.0  # the constant vector (component is connected)
    U[:, 0] = 1.0 / np.sqrt(areas.size)
    inv = np.zeros_like(rho)
    inv[1:] = 1.0 / rho[1:]
    lplus = (U * inv) @ U.T
    scale = float(np.exp(np.mean(np.log(np.diag(lplus)))))
    upper = sub.row < sub.col
    ei, ej = sub.row[upper], sub.col[upper]
    resist = lplus[ei, ei] + lplus[ej, ej] - 2 * lplus[ei, ej]
    outer = (U[:, :, None] * U[:, None, :]).reshape(areas.size, -1)
    return _Unit(areas, core, rho, U, scale, ei, ej, resist, outer)


def _units(areas: np.ndarray, adj: sparse.csr_matrix) -> tuple[list[_Unit], np.ndarray]:
    """Dense units for the induced graph on ``areas``; also the singleton (island) areas."""
    sub = adj[areas][:, areas]
    ncomp, lab = csgraph.connected_components(sub, directed=False)
    units, islands = [], []
    for c in range(ncomp):
        comp = np.flatnonzero(lab == c)
        if comp.size == 1:
            islands.append(areas[comp[0]])
            continue
        parts = [comp] if comp.size <= WHOLE else _bisect(comp, sub)
        for part in parts:
            ext = np.union1d(part, sub[part].indices) if len(parts) > 1 else part
            k, lab2 = csgraph.connected_components(sub[ext][:, ext], directed=False)
            for c2 in range(k):
                piece = ext[lab2 == c2]
                core = np.isin(piece, part)
                if core.any():
                    units.append(_make_unit(areas[piece], core, adj))
    return units, np.asarray(islands, np.int64)


# --- batched Laplace fit -------------------------------------------------------------------

def _prior_sd(unit: _Unit, sig2: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """sqrt of the prior covariance eigenvalues, (pools x m)."""
    m = unit.rho.size
    inv = np.zeros(m)
    inv[1:] = 1.0 / (unit.scale * unit.rho[1:])
    lam = sig2[:, None] * ((1 - phi)[:, None] + phi[:, None] * inv[None, :])
    lam[:, 0] = sig2 * (1 - phi) + m * INTERCEPT_SD**2
    return np.sqrt(lam)


def _posterior_op(unit, sq, d):
    """B = diag(sq) (I + diag(sq) U' D U diag(sq))^{-1} diag(sq) in the eigenbasis, batched.

    ``U' D U = sum_i d_i u_i u_i'`` is one matrix product with the unit's ``outer`` table.
    """
    m = unit.U.shape[0]
    UtDU = (d @ unit.outer).reshape(-1, m, m)
    W = sq[:, :, None] * UtDU * sq[:, None, :] + np.eye(m)[None]
    return sq[:, :, None] * np.linalg.inv(W) * sq[:, None, :]


def _laplace(y, n, x0, sig2, phi, mu0, unit):
    """Mode and marginal variance of eta - mu0 for a batch of pools on one unit.

    Fixed-point (quasi-Newton) iteration ``x = (Q + D0)^{-1} (D0 x + y - n p(x))`` with the
    Hessian D0 = n p (1 - p) frozen at the start (the EB posterior share): its fixed point
    is the exact mode.  The covariance ``U B U'`` also uses D0 instead of D at the mode;
    the start is within ~0.01 of the mode on the share scale, so D moves by a few % and the
    variances by ~1e-3 relatively or less (tested against the refreshed Hessian).  One
    inversion per pool and unit instead of two: half the cost of the fit.
    """
    U = unit.U
    sq = _prior_sd(unit, sig2, phi)
    x = x0.copy()
    p = special.expit(mu0[:, None] + x)
    d = n * p * (1 - p)
    B = _posterior_op(unit, sq, d)
    step = np.full(x.shape[0], np.inf)
    for _ in range(MAX_NEWTON):
        p = special.expit(mu0[:, None] + x)
        r = d * x + (y - n * p)
        xn = ((B @ (r @ U)[:, :, None])[:, :, 0]) @ U.T
        step = np.max(np.abs(xn - x), axis=1)
        x = xn
        if np.all(step < NEWTON_TOL):
            break
    var = B.reshape(B.shape[0], -1) @ unit.outer.T
    return x, var, (step < NEWTON_TOL) & np.all(np.isfinite(x), axis=1)
