"""Missing girls and funnel limits against theory."""
from __future__ import annotations

import numpy as np
from scipy import stats

from reports.indicators import funnel_limits, missing_girls


def test_missing_girls_is_zero_at_the_reference_ratio_and_counts_the_gap():
    assert missing_girls(1060, 1000, 100.0, 112.0, 106.0)[0] == 0.0
    # 1200 boys at a natural 1.06 would come with 1132.08 girls; 1000 were born
    estimate, lower, upper = missing_girls(1200, 1000, 110.0, 130.0, 106.0)
    assert round(estimate, 2) == 132.08
    assert lower < estimate < upper


def test_missing_girls_interval_ends_sit_at_the_srb_interval_ends():
    """Each end is births · (p / R_ref − (1 − p)) with p = srb / (100 + srb) the share of boys at
    that end of the SRB interval: the 1000 births split at the interval's SRB."""
    _, lower, upper = missing_girls(500, 500, 106.0, 120.0, 106.0)
    # at SRB = reference the births split exactly as expected: zero missing
    assert abs(lower) < 1e-9
    # at SRB 120: boys 1000 · 120/220 = 545.45, girls 454.55; 545.45 / 1.06 − 454.55 = 60.03
    share = 120.0 / 220.0
    assert abs(upper - 1000 * (share / 1.06 - (1 - share))) < 1e-9
    assert round(upper, 2) == 60.03
    # a lower end below the reference gives negative missing girls (more girls than expected)
    _, below, _ = missing_girls(500, 500, 100.0, 120.0, 106.0)
    assert round(below, 2) == round(1000 * (0.5 / 1.06 - 0.5), 2) == -28.30


def test_funnel_limits_cover_the_binomial_and_narrow_with_births():
    births = np.array([50.0, 200.0, 1000.0, 10000.0])
    lower, upper = funnel_limits(births, 106.0, 0.95)
    assert np.all(np.diff(upper) < 0) and np.all(np.diff(lower) > 0)
    # large n: the normal approximation of Spiegelhalter (2005), eq. (4)
    p0 = 106 / 206
    share = p0 + stats.norm.ppf(0.975) * np.sqrt(p0 * (1 - p0) / 10000)
    assert abs(upper[-1] - 100 * share / (1 - share)) < 0.3
    wide_lower, wide_upper = funnel_limits(births, 106.0, 0.998)
    assert np.all(wide_upper > upper) and np.all(wide_lower < lower)


def test_funnel_limits_are_defined_between_whole_births():
    """Regression: a chart's grid of fractional births gave NaN limits (no funnel drawn)."""
    lower, upper = funnel_limits(np.linspace(1000.0, 2000.0, 7), 106.0, 0.95)
    assert np.isfinite(lower).all() and np.isfinite(upper).all()
