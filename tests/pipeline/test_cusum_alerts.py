"""The CUSUM alert stage end to end through `surveil run` on a tiny registry (issue 4).

Registries are made here, with seeded draws: every village has, each week (Mondays from
2024-01-01), 4 first and 4 second births at SRB 100, so the charts have nothing to find in
control; the false-alarm budget is lowered to 2 a year so that chance alarms stay rare, and
the charts are tuned to +40 SRB points: at 8 births a week a +10 chart drifts down so slowly
in control that an excursion begun by chance months earlier carries on into the shift, and
Page's onset estimate with it. Births are registered on the day they happen, so an
``--asof`` run on a Sunday sees whole weeks and the records a full run saw up to then.
Baselines are shortened (window 26, guard 26 weeks) to keep the registry small, and so is the
warm-up (the charts start once the city's baseline holds 8 weeks and 100 births: week 34). A
city of 24 births a week per stratum cannot know its own SRB to better than +/-10 points in
that time (its first 20 weeks of first births came out at SRB 86-93 by chance), so the city's
baseline leans on the reference SRB with as many pseudo-births as the areas' prior.
"""
from __future__ import annotations

import datetime as dt
import random

import pytest

from tests.conftest import record

START = dt.date(2024, 1, 1)
SHIFT_WEEK = 40


def config(weeks: int, extra: str = "", prior_births: int = 200) -> str:
    """Settings for a registry of ``weeks`` weeks, run as on the Sunday ending its last week
    (the gate compares each month's volume with a year earlier: a run long after the data
    would see empty months)."""
    asof = START + dt.timedelta(weeks=weeks) - dt.timedelta(days=1)
    return (f"\n[run]\nasof = {asof.isoformat()}\n\n[surveillance]\nbaseline_window_periods = 26\n"
            f"baseline_guard_periods = 26\nbaseline_prior_births = {prior_births}\nfalse_alarms_per_year = 2\n"
            f"false_alarms_per_year_parity_2_within_policy = 1\ncusum_shift_srb = 40\n"
            f"cusum_shift_srb_parity_2_within_policy = 40\ncusum_warmup_periods = 8\ncusum_warmup_births = 100\n"
            f"baseline_reference_prior_births = {prior_births}\n{extra}")


def births(prefix: str, area: str, week: int, boys: int, girls: int, birth_order: int) -> list[str]:
    """``boys + girls`` births, each a boy with probability boys / (boys + girls); the draw is
    seeded by the cell (a registry split exactly evenly every week fails the gate's
    under-dispersion check)."""
    day = START + dt.timedelta(weeks=week)
    draw = random.Random(f"{area}-{week}-{birth_order}")
    return [record(f"{prefix}{area}-{week}-{birth_order}-{k}", birth_date=day.isoformat(),
                   sex="M" if draw.random() * (boys + girls) < boys else "F",
                   birth_order=str(birth_order), area_code=area, registered_date=day.isoformat())
            for k in range(boys + girls)]


def counted(lines: list[str], areas: tuple[str, ...], birth_order: str, first: dt.date, last: dt.date) -> tuple:
    """Boys and girls among the lines' births in ``areas`` of one birth order, first..last week."""
    cells = [line.split(",") for line in lines]
    sexes = [c[2] for c in cells if c[4] in areas and c[3] == birth_order
             and first <= dt.date.fromisoformat(c[1]) <= last + dt.timedelta(days=6)]
    return sexes.count("M"), sexes.count("F")


def shifted_town(weeks: int = 60, first_week: int = 0, prefix: str = "R") -> list[str]:
    """From SHIFT_WEEK on, second births in town T2 (V3, V4) at 6 boys : 2 girls a week each,
    balanced by 2 : 6 in town T1 (V1, V2) of the same district D1, so the city and each
    district stay at SRB 100 for the gate (registry.city_srb_in_range, district_srb_in_range)."""
    lines = []
    for week in range(first_week, weeks):
        for area in ("V1", "V2", "V3", "V4", "V5", "V6"):
            lines += births(prefix, area, week, 2, 2, 1)
            is_shifted = week >= SHIFT_WEEK and area in ("V1", "V2", "V3", "V4")
            boys, girls = ((6, 2) if area in ("V3", "V4") else (2, 6)) if is_shifted else (2, 2)
            lines += births(prefix, area, week, boys, girls, 2)
    return lines


