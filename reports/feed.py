"""The enforcement feed: alert rows for the joint team, suppressed and described in plain words.

Each row: area code and name, stratum, method, onset and detected week, the evidence
counts (``"<5"`` when small), SRB since onset with its exact 95 % interval, severity,
status and a one-sentence description with no link. Routing (which department gets which
rows) is a pure filter over these rows.

Suppression is ``reports.suppression``'s, as in the reports: a row's boys and girls are the
cells, and the SRB (a ratio that with one count gives the other back) is shown only when
both are. The severity is computed from shown quantities only: with a hidden count it is
the lowest severity any hidden value could give, so "high" beside "<5" says nothing about
what the "<5" holds.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from models.constants import STRATA_ALERT_ORDER
from models.srb import clopper_pearson_srb
from reports.i18n import method_name, stratum_name
from reports.suppression import SuppressedCounts

SEVERITIES = ("low", "medium", "high")
COLUMNS = ("alert_id", "area_code", "area_name", "level", "stratum", "method", "onset_week", "detected_week",
           "boys", "girls", "srb", "srb_lo", "srb_hi", "srb_expected", "severity", "status", "description")


@dataclass(frozen=True)
class Route:
    """What one department receives; an empty tuple means every value."""

    methods: tuple[str, ...] = ()
    strata: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ("new", "acknowledged", "investigating")
    min_severity: str = "low"


def severity(boys: int, girls: int, alert_level: float) -> str:
    """How firmly the evidence exceeds the alert level.

    high: even the lower end of the exact 95 % interval is above the level; medium: the
    observed SRB is above it; low: otherwise (a rise against the area's own baseline).

    >>> severity(700, 500, 110.0), severity(560, 500, 110.0), severity(520, 500, 110.0)
    ('high', 'medium', 'low')
    """
    if girls <= 0:
        return "high" if boys > 0 else "low"
    lower, _ = clopper_pearson_srb(np.array([boys]), np.array([girls]))
    if lower[0] > alert_level:
        return "high"
    return "medium" if 100.0 * boys / girls > alert_level else "low"


def shown_severity(counts: SuppressedCounts, alert_level: float) -> str:
    """The severity that depends on shown counts only.

    A hidden count can hold any value below the suppression size (the feed has no totals,
    so there are no complements); the lowest severity over those values is a function of
    what the row shows, so it cannot give the hidden value away.

    >>> shown_severity(SuppressedCounts({"boys": 40, "girls": 3}, [], 5), 110.0)
    'high'
    >>> shown_severity(SuppressedCounts({"boys": 4, "girls": 30}, [], 5), 110.0)
    'low'
    """
    def candidates(key: str) -> range:
        value = counts.value(key)
        return range(counts.size) if value is None else range(value, value + 1)

    levels = {severity(boys, girls, alert_level) for boys in candidates("boys") for girls in candidates("girls")}
    return min(levels, key=SEVERITIES.index)


def _week(day: dt.date | None) -> str | None:
    if day is None:
        return None
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def feed_row(alert: dict, alert_level: float, suppression_size: int) -> dict:
    """One exported row from an alert (a mapping with the columns of sql/reports/export_alerts.sql)."""
    boys, girls = alert["boys"], alert["girls"]
    counts = SuppressedCounts({"boys": boys, "girls": girls}, [], suppression_size)
    srb = lo = hi = None
    # boys or girls shown with an SRB would give the other back: hide the ratio with the count
    if not counts.any_hidden("boys", "girls") and girls > 0:
        srb = round(100.0 * boys / girls, 1)
        low, high = clopper_pearson_srb(np.array([boys]), np.array([girls]))
        lo, hi = round(float(low[0]), 1), round(float(high[0]), 1)
    level = shown_severity(counts, alert_level)
    onset = _week(alert["onset_period"])
    since = f" since {onset}" if onset else " over the trailing window"
    shown_srb = "a suppressed SRB" if srb is None else f"SRB {srb:.1f} (95% interval {lo:.1f}-{hi:.1f})"
    description = (f"{stratum_name(alert['stratum'], 'en')} in {alert['area_name']} ({alert['area_code']}): "
                   f"{shown_srb}{since}, against {alert['srb_expected']:.1f} expected; "
                   f"{method_name(alert['method'], 'en')} alert detected in {_week(alert['detected_period'])}, "
                   f"{level} severity, status {alert['status']}.")
    return {
        "alert_id": alert["alert_id"], "area_code": alert["area_code"], "area_name": alert["area_name"],
        "level": alert["level"], "stratum": alert["stratum"], "method": alert["method"], "onset_week": onset,
        "detected_week": _week(alert["detected_period"]), "boys": _as_data(counts.show("boys")),
        "girls": _as_data(counts.show("girls")), "srb": srb, "srb_lo": lo, "srb_hi": hi,
        "srb_expected": round(alert["srb_expected"], 1), "severity": level, "status": alert["status"],
        "description": description,
    }


def _as_data(shown: str) -> str:
    """A shown count as data: plain digits (no thousands separator) or the suppression marker."""
    return shown.replace(",", "")


def route(rows: Iterable[dict], rule: Route) -> list[dict]:
    """The rows a department receives, second births within policy first."""
    floor = SEVERITIES.index(rule.min_severity)
    kept = [r for r in rows
            if (not rule.methods or r["method"] in rule.methods)
            and (not rule.strata or r["stratum"] in rule.strata)
            and (not rule.statuses or r["status"] in rule.statuses)
            and SEVERITIES.index(r["severity"]) >= floor]
    order: Sequence[str] = STRATA_ALERT_ORDER
    return sorted(kept, key=lambda r: (order.index(r["stratum"]) if r["stratum"] in order else len(order),
                                       r["detected_week"] or ""))
