"""Thresholds interpolated between grid nodes (the pipeline's calibration) and the nested chains."""
from __future__ import annotations

import numpy as np
import pytest

from models.cusum_calibration import (
    calibrate_nodes,
    coarser_step,
    increment_distribution,
    reference_per_birth,
    run_length,
    step_distribution,
)
from models.srb import share_from_srb
from models.threshold_grid import threshold_grid

RATIO, STEP = 1.2, 4.0  # the pipeline's grid (pipeline/surveil_cusum.py)


def test_bilinear_functions_are_reproduced_exactly():
    # bilinear interpolation is exact for any function bilinear in (log births, SRB), up to the
    # rounding of the lattice coordinates to 1e-9 (which keeps a cell on a node on it): the
    # functions below change by < 2 per lattice unit, hence 1e-8
    rng = np.random.default_rng(3)
    births = np.exp(rng.uniform(np.log(0.05), np.log(2000.0), (40, 7)))
    srb = rng.uniform(90.0, 140.0, (40, 7))
    group = rng.integers(0, 3, (40, 1))
    grid = threshold_grid(births, srb, group, births_ratio=RATIO, srb_step=STEP)

    def f(b, s, g):
        return 1.0 + 0.3 * np.log(b) - 0.02 * s + 0.004 * np.log(b) * s + 5.0 * g

    np.testing.assert_allclose(grid.interpolate(f(grid.births, grid.srb, grid.group)), f(births, srb, group),
                               rtol=0, atol=1e-8)
    assert set(np.unique(grid.group)) == set(np.unique(group))
    # without an SRB axis: exact for functions linear in log births
    line = threshold_grid(births, None, group, births_ratio=2.0)
    assert np.all(np.isnan(line.srb))
    np.testing.assert_allclose(line.interpolate(2.0 - 0.7 * np.log(line.births) + line.group),
                               2.0 - 0.7 * np.log(births) + group, rtol=0, atol=1e-8)


def test_cells_on_nodes_need_only_their_node():
    births = RATIO ** np.array([-3.0, 0.0, 5.0])
    grid = threshold_grid(births, np.array([96.0, 104.0, 132.0]), births_ratio=RATIO, srb_step=STEP)
    assert grid.births.size == 3
    np.testing.assert_allclose(np.sort(grid.births), np.sort(births))
    np.testing.assert_allclose(grid.interpolate(np.arange(3.0)), np.arange(3.0))


@pytest.mark.parametrize(("births", "srb"), [(0.7, 98.0), (5.0, 111.0), (40.0, 122.0), (300.0, 130.0)])
def test_interpolated_threshold_keeps_its_in_control_arl(births, srb):
    # cells mid-way between nodes in both directions, the worst place for interpolation.
    # Tolerance 2 % (the issue's): each node within 1 % (the chains' check), the interpolation
    # off by < 0.003 LLR units in h, i.e. < 0.3 % in ARL (an LLR chart's ARL0 grows as e^h),
    # and the 600/1,200-point chain that judges it within 0.5 %.
    births_mid = RATIO ** (np.floor(np.log(births) / np.log(RATIO)) + 0.5)
    srb_mid = STEP * (np.floor(srb / STEP) + 0.5)
    grid = threshold_grid(np.array([births_mid]), np.array([srb_mid]), births_ratio=RATIO, srb_step=STEP)
    assert grid.births.size == 4
    nodes = calibrate_nodes(grid.births, share_from_srb(grid.srb), (grid.srb + 10.0) / grid.srb, 500.0)
    h = float(grid.interpolate(nodes.threshold)[0])
    arl, check = run_length(births_mid, float(share_from_srb(srb_mid)), (srb_mid + 10.0) / srb_mid, h, states=600)
    assert check < 0.01
    assert arl == pytest.approx(500.0, rel=0.02)


@pytest.mark.parametrize("births", [0.3, 12.0, 400.0])
def test_a_grid_twice_as_wide_is_the_same_split(births):
    # splitting an atom in proportion to distance composes exactly over nested grids
    share, odds = 0.515, 1.094
    values, probs = increment_distribution(births, share, reference_per_birth(share, odds), "poisson")
    fine = step_distribution(values, probs, 0.37, 200)
    np.testing.assert_allclose(coarser_step(fine), step_distribution(values, probs, 0.74, 100), rtol=0, atol=1e-15)


def test_regression_tiny_volume_threshold_search_does_not_cycle():
    # bug: at 0.05 births a period the chain's ARL is jagged in h (the increments' lattice),
    # and the search narrowed its grid to h, found the top below ARL0, widened it, and so on
    # until it gave up ("did not converge for ARL0 122.0")
    cal = calibrate_nodes(0.05, 0.5098039215686274, 1.0961538461538463, 122.0)
    assert float(cal.threshold) > 0 and np.isfinite(cal.arl0)
    assert float(cal.arl0) == pytest.approx(122.0, rel=0.1)  # the lattice allows no better (README)


def test_threshold_grid_bad_input():
    with pytest.raises(ValueError, match="finite and > 0"):
        threshold_grid(np.array([0.0]), np.array([106.0]), births_ratio=RATIO, srb_step=STEP)
    with pytest.raises(ValueError, match="finite and > 0"):
        threshold_grid(np.array([1.0]), np.array([np.nan]), births_ratio=RATIO, srb_step=STEP)
    with pytest.raises(ValueError, match="group"):
        threshold_grid(np.array([1.0]), np.array([106.0]), -1, births_ratio=RATIO, srb_step=STEP)
    with pytest.raises(ValueError, match="births_ratio"):
        threshold_grid(np.array([1.0]), np.array([106.0]), births_ratio=1.0, srb_step=STEP)
