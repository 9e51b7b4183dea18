"""Thresholds for a whole series x period table from a few calibrated nodes.

A chart's threshold for a given false-alarm rate depends smoothly on the series' expected
births per period and on its baseline SRB (which also sets the chart's odds ratio). Rather
than calibrate every distinct (births, SRB) pair that a tree of areas visits over the years,
thresholds are calibrated at the nodes of a grid, log-spaced in births (``births_ratio``
apart) and evenly spaced in SRB (``srb_step`` points apart), and interpolated bilinearly in
(log births, SRB) for every cell. A categorical ``group`` (e.g. the false-alarm track, with
its own ARL0 and shift) keeps separate nodes.

How far off an interpolated threshold can be is measured, not assumed: see
``tests/models/test_threshold_grid.py`` and the figures in ``models/README-cusum.md``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ThresholdGrid:
    """Nodes to calibrate, and where each cell sits between them.

    births, srb, group : (nodes,) parameters of each node (births per period, boys per 100
        girls or NaN without an SRB axis, the caller's group label), sorted by group, births
        and SRB. Only nodes with weight in some cell are listed.
    The rest locates the cells in a dense box of lattice points around the nodes (small:
    the lattice is coarse), so that interpolating needs no per-corner index arrays.
    """

    births: np.ndarray
    srb: np.ndarray
    group: np.ndarray
    box_shape: tuple[int, int, int]  # (groups, births points, SRB points) of the box
    node_in_box: np.ndarray  # (nodes,) flat box index of each node
    cell_in_box: np.ndarray  # cells shape, flat box index of each cell's lower corner
    births_weight: np.ndarray  # cells shape, in [0, 1): how far towards the next births node
    srb_weight: np.ndarray  # cells shape, in [0, 1): how far towards the next SRB node

    def interpolate(self, node_values: np.ndarray) -> np.ndarray:
        """Per-cell values (bilinear in log births and SRB) from per-node values, e.g. thresholds."""
        box = np.zeros(int(np.prod(self.box_shape)))
        box[self.node_in_box] = node_values
        up = self.box_shape[2]  # the next births point; +1 is the next SRB point
        low, births_weight, srb_weight = self.cell_in_box, self.births_weight, self.srb_weight
        at_srb_low = box[low] + births_weight * (box[low + up] - box[low])
        at_srb_high = box[low + 1] + births_weight * (box[low + up + 1] - box[low + 1])
        return at_srb_low + srb_weight * (at_srb_high - at_srb_low)


def threshold_grid(
    births: np.ndarray,
    srb: np.ndarray | None,
    group: np.ndarray | int = 0,
    *,
    births_ratio: float,
    srb_step: float = 1.0,
) -> ThresholdGrid:
    """The grid nodes around each cell and its position between them, in (log births, SRB).

    Parameters
    ----------
    births : expected births per period of each cell (> 0; clamp small volumes first).
    srb : baseline SRB of each cell, boys per 100 girls (> 0); None for a grid in births
        alone (node SRBs are then NaN).
    group : integer label (>= 0) broadcastable to the cells; nodes are not shared across groups.
    births_ratio : ratio between neighbouring births nodes (> 1), e.g. 1.2 for 20 % steps;
        nodes sit at ``births_ratio ** k``.
    srb_step : distance between neighbouring SRB nodes (> 0), nodes at ``srb_step * j``.

    Returns
    -------
    ThresholdGrid with the distinct nodes some cell needs (a cell on a node needs only
    that node) and the cells' positions; ``interpolate`` maps node values to cells.

    Raises
    ------
    ValueError for births or SRB not finite and > 0, a negative group, births_ratio <= 1 or
    srb_step <= 0.

    >>> grid = threshold_grid(np.array([1.2, 1.0]), np.array([104.0, 106.0]), births_ratio=1.2, srb_step=4.0)
    >>> grid.births.round(2).tolist(), grid.srb.tolist()
    ([1.0, 1.0, 1.2], [104.0, 108.0, 104.0])
    >>> grid.interpolate(np.array([1.0, 2.0, 3.0])).tolist()  # 1.2 sits on a node; 106 is mid-way
    [3.0, 1.5]
    >>> threshold_grid(np.array([1.1]), None, births_ratio=1.21).births.round(2).tolist()
    [1.0, 1.21]
    """
    has_srb = srb is not None
    births = np.asarray(births, dtype=float)
    srb = np.broadcast_to(np.asarray(srb if has_srb else 1.0, dtype=float), births.shape)
    group = np.broadcast_to(np.asarray(group, dtype=np.int64), births.shape)
    if not (np.all(np.isfinite(births) & (births > 0)) and np.all(np.isfinite(srb) & (srb > 0))):
        raise ValueError("births per period and SRB must be finite and > 0 at every cell")
    if group.min(initial=0) < 0:
        raise ValueError("group labels must be >= 0")
    if not (births_ratio > 1 and srb_step > 0):
        raise ValueError("need births_ratio > 1 and srb_step > 0")
    # lattice coordinates; rounding first keeps a cell that sits on a node from landing on
    # the node below through floating-point error
    births_at = np.round(np.log(births) / np.log(births_ratio), 9)
    srb_at = np.round(srb / srb_step, 9) if has_srb else np.zeros(births.shape)
    births_low, srb_low = np.floor(births_at), np.floor(srb_at)
    births_weight, srb_weight = births_at - births_low, srb_at - srb_low
    # the box: every lattice point from the lowest lower corner to one past the highest
    births_origin, srb_origin = births_low.min(initial=0.0), srb_low.min(initial=0.0)
    box_shape = (int(group.max(initial=0)) + 1, int(births_low.max(initial=0.0) - births_origin) + 2,
                 int(srb_low.max(initial=0.0) - srb_origin) + 2)
    if np.prod(box_shape, dtype=float) > 5e7:
        raise ValueError("births or SRB span too many grid nodes; widen births_ratio or srb_step")
    low = ((group * box_shape[1] + (births_low - births_origin).astype(np.int64)) * box_shape[2]
           + (srb_low - srb_origin).astype(np.int64))
    is_used = np.zeros(int(np.prod(box_shape)), dtype=bool)
    is_used[low] = True
    is_used[low[births_weight > 0] + box_shape[2]] = True
    is_used[low[srb_weight > 0] + 1] = True
    is_used[low[(births_weight > 0) & (srb_weight > 0)] + box_shape[2] + 1] = True
    node_in_box = np.flatnonzero(is_used)
    node_group, node_births, node_srb = np.unravel_index(node_in_box, box_shape)
    return ThresholdGrid(
        births=np.power(births_ratio, node_births + births_origin),
        srb=(node_srb + srb_origin) * srb_step if has_srb else np.full(node_in_box.size, np.nan),
        group=node_group,
        box_shape=box_shape,
        node_in_box=node_in_box,
        cell_in_box=low,
        births_weight=births_weight,
        srb_weight=srb_weight,
    )
