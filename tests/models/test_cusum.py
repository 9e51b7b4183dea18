"""Binomial CUSUM chart: exact vectorised reset, onset, evidence, risk adjustment, bad input."""
from __future__ import annotations

import numpy as np
import pytest

from models.baseline import prospective_baseline
from models.cusum import (
    alarm_evidence,
    binomial_cusum,
    cusum_reset_int,
    llr_increments,
    odds_ratio_for_shift,
)
from models.cusum_calibration import calibrate_threshold, run_length
from models.srb import share_from_srb


def naive_int(z: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The textbook sequential recursion, one series and period at a time."""
    stat = np.zeros_like(z)
    alarm = np.zeros(z.shape, dtype=bool)
    for s in range(z.shape[0]):
        level = 0
        for t in range(z.shape[1]):
            level = max(0, level + int(z[s, t]))
            stat[s, t] = level
            if level > h[s, t]:
                alarm[s, t] = True
                level = 0
    return stat, alarm


def naive_float(inc: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    stat = np.zeros_like(inc)
    alarm = np.zeros(inc.shape, dtype=bool)
    onset = np.full(inc.shape, -1)
    for s in range(inc.shape[0]):
        level, last_zero = 0.0, -1
        for t in range(inc.shape[1]):
            level = max(0.0, level + inc[s, t])
            stat[s, t] = level
            onset[s, t] = last_zero + 1 if level > 0 else -1
            if level == 0:
                last_zero = t
            if level > h:
                alarm[s, t] = True
                level, last_zero = 0.0, t
    return stat, alarm, onset


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_vectorised_reset_equals_naive_loop_exactly(seed):
    rng = np.random.default_rng(seed)
    # drifts from strongly negative (rare alarms) to strongly positive (an alarm every few periods)
    drift = rng.uniform(-3, 6, size=(300, 1)).round()
    z = rng.integers(-20, 21, size=(300, 700)) + drift.astype(np.int64)
    h = rng.integers(5, 200, size=(300, 1)) * np.ones((1, 700), dtype=np.int64)
    stat, alarm = cusum_reset_int(z, h)
    want_stat, want_alarm = naive_int(z, h)
    assert alarm.sum() > 1000  # many series alarm many times: the windows are exercised
    np.testing.assert_array_equal(stat, want_stat)
    np.testing.assert_array_equal(alarm, want_alarm)


def test_chart_matches_float_loop_with_onset():
    rng = np.random.default_rng(7)
    births = rng.poisson(40, size=(200, 400))
    share = share_from_srb(rng.choice([106.0, 112.0, 125.0], size=(200, 1)))
    boys = rng.binomial(births, share)
    p0 = share_from_srb(106.0)
    result = binomial_cusum(boys, births, p0, 3.0, odds_ratio=odds_ratio_for_shift(106.0))
    inc = llr_increments(boys.astype(float), births.astype(float), p0, odds_ratio_for_shift(106.0))
    stat, alarm, onset = naive_float(inc, 3.0)
    assert alarm.sum() > 500
    np.testing.assert_allclose(result.statistic, stat, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(result.alarm, alarm)
    np.testing.assert_array_equal(result.onset, onset)


def test_zero_birth_periods_carry_the_chart_over():
    boys = np.array([[70, 0, 0, 30, 0]])
    births = np.array([[100, 0, 0, 100, 0]])
    p0 = np.array([[0.5, np.nan, np.nan, 0.5, np.nan]])  # p0 is not looked at without births
    result = binomial_cusum(boys, births, p0, 50.0, odds_ratio=1.1)
    assert result.statistic[0, 0] > 0
    assert result.statistic[0, 1] == result.statistic[0, 2] == result.statistic[0, 0]
    assert result.onset[0, 2] == 0
    assert result.statistic[0, 4] == result.statistic[0, 3] == 0.0
    assert np.all(np.isfinite(result.statistic))


def test_alarm_evidence_counts_since_onset():
    boys = np.array([[40, 30, 60, 65, 70]])
    births = np.array([[100] * 5])
    p0 = 0.5
    result = binomial_cusum(boys, births, p0, 5.0, odds_ratio=1.2)
    ev = alarm_evidence(result, boys, births, p0)
    assert ev.period.tolist() == [4]
    assert ev.onset.tolist() == [2]  # the chart was at zero after period 1
    assert ev.boys.tolist() == [195.0] and ev.girls.tolist() == [105.0]
    assert ev.expected_boys.tolist() == [150.0]
    assert ev.srb_expected.tolist() == [100.0]


def test_risk_adjusted_increment_is_sum_of_class_increments():
    rng = np.random.default_rng(3)
    births = rng.poisson(20, size=(5, 30, 3))
    boys = rng.binomial(births, 0.52)
    p0 = np.array([0.51, 0.52, 0.58])
    adjusted = binomial_cusum(boys, births, p0, 2.0, odds_ratio=1.1)
    per_class = [binomial_cusum(boys[..., c], births[..., c], p0[c], 2.0, odds_ratio=1.1).increment
                 for c in range(3)]
    np.testing.assert_allclose(adjusted.increment, sum(per_class), atol=1e-12)


BIRTHS = 300.0


def _mix_change_registry(seed: int, n_series: int = 200):
    """300 births a period of parity 1 (SRB 104) and 3+ (SRB 142); the mix goes 90/10 -> 30/70 at 156."""
    rng = np.random.default_rng(seed)
    n_periods, change = 208, 156
    class_share = share_from_srb(np.array([104.0, 142.0]))
    mix = np.where(np.arange(n_periods)[:, None] < change, [0.9, 0.1], [0.3, 0.7])
    births = rng.poisson(BIRTHS * mix, size=(n_series, n_periods, 2))
    boys = rng.binomial(births, class_share)
    return boys, births, class_share, change


def test_pure_mix_change_alarms_unadjusted_not_risk_adjusted():
    boys, births, class_share, change = _mix_change_registry(11)
    n_series, horizon = boys.shape[0], boys.shape[1] - change
    odds = odds_ratio_for_shift(106.0)
    pooled_before = float(0.9 * class_share[0] + 0.1 * class_share[1])  # the mix the chart learned
    arl0 = 1000.0
    h = float(calibrate_threshold(BIRTHS, pooled_before, odds, arl0).threshold)
    # theory first: the unadjusted chart sees p = 0.3 p1 + 0.7 p3 instead of pooled_before
    pooled_after = float(0.3 * class_share[0] + 0.7 * class_share[1])
    arl1, _ = run_length(BIRTHS, pooled_before, odds, h, share_true=pooled_after)
    assert arl1 < 8
    unadjusted = binomial_cusum(boys.sum(-1), births.sum(-1), pooled_before, h, odds_ratio=odds)
    adjusted = binomial_cusum(boys, births, class_share, h, odds_ratio=odds)
    after = slice(change, None)
    # unadjusted: the worst start of a block is 0, so by Markov's inequality on b blocks of 52/b
    # periods P(no alarm in 52) <= (ARL1 / (52 / b))**b; the misses are a binomial count
    p_miss = min((arl1 * b / horizon) ** b for b in range(1, 9))
    misses = (~unadjusted.alarm[:, after].any(axis=1)).sum()
    assert misses <= n_series * p_miss + 4 * np.sqrt(n_series * p_miss)
    # adjusted is in control: P(alarm within 52) <= 52 / ARL0 (renewal), a binomial count
    p_false = horizon / arl0
    bound = n_series * p_false + 4 * np.sqrt(n_series * p_false * (1 - p_false))
    assert adjusted.alarm[:, after].any(axis=1).sum() <= bound


def test_mix_change_with_prospective_baselines():
    boys, births, _, change = _mix_change_registry(12)
    odds = odds_ratio_for_shift(106.0)
    h = float(calibrate_threshold(BIRTHS, 0.52, odds, 1000.0).threshold)
    pooled = prospective_baseline(boys.sum(-1), births.sum(-1))
    per_class = prospective_baseline(boys, births, reference_srb=np.array([104.0, 142.0]))
    after = slice(change, None)
    unadjusted = binomial_cusum(boys.sum(-1), births.sum(-1), pooled.share, h, odds_ratio=odds)
    adjusted = binomial_cusum(boys, births, per_class.share, h, odds_ratio=odds)
    assert unadjusted.alarm[:, after].any(axis=1).mean() > 0.95
    assert adjusted.alarm[:, after].any(axis=1).mean() < 0.15


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"share_expected": 1.2}, "p0 must lie in"),
        ({"share_expected": 0.0}, "p0 must lie in"),
        ({"odds_ratio": 0.9}, "odds_ratio must be"),
        ({"threshold": 0.0}, "threshold must be"),
        ({"threshold": np.nan}, "threshold must be"),
        ({"boys": np.array([[5, 11]])}, "0 <= boys <= births"),
        ({"boys": np.array([[5, 1, 1]])}, "same shape"),
        ({"births": np.array([[10.0, np.nan]])}, "finite"),
    ],
)
def test_bad_input_is_a_clear_error(kwargs, message):
    args = {"boys": np.array([[5, 4]]), "births": np.array([[10, 10]]), "share_expected": 0.5,
            "threshold": 3.0, "odds_ratio": 1.1}
    args.update(kwargs)
    odds = args.pop("odds_ratio")
    with pytest.raises(ValueError, match=message):
        binomial_cusum(**args, odds_ratio=odds)


def test_odds_ratio_for_shift_rejects_downward_or_nonpositive():
    with pytest.raises(ValueError, match="shift_srb"):
        odds_ratio_for_shift(106.0, -5.0)
    with pytest.raises(ValueError, match="srb_baseline"):
        odds_ratio_for_shift(0.0)
