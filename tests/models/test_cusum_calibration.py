"""Run lengths, thresholds and the false-alarm budget against surveillance 1.20.3 and simulation."""
from __future__ import annotations

import numpy as np
import pytest

from models.baseline import prospective_baseline
from models.cusum import binomial_cusum, odds_ratio_for_shift
from models.cusum_calibration import (
    arl_curve,
    arl_integer_cusum,
    calibrate_threshold,
    increment_distribution,
    run_length,
    split_false_alarm_budget,
)
from models.srb import share_from_srb

P0 = 1.05 / 2.05
ODDS = 1.15 / 1.05

# surveillance 1.20.3: findH/arlCusum(distr = "binomial", digits = 2), p0 = 1.05/2.05,
# tuned to odds ratio 1.15/1.05 (k from findK); ARL in weeks.
REFERENCE = [
    # births, k, h, srb_out, arl0, arl1
    (20, 10.47, 10.25, 115.0, 50.9, 23.3),
    (100, 52.35, 17.92, 115.0, 53.0, 12.4),
    (50, 26.18, 27.41, 110.0, 267.6, 78.3),
]


@pytest.mark.parametrize(("births", "k", "h", "srb_out", "arl0", "arl1"), REFERENCE)
def test_integer_chart_reproduces_surveillance_arlcusum(births, k, h, srb_out, arl0, arl1):
    assert arl_integer_cusum(k, h, births, P0) == pytest.approx(arl0, rel=0.002)
    assert arl_integer_cusum(k, h, births, srb_out / (100 + srb_out)) == pytest.approx(arl1, rel=0.004)


@pytest.mark.parametrize(("births", "k", "h", "srb_out", "arl0", "arl1"), REFERENCE)
def test_llr_chart_maps_to_the_integer_scale(births, k, h, srb_out, arl0, arl1):
    # LLR = log(OR) * (boys - k): the same chart with h_llr = log(OR) * h and exact k;
    # within 2% although k is not rounded and the alarm is S > h rather than S >= h.
    h_llr = np.log(ODDS) * h
    arl, rel = run_length(births, P0, ODDS, h_llr, births_model="binomial")
    assert rel < 0.01
    assert arl == pytest.approx(arl0, rel=0.02)
    arl_out, _ = run_length(births, P0, ODDS, h_llr, share_true=srb_out / (100 + srb_out),
                            births_model="binomial")
    assert arl_out == pytest.approx(arl1, rel=0.02)


def test_one_factorisation_equals_separate_solves():
    values, probs = increment_distribution(30.0, 0.52, 0.53, "poisson")
    curve = arl_curve(values, probs, 0.5, 60)
    for states in (1, 7, 33, 60):
        i = np.arange(states)
        u = values / 0.5
        low = np.floor(u)
        trans = np.zeros((states, states))
        for src in i:  # split each landing point between its two grid neighbours
            for dest, weight in ((src + low, probs * (1 - (u - low))), (src + low + 1, probs * (u - low))):
                inside = dest < states
                np.add.at(trans[src], dest[inside].clip(0, None).astype(int), weight[inside])
        direct = np.linalg.solve(np.eye(states) - trans, np.ones(states))[0]
        assert curve[states - 1] == pytest.approx(direct, rel=1e-9)


def test_calibrated_threshold_gives_its_arl_in_simulation():
    # 4,000 series x 1,500 periods, renewal after each alarm: ARL0 = periods / alarms,
    # ~ 120,000 / 100 alarms, so the relative s.e. is ~ 0.1 / sqrt(alarms) -> well under 5 %.
    births_mean, arl0 = 20.0, 100.0
    odds = odds_ratio_for_shift(106.0)
    p0 = 106.0 / 206.0
    h = float(calibrate_threshold(births_mean, p0, odds, arl0).threshold)
    rng = np.random.default_rng(2024)
    births = rng.poisson(births_mean, size=(4000, 1500))
    boys = rng.binomial(births, p0)
    alarms = binomial_cusum(boys, births, p0, h, odds_ratio=odds).alarm.sum()
    empirical = births.size / alarms
    se = empirical / np.sqrt(alarms)
    assert abs(empirical - arl0) < max(4 * se, 0.02 * arl0)