def cusum_alerts(registry, where: str = "true") -> list[tuple]:
    return registry.query(
        "select alert_id, area_code, stratum, detected_period, onset_period, last_alarm_period, boys, girls, status "
        f"from alerts where method = 'cusum' and {where} order by all")


def test_planted_second_birth_shift_alerts_once_with_onset_and_evidence(registry, surveil):
    registry.write_config(config(60))
    lines = shifted_town()
    registry.deliver("a.csv", lines)
    assert surveil("run", "--config", registry.config).exit_code == 0
    alerts = cusum_alerts(registry, "area_code = 'T2' and stratum = 'parity_2'")
    assert len(alerts) == 1, alerts  # one episode, however often the chart re-alarmed
    alert_id, _, _, detected, onset, last_alarm, boys, girls, _ = alerts[0]
    alarms = registry.query("select count(*) from cusum_paths where area_code = 'T2' and stratum = 'parity_2' "
                            "and is_alarm")[0][0]
    assert alarms >= 2, "a sustained shift re-alarms after each reset: merged into the episode"
    shift_start = START + dt.timedelta(weeks=SHIFT_WEEK)
    assert abs((onset - shift_start).days) <= 14
    assert shift_start < detected <= last_alarm
    # evidence: T2's second births from onset to the episode's last alarm
    assert (boys, girls) == counted(lines, ("V3", "V4"), "2", onset, last_alarm)
    assert cusum_alerts(registry, "area_code = 'T2' and stratum = 'parity_1'") == []
    assert cusum_alerts(registry, "area_code = 'T2' and stratum = 'parity_2_within_policy'")
    # tables for the reports
    assert registry.query("select count(distinct (area_code, stratum)) from cusum_paths") == [(6 * 5,)]
    # no third births at all: that chart cannot detect anything, and says so
    assert registry.query("select stratum from detectability where area_code = 'C' "
                          "and min_detectable_srb is null") == [("parity_3plus",)]
    # a rerun on the same inputs: same alerts, same ids, nothing duplicated
    before = registry.query("select * from alerts order by all")
    assert surveil("run", "--config", registry.config).exit_code == 0
    assert registry.query("select * from alerts order by all") == before

    # closed by people: more weeks of the same shift update nothing in the closed alert; a
    # later crossing after the reset is a new episode with a new id and a later onset
    assert surveil("alerts", "close", alert_id, "--config", registry.config).exit_code == 0
    closed = registry.query("select * from alerts where alert_id = $a", {"a": alert_id})
    registry.deliver("b.csv", shifted_town(80, 60, "S"))
    registry.write_config(config(80))
    assert surveil("run", "--config", registry.config).exit_code == 0
    assert registry.query("select * from alerts where alert_id = $a", {"a": alert_id}) == closed
    later = cusum_alerts(registry, f"area_code = 'T2' and stratum = 'parity_2' and alert_id <> '{alert_id}'")
    assert later, "the chart crossed again after the closed episode"
    assert all(row[4] > last_alarm and row[8] == "new" for row in later)


def mix_change(weeks: int = 50, change_week: int = 30) -> list[str]:
    """Town T1 swaps first births (SRB 100) for third births (SRB 300, as before) from
    change_week on; T2 mirrors it with third births at SRB 33 so the city and district D1 stay
    near 100 for the gate; T3 (district D2) is plain."""
    lines = []
    for week in range(weeks):
        is_changed = week >= change_week
        for area in ("V1", "V2", "V3", "V4", "V5", "V6"):
            lines += births("M", area, week, 2, 2, 2)
            if area in ("V5", "V6"):
                lines += births("M", area, week, 2, 2, 1)
                continue
            lines += births("M", area, week, *((1, 1) if is_changed else (4, 4)), 1)
            third = (9, 3) if is_changed else (3, 1)
            lines += births("M", area, week, *(third if area in ("V1", "V2") else third[::-1]), 3)
    return lines


