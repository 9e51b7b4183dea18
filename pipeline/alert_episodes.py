"""Episodes of a change detector's alarms (CUSUM, GLR) -> alert candidates with evidence.

An alarm whose onset comes within ``episode_gap`` periods of the previous alarm of its
series continues that episode (a sustained shift re-alarms about every ARL1 periods after
each reset); otherwise it opens a new one. An episode's id hashes (area, stratum, method,
onset of its first alarm); its evidence runs from that onset to its last alarm: boys,
girls, the observed SRB, the expected SRB (the baseline's, over the same births), and the
statistic and threshold at the last alarm. An alarm after the last alarm of an episode
people have closed opens a new episode: a closed episode does not re-fire until the chart
resets and crosses again.
"""
from __future__ import annotations

import duckdb
import numpy as np
import polars as pl

from models.srb import srb_raw
from pipeline import db
from pipeline.alert import ALERT_SCHEMA, alert_id
from pipeline.config import SurveillanceSettings
from pipeline.monitored_series import MonitoredSeries

EPISODE_ALERT_SCHEMA = {**ALERT_SCHEMA, "baseline_note": pl.String, "last_alarm_period": pl.Date}


def episode_alerts(con: duckdb.DuckDBPyConnection, series: MonitoredSeries, method: str, statistic: np.ndarray,
                   threshold: np.ndarray, alarm: np.ndarray, onset: np.ndarray,
                   settings: SurveillanceSettings) -> pl.DataFrame:
    """One candidate per episode of alarms of ``method``, evidence since its onset."""
    closed = {key: np.datetime64(last, "D") for key, last in db.run(con, "cusum/closed_episodes", method=method)}
    period_start = series.period_start
    period_dates = [str(d) for d in period_start]
    episodes: list[dict] = []
    current: dict | None = None
    # a loop over alarms only (a few per alarmed series), after the vectorised chart
    for s, t in zip(*np.nonzero(alarm), strict=True):
        start = int(onset[s, t])
        is_same_series = current is not None and current["series"] == s
        continues = (is_same_series and start <= current["last"] + settings.episode_gap
                     and (current["closed_last"] is None or period_start[t] <= current["closed_last"]))
        if continues:
            current["last"] = t
            continue
        new_id = alert_id(series.area_code[s], series.stratum[s], method, period_dates[start])
        current = {"series": s, "onset": start, "detected": t, "last": t, "alert_id": new_id,
                   "closed_last": closed.get(new_id)}
        episodes.append(current)
    if not episodes:
        return pl.DataFrame(schema=EPISODE_ALERT_SCHEMA)
    s = np.array([e["series"] for e in episodes])
    first = np.array([e["onset"] for e in episodes])
    last = np.array([e["last"] for e in episodes])

    def since_onset(values: np.ndarray) -> np.ndarray:
        cum = np.concatenate([np.zeros((s.size, 1)), np.cumsum(values[s], axis=1)], axis=1)
        rows = np.arange(s.size)
        return cum[rows, last + 1] - cum[rows, first]

    boys, births, expected_boys = since_onset(series.boys), since_onset(series.births), since_onset(series.expected)
    return pl.DataFrame({
        "alert_id": [e["alert_id"] for e in episodes],
        "area_code": series.area_code[s], "stratum": series.stratum[s], "method": method,
        "detected_period": period_start[np.array([e["detected"] for e in episodes])],
        "onset_period": period_start[first],
        "boys": boys.astype(np.int64), "girls": (births - boys).astype(np.int64),
        "srb_observed": srb_raw(boys, births - boys), "srb_expected": srb_raw(expected_boys, births - expected_boys),
        "statistic": statistic[s, last], "threshold": threshold[s, last],
        "baseline_note": baseline_notes(series, s, first, settings), "last_alarm_period": period_start[last],
    }, schema=EPISODE_ALERT_SCHEMA, nan_to_null=True)


def baseline_notes(series: MonitoredSeries, rows: np.ndarray, periods: np.ndarray,
                   settings: SurveillanceSettings) -> list[str | None]:
    """Why the baseline an alert was judged against is weak, at its onset (None if it is not)."""
    notes = [
        (series.is_reference, f"no history: compared with the reference SRB {settings.reference_srb:g}"),
        (series.is_borrowed, "no own history: baseline borrowed from the parent area"),
        (series.is_short_history,
         f"short history: under {settings.baseline_window} periods, baseline shrunk toward the parent area"),
    ]
    return [next((text for flag, text in notes if flag[row, period]), None)
            for row, period in zip(rows.tolist(), periods.tolist(), strict=True)]