def test_calibration_is_cached_and_monotone():
    births = np.array([1.0, 5.0, 20.0, 100.0, 1000.0])
    cal = calibrate_threshold(births, 0.5146, 1.0943, 2000.0)
    assert np.all(np.abs(cal.arl0 / 2000.0 - 1) < 0.01)
    assert np.all(cal.rel_change < 0.01)
    again = calibrate_threshold(births, 0.5146, 1.0943, 2000.0)
    np.testing.assert_array_equal(cal.threshold, again.threshold)
    assert np.all(cal.threshold > 0) and np.all(np.isfinite(cal.threshold))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"arl0": 1.0}, "ARL0 must be"),
        ({"arl0": 0.5}, "ARL0 must be"),
        ({"share_expected": 1.0}, "p0 must lie"),
        ({"share_expected": -0.1}, "p0 must lie"),
        ({"odds_ratio": 1.0}, "odds_ratio"),
        ({"births": -1.0}, "births"),
    ],
)
def test_calibration_bad_input(kwargs, message):
    args = {"births": 20.0, "share_expected": 0.5, "odds_ratio": 1.1, "arl0": 100.0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        calibrate_threshold(**args)


def test_budget_split_and_its_errors():
    track = np.array(["default"] * 100 + ["parity_2_within_policy"] * 10)
    arl0 = split_false_alarm_budget(track, {"default": 12.0, "parity_2_within_policy": 4.0}, 52.1775)
    assert arl0[0] == pytest.approx(52.1775 * 100 / 12)
    assert arl0[-1] == pytest.approx(52.1775 * 10 / 4)
    # the budget is met: sum of per-series false-alarm rates per year
    per_year = 52.1775 / arl0
    assert per_year[:100].sum() == pytest.approx(12.0) and per_year[100:].sum() == pytest.approx(4.0)
    with pytest.raises(ValueError, match="ARL0 <= 1"):
        split_false_alarm_budget(np.array(["a"]), {"a": 100.0}, 52.0)
    with pytest.raises(ValueError, match="no false-alarm budget"):
        split_false_alarm_budget(np.array(["b"]), {"a": 1.0}, 52.0)


def test_baseline_has_no_look_ahead():
    rng = np.random.default_rng(5)
    births = rng.poisson(30, size=(20, 300))
    boys = rng.binomial(births, 0.515)
    cut = 180
    changed_births = births.copy()
    changed_births[:, cut:] = rng.poisson(90, size=(20, 300 - cut))
    changed_boys = boys.copy()
    changed_boys[:, cut:] = rng.binomial(changed_births[:, cut:], 0.6)
    base = prospective_baseline(boys, births, window_periods=52, guard_periods=4)
    other = prospective_baseline(changed_boys, changed_births, window_periods=52, guard_periods=4)
    np.testing.assert_array_equal(base.share[:, : cut + 1], other.share[:, : cut + 1])
    assert not np.array_equal(base.share[:, cut + 5:], other.share[:, cut + 5:])
    chart = binomial_cusum(boys, births, base.share, 3.0, odds_ratio=1.1)
    chart_other = binomial_cusum(changed_boys, changed_births, other.share, 3.0, odds_ratio=1.1)
    np.testing.assert_array_equal(chart.statistic[:, :cut], chart_other.statistic[:, :cut])
    np.testing.assert_array_equal(chart.alarm[:, :cut], chart_other.alarm[:, :cut])


def test_baseline_shrinks_to_parent_and_flags_reference():
    parent = prospective_baseline(np.array([[5300] * 10]), np.array([[10000] * 10]),
                                  window_periods=4, guard_periods=0)
    child = prospective_baseline(np.zeros((2, 10)), np.zeros((2, 10)), window_periods=4, guard_periods=0,
                                 parent=parent, parent_index=np.array([0, 0]))
    assert child.is_reference[:, 0].all() and not child.is_reference[:, 1:].any()
    np.testing.assert_allclose(child.share[:, 1:], parent.share[[0, 0], 1:])
    assert child.is_short_history[:, :4].all() and not child.is_short_history[:, 4:].any()
    with pytest.raises(ValueError, match="parent_index"):
        prospective_baseline(np.zeros((2, 3)), np.zeros((2, 3)), parent=parent)


def test_a_root_without_reference_weight_is_its_own_history():
    # reference_prior_births = 0: p0 is the pooled history exactly, the reference only where
    # there is none; the default gives the reference prior_births pseudo-births
    boys, births = np.array([[0, 650, 0, 600]]), np.array([[0, 1000, 0, 1000]])
    own = prospective_baseline(boys, births, window_periods=3, guard_periods=0, reference_prior_births=0.0)
    np.testing.assert_allclose(own.share, [[share_from_srb(106.0), share_from_srb(106.0), 0.65, 0.65]])
    assert own.is_reference.tolist() == [[True, True, False, False]]
    np.testing.assert_allclose(own.own_weight, [[0.0, 0.0, 1.0, 1.0]])
    shrunk = prospective_baseline(boys, births, window_periods=3, guard_periods=0)
    np.testing.assert_allclose(shrunk.share[0, 2], (650 + 1000 * share_from_srb(106.0)) / 2000)
    with pytest.raises(ValueError, match="reference_prior_births"):
        prospective_baseline(boys, births, reference_prior_births=-1.0)