@pytest.mark.parametrize(("is_risk_adjusted", "alarms"), [(True, False), (False, True)])
def test_birth_order_mix_change_alarms_only_the_unadjusted_all_chart(registry, surveil, is_risk_adjusted, alarms):
    # a small prior: the classes' baselines are the town's own (its parent has other classes' mix)
    registry.write_config(config(50, f"cusum_risk_adjusted = {str(is_risk_adjusted).lower()}\n", prior_births=10))
    registry.deliver("a.csv", mix_change())
    assert surveil("run", "--config", registry.config).exit_code == 0
    found = cusum_alerts(registry, "area_code = 'T1' and stratum = 'all' and detected_period >= '2024-07-22'")
    assert bool(found) is alarms, found


def test_asof_reproduces_the_alerts_a_full_run_detected_by_then(registry, surveil, tmp_path):
    from tests.conftest import Registry

    lines = shifted_town(70)
    both = 'detectors = ["cusum", "level", "glr"]\nglr_window_periods = 13\n'  # the GLR too
    registry.write_config(config(70, both))
    registry.deliver("a.csv", lines)
    assert surveil("run", "--config", registry.config).exit_code == 0
    asof = START + dt.timedelta(weeks=56) - dt.timedelta(days=1)  # a Sunday: whole weeks
    replay = Registry(tmp_path / "replay")
    replay.write_config(config(70, both))
    replay.deliver("a.csv", lines)
    assert surveil("run", "--config", replay.config, "--asof", asof.isoformat()).exit_code == 0
    columns = "alert_id, area_code, stratum, method, detected_period, onset_period"
    full = registry.query(f"select {columns} from alerts where detected_period <= $d order by all", {"d": asof})
    assert {"cusum", "glr"} <= {row[3] for row in full}
    assert replay.query(f"select {columns} from alerts order by all") == full


def high_from_the_start(weeks: int = 60, late_week: int = 35) -> list[str]:
    """Second births at SRB 130 from the first week on in every village (13 boys : 10 girls a
    week each; first births 4 : 4), as parity strata are in Chinese registries: high, but no
    rise. Town T3 (V5, V6) has no second births until ``late_week``, then 6 : 2 (SRB 300)."""
    lines = []
    for week in range(weeks):
        for area in ("V1", "V2", "V3", "V4", "V5", "V6"):
            lines += births("H", area, week, 4, 4, 1)
            if area in ("V5", "V6"):
                if week >= late_week:
                    lines += births("H", area, week, 6, 2, 2)
                continue
            lines += births("H", area, week, 13, 10, 2)
    return lines


def warmup_config(extra: str = "") -> str:
    """Default-like baselines (the city its own history), shortened; charts tuned to +20 with a
    budget of 0.5 false alerts a year, so chance alarms in 40 charted weeks stay unlikely."""
    asof = START + dt.timedelta(weeks=60) - dt.timedelta(days=1)
    return (f"\n[run]\nasof = {asof.isoformat()}\n\n[surveillance]\nbaseline_window_periods = 26\n"
            "baseline_guard_periods = 13\nfalse_alarms_per_year = 0.5\n"
            "false_alarms_per_year_parity_2_within_policy = 0.5\ncusum_shift_srb = 20\n"
            f"cusum_shift_srb_parity_2_within_policy = 20\n{extra}")


def test_warm_up_no_alarm_on_a_stratum_high_from_the_start_and_borrowed_baselines(registry, surveil):
    # the city's second births: 92 a week, so its baseline holds 1,000 births after 11 weeks
    # behind the 13-week guard band: the charts start in week 24
    registry.write_config(warmup_config("cusum_warmup_periods = 8\ncusum_warmup_births = 1000\n"))
    registry.deliver("a.csv", high_from_the_start())
    assert surveil("run", "--config", registry.config).exit_code == 0
    start = START + dt.timedelta(weeks=24)
    first_evidence = registry.query("select min(period_start) from cusum_paths where stratum = 'parity_2' "
                                    "and statistic > 0")[0][0]
    assert start <= first_evidence < start + dt.timedelta(weeks=4)
    # SRB 130 from the start is no rise: no alert where the second births stayed as they were
    # (T3's late births do lift the city's and D2's)
    assert cusum_alerts(registry, "area_code in ('D1', 'T1', 'T2') and stratum like 'parity_2%'") == []
    # T3 had no second births of its own before week 35: judged against its ancestors' (D2 had
    # none either: the city's), and the alert says so
    late = registry.query("select onset_period, baseline_note from alerts where method = 'cusum' "
                          "and area_code = 'T3' and stratum = 'parity_2'")
    assert len(late) == 1
    onset, note = late[0]
    assert abs((onset - (START + dt.timedelta(weeks=35))).days) <= 14
    assert note == "no own history: baseline borrowed from the parent area"


