"""GLR second detector and detectability of the CUSUM."""
from __future__ import annotations

import numpy as np
import pytest

from models.cusum_calibration import run_length
from models.detectability import detectable_srb
from models.glr import binomial_glr, glr_run_maxima, glr_threshold
from models.srb import share_from_srb


def naive_glr(boys, births, p0, h, window):
    """Sequential definition: max over windows after the last alarm, restart after alarms."""
    n_series, n_periods = boys.shape
    stat = np.zeros((n_series, n_periods))
    alarm = np.zeros((n_series, n_periods), dtype=bool)
    for s in range(n_series):
        restart = 0
        for t in range(n_periods):
            best = 0.0
            for start in range(max(restart, t - window + 1), t + 1):
                b, n = boys[s, start:t + 1].sum(), births[s, start:t + 1].sum()
                e = (births[s, start:t + 1] * p0[s, start:t + 1]).sum()
                if n > 0 and b / n > e / n:
                    q, q0 = b / n, e / n
                    llr = b * np.log(q / q0) + ((n - b) * np.log((1 - q) / (1 - q0)) if n > b else 0.0)
                    best = max(best, llr)
            stat[s, t] = best
            if best > h:
                alarm[s, t] = True
                restart = t + 1
    return stat, alarm


def test_glr_matches_sequential_definition():
    rng = np.random.default_rng(9)
    births = rng.poisson(30, size=(12, 80))
    births[:, 10:13] = 0  # empty periods
    share = share_from_srb(rng.choice([106.0, 130.0], size=(12, 1)))
    boys = rng.binomial(births, share)
    p0 = np.broadcast_to(rng.uniform(0.5, 0.53, size=(12, 80)), births.shape)
    result = binomial_glr(boys, births, p0, 4.0, window_periods=9)
    stat, alarm = naive_glr(boys, births, p0, 4.0, 9)
    assert alarm.sum() > 5
    np.testing.assert_allclose(result.statistic, stat, atol=1e-9)
    np.testing.assert_array_equal(result.alarm, alarm)
    assert np.all((result.onset >= 0) == (result.statistic > 0))


def test_glr_threshold_gives_its_arl_in_simulation():
    h, rel_se = glr_threshold(40.0, 0.515, 100.0, window_periods=10, n_runs=1500, n_periods=200, seed=3)
    rng = np.random.default_rng(4)
    births = rng.poisson(40, size=(1000, 400))
    alarms = binomial_glr(rng.binomial(births, 0.515), births, 0.515, h, window_periods=10).alarm.sum()
    empirical = births.size / alarms
    assert abs(empirical / 100.0 - 1) < 4 * (rel_se + 1 / np.sqrt(alarms))


def test_simulated_run_maxima_are_the_charts_own():
    # the simulation's table look-ups compute exactly binomial_glr's statistic: same draws
    # (Poisson births, then binomial boys, from one seeded generator), no alarm (h huge)
    maxima = glr_run_maxima(3.0, 0.52, window_periods=13, n_runs=70, n_periods=150, seed=21)
    rng = np.random.default_rng(21)
    births = rng.poisson(3.0, size=(70, 150))
    boys = rng.binomial(births, 0.52)
    chart = binomial_glr(boys, births, 0.52, 1e9, window_periods=13)
    np.testing.assert_allclose(maxima, chart.statistic.max(axis=1), rtol=1e-12, atol=1e-12)


def test_one_simulation_serves_every_arl0():
    arl0 = np.array([150.0, 400.0])
    h, rel_se = glr_threshold(8.0, 0.515, arl0, window_periods=8, n_runs=300, n_periods=300, seed=5)
    for k, target in enumerate(arl0):
        assert (h[k], rel_se[k]) == glr_threshold(8.0, 0.515, float(target), window_periods=8, n_runs=300,
                                                  n_periods=300, seed=5)
    assert h[0] < h[1]


def test_glr_bad_input():
    with pytest.raises(ValueError, match="p0 must lie"):
        binomial_glr(np.array([[1, 2]]), np.array([[3, 3]]), 1.5, 3.0)
    with pytest.raises(ValueError, match="window_periods"):
        binomial_glr(np.array([[1, 2]]), np.array([[3, 3]]), 0.5, 3.0, window_periods=0)
    with pytest.raises(ValueError, match="ARL0"):
        glr_threshold(10.0, 0.5, 1.0, seed=1)


def test_detectable_srb_is_where_arl1_meets_the_horizon():
    p0, odds, h = 0.5146, 1.0943, 5.0
    srb = detectable_srb(np.array([30.0, 300.0]), p0, odds, h)
    for births, found in zip((30.0, 300.0), srb, strict=True):
        at, _ = run_length(births, p0, odds, h, share_true=float(share_from_srb(found)))
        below, _ = run_length(births, p0, odds, h, share_true=float(share_from_srb(found - 0.3)))
        assert at <= 52.0 * 1.01 and below > 52.0 * 0.99
    assert srb[1] < srb[0]  # more births, smaller detectable shift
    assert np.isinf(detectable_srb(0.5, p0, odds, 8.0))  # one birth a fortnight: nothing in a year
    with pytest.raises(ValueError, match="threshold"):
        detectable_srb(30.0, p0, odds, 0.0)
