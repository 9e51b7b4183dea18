"""The enforcement feed: alert rows for the joint team, suppressed and described in plain words.

Each row: area code and name, stratum, method, onset and detected week, the evidence
counts (``"<5"`` when small), SRB since onset with its exact 95 % interval, severity,
status and a one-sentence description with no link. Routing (which department gets which
rows) is a pure filter over these rows.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from models.constants import STRATA_ALERT_ORDER
from models.srb import clopper_pearson_srb
from reports.i18n import method_name, stratum_name
from reports.suppression import format_count, is_small

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


def _week(day: dt.date | None) -> str | None:
    if day is None:
        return None
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _count(count: int, size: int) -> str:
    """A count as data: plain digits, or ``"<size"`` (``format_count`` without thousands separators)."""
    return format_count(count, size).replace(",", "")


def feed_row(alert: dict, alert_level: float, suppression_size: int) -> dict:
    """One exported row from an alert (a mapping with the columns of sql/reports/export_alerts.sql)."""
    boys, girls = alert["boys"], alert["girls"]
    # boys or girls shown with an SRB would give the other back: hide the ratio with the count
    hidden = is_small(boys, suppression_size) or is_small(girls, suppression_size)
    srb = lo = hi = None
    if not hidden and girls > 0:
        srb = round(100.0 * boys / girls, 1)
        low, high = clopper_pearson_srb(np.array([boys]), np.array([girls]))
        lo, hi = round(float(low[0]), 1), round(float(high[0]), 1)
    level = severity(boys, girls, alert_level)
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
        "detected_week": _week(alert["detected_period"]), "boys": _count(boys, suppression_size),
        "girls": _count(girls, suppression_size), "srb": srb, "srb_lo": lo, "srb_hi": hi,
        "srb_expected": round(alert["srb_expected"], 1), "severity": level, "status": alert["status"],
        "description": description,
    }


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
