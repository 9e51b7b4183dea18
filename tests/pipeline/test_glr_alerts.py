"""The GLR second detector end to end through `surveil run` (issue 4): opt in, planted shift.

The registry is test_cusum_alerts' ``shifted_town``: from week 40 second births in town T2
go from SRB 100 to 300 (6 boys : 2 girls a village-week), a rise of unknown size that the
GLR estimates (its window is shortened to 13 weeks to keep the simulated calibration
small). The settings are test_cusum_alerts' (shortened baselines and warm-up, the city
leaning on the reference): the GLR charts the same series against the same baselines.
"""
from __future__ import annotations

import datetime as dt

from tests.pipeline.test_cusum_alerts import SHIFT_WEEK, START, config, counted, shifted_town

WITH_GLR = 'detectors = ["cusum", "level", "glr"]\nglr_window_periods = 13\n'


def glr_alerts(registry, where: str = "true") -> list[tuple]:
    return registry.query(
        "select area_code, stratum, detected_period, onset_period, last_alarm_period, boys, girls, statistic, "
        f"threshold from alerts where method = 'glr' and {where} order by all")


def test_planted_shift_raises_a_glr_alert_with_its_onset_and_evidence(registry, surveil):
    registry.write_config(config(60, WITH_GLR))
    lines = shifted_town()
    registry.deliver("a.csv", lines)
    assert surveil("run", "--config", registry.config).exit_code == 0
    alerts = glr_alerts(registry, "area_code = 'T2' and stratum = 'parity_2'")
    assert len(alerts) == 1, alerts  # one episode, however often the chart re-alarmed
    _, _, detected, onset, last_alarm, boys, girls, statistic, threshold = alerts[0]
    shift_start = START + dt.timedelta(weeks=SHIFT_WEEK)
    # the onset is the change point the GLR estimates: each week of T2's 16 second births
    # after the shift adds 16 x KL(0.75 || 0.5) = 2.1 nats, so a change point two weeks off
    # is e^-4 less likely than the true one: within two weeks
    assert abs((onset - shift_start).days) <= 14
    assert shift_start <= detected <= last_alarm
    assert statistic > threshold > 0
    # evidence: T2's second births from onset to the episode's last alarm
    assert (boys, girls) == counted(lines, ("V3", "V4"), "2", onset, last_alarm)
    assert glr_alerts(registry, "area_code = 'T2' and stratum = 'parity_1'") == []
    # the chart is kept beside the CUSUM's, and its thresholds in their cache
    assert registry.query("select count(distinct (area_code, stratum)) from cusum_paths where method = 'glr'") \
        == [(6 * 5,)]
    calibrated = registry.query("select count(*) from glr_calibration")[0][0]
    assert calibrated > 0
    # a rerun: the same alerts, nothing simulated again
    before = registry.query("select * from alerts order by all")
    assert surveil("run", "--config", registry.config).exit_code == 0
    assert registry.query("select * from alerts order by all") == before
    assert registry.query("select count(*) from glr_calibration")[0][0] == calibrated


def test_no_glr_unless_configured(registry, surveil):
    registry.write_config(config(60))
    registry.deliver("a.csv", shifted_town())
    assert surveil("run", "--config", registry.config).exit_code == 0
    assert registry.query("select count(*) from alerts where method = 'cusum'")[0][0] > 0
    assert registry.query("select count(*) from alerts where method = 'glr'") == [(0,)]
    assert registry.query("select count(*) from cusum_paths where method = 'glr'") == [(0,)]
    assert registry.query("select count(*) from glr_calibration") == [(0,)]
