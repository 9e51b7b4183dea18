"""The figures expectations/README.md gives for the delivery-SRB checks, computed exactly.

The rule (registry.city_srb_in_range, registry.district_srb_in_range): a delivery fails
when the Wilson interval of its boys' share at z = 3.89, mapped to SRB = 100 p / (1 - p),
lies wholly outside 95-130. Intervals here come from statsmodels' ``proportion_confint``
(method "wilson"), not from our SQL, and probabilities sum binomial masses over every
count of boys, so the figures are exact, not simulated. The last test checks that the SQL
(sql/quality/registry_delivery_srb.sql) draws the same line.
"""
from __future__ import annotations

import duckdb
import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from expectations import DEFAULT_THRESHOLDS as T
from expectations.queries import run_quality_query

ALPHA = 2 * stats.norm.sf(T.delivery_srb_z)
SHARE_106 = 106 / 206
SHARE_140 = 140 / 240


def _srb(share):
    with np.errstate(divide="ignore"):
        return np.where(share >= 1, np.inf, 100 * share / (1 - share))


def _fails(n: int) -> np.ndarray:
    boys = np.arange(n + 1)
    low, high = proportion_confint(boys, n, alpha=ALPHA, method="wilson")
    return (_srb(low) > T.delivery_srb_max) | (_srb(high) < T.delivery_srb_min)


def _p_fail(n: int, share: float) -> float:
    return float(stats.binom.pmf(np.arange(n + 1), n, share)[_fails(n)].sum())


def _p_point_outside(n: int, share: float) -> float:
    boys = np.arange(n + 1)
    srb = _srb(boys / n)
    outside = (srb < T.delivery_srb_min) | (srb > T.delivery_srb_max)
    return float(stats.binom.pmf(boys, n, share)[outside].sum())


def test_a_point_rule_would_stop_one_valid_300_birth_night_in_five():
    assert _p_point_outside(300, SHARE_106) == pytest.approx(0.2217, abs=1e-4)
    assert _p_fail(300, SHARE_106) == pytest.approx(6.12e-7, rel=1e-2)


def test_worst_false_failure_rate_per_area_and_night():
    rates = {n: _p_fail(n, SHARE_106) for n in range(1, 2001)}
    worst = max(rates, key=rates.get)
    assert worst == 27 and rates[worst] == pytest.approx(1.35e-5, rel=1e-2)
    assert rates[100] == pytest.approx(4.79e-6, rel=1e-2) and rates[1000] == pytest.approx(8.49e-9, rel=1e-2)


def test_all_boys_fail_from_twenty_births():
    # no girls: the Wilson lower end of the share is n / (n + z^2), i.e. SRB 100 n / z^2
    assert not _fails(19)[19] and _fails(20)[20]


def test_srb_140_needs_a_city_sized_delivery():
    assert _p_fail(11285, SHARE_140) < 0.5 <= _p_fail(11286, SHARE_140)
    assert _p_fail(19934, SHARE_140) < 0.9 <= _p_fail(19935, SHARE_140)


@pytest.mark.parametrize(("boys", "girls"), [(20, 0), (19, 0), (150, 150), (40, 80), (170, 130)])
def test_the_sql_draws_the_same_line(boys, girls):
    con = duckdb.connect()
    con.execute("create table area_ancestors as select 'V' as area_code, 'C' as ancestor_code, 0 as ancestor_depth")
    con.execute("create table births as select 1 as delivery_id, 'V' as area_code, "
                "case when i < $boys then 'M' else 'F' end as sex from range($n) t(i)",
                {"boys": boys, "n": boys + girls})
    frame = run_quality_query(con, "registry_delivery_srb", {
        "delivery_ids": [1], "area_depth": 0, "z": T.delivery_srb_z,
        "srb_min": T.delivery_srb_min, "srb_max": T.delivery_srb_max})
    fails_sql = not (T.delivery_srb_min <= frame["srb_closest_to_range"].iloc[0] <= T.delivery_srb_max)
    assert fails_sql == bool(_fails(boys + girls)[boys])