def test_without_warm_up_the_reference_raises_the_early_noise(registry, surveil):
    # the behaviour the warm-up replaces: every chart judged from week 0, against a city
    # baseline leaning on the reference SRB 106 (1,000 pseudo-births) while it knows little
    registry.write_config(warmup_config("cusum_warmup_periods = 0\ncusum_warmup_births = 0\n"
                                        "baseline_reference_prior_births = 1000\n"))
    registry.deliver("a.csv", high_from_the_start())
    assert surveil("run", "--config", registry.config).exit_code == 0
    early = cusum_alerts(registry, "area_code in ('D1', 'T1', 'T2') and stratum like 'parity_2%'")
    assert early and all(row[4] < START + dt.timedelta(weeks=24) for row in early)


def test_regression_a_city_of_one_boy_does_not_stop_the_run(registry, surveil):
    # bug: with the city judged against its own history, a first week of one birth (a boy)
    # made its baseline share 1 and the chart's odds ratio NaN, before any chart could start
    lines = births("B", "V1", 0, 1, 0, 1) + [line for week in range(1, 12) for line in births("B", "V2", week, 3, 3, 1)]
    registry.write_config(f"\n[run]\nasof = {(START + dt.timedelta(weeks=12, days=-1)).isoformat()}\n"
                          "\n[surveillance]\nbaseline_window_periods = 4\nbaseline_guard_periods = 0\n"
                          "cusum_warmup_periods = 1\ncusum_warmup_births = 0\n")
    registry.deliver("a.csv", lines)
    result = surveil("run", "--config", registry.config)
    assert result.exit_code == 0, result.stdout
    assert registry.query("select min(srb_expected) > 0 and max(srb_expected) < 1000 from cusum_paths") == [(True,)]


@pytest.mark.parametrize(("setting", "message"), [
    ("cusum_shift_srb = 0", "[surveillance.cusum_shift_srb]"),
    ("false_alarms_per_year_parity_2_within_policy = -1", "[surveillance.false_alarms_per_year_parity_2"),
    ("reference_srb = 0", "[surveillance.reference_srb]"),
    ('detectors = ["cusum", "psychic"]', "[surveillance.detectors"),
    ("false_alarms_per_year = 100000", "ARL0 <= 1"),
    ("cusum_warmup_births = -1", "[surveillance.cusum_warmup_births]"),
    ("glr_window_periods = 0", "[surveillance.glr_window_periods]"),
])
def test_bad_cusum_settings_exit_2_with_one_line(registry, surveil, setting, message):
    registry.write_config(f"\n[surveillance]\n{setting}\n")
    registry.deliver("a.csv", births("B", "V1", 0, 2, 2, 1) * 1)
    result = surveil("run", "--config", registry.config)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_a_city_so_large_that_its_threshold_is_near_zero_still_gets_its_detectability(tmp_path):
    """At 31,000 births a period and +10 SRB points, even h = 0 gives an ARL0 above 661 (the
    mean increment is -30 LLR units against a standard deviation of 8), so calibration returns
    h ~ 7e-6. Detectability must still be computed. With h ~ 0 the chart alarms in any period
    whose share of boys exceeds the reference value kappa = log(1 + p0 (OR - 1)) / log OR
    = 0.5310; ARL1 <= 52 periods needs P(alarm) >= 1/52, i.e. a true share 2.07 standard
    errors (sqrt(0.25 / 31,000) = 0.0028) below kappa: 0.5252, SRB 110.6 (normal
    approximation; +/- 0.3 covers it and the 0.1 grid of the search)."""
    import numpy as np

    from pipeline import db
    from pipeline.surveil_cusum import _cached_detectable

    con = db.connect(tmp_path / "surveil.duckdb")
    share = 108.2 / 208.2
    detectable = _cached_detectable(con, np.array([31_000.0]), np.array([share]), np.array([1.0924]),
                                    np.array([7e-6]))
    assert abs(detectable[0] - 110.6) <= 0.3
