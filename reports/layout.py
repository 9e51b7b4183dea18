"""From a district's week (plain data) to what the report shows: suppressed, formatted, translated.

Every count passes through one place, ``_Counts``: small ones and their complements
(``reports.suppression``) are hidden, and so is every figure derived from a hidden count
(an SRB, an interval, missing girls), since ``boys`` and ``births`` with an SRB give
``girls`` back. The charts are drawn here too, so a chart never sees a hidden count.
"""
from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, replace
from typing import Any

from models.constants import STRATA, STRATA_ALERT_ORDER
from reports import charts
from reports.content import Alert, DistrictWeek, Estimate
from reports.fonts import chart_language
from reports.i18n import (
    LABELS,
    METHOD_NAMES,
    STATUS_NAMES,
    STRATUM_NAMES,
    label,
    latin_only,
    method_name,
    status_name,
    stratum_name,
)
from reports.indicators import missing_girls
from reports.suppression import complementary_suppression, format_count

PARTITION = ("parity_1", "parity_2", "parity_3plus")   # birth orders that add up to "all"
MEASURES = ("births", "boys", "girls")


class _Counts:
    """Every count of one report with the set of cells to hide."""

    def __init__(self, week: DistrictWeek) -> None:
        self.size = week.suppression_size
        self.values: dict[Hashable, int] = {}
        relations: list[tuple[Hashable, tuple[Hashable, ...]]] = []
        strata = {h.stratum: h for h in week.headline}
        for stratum, headline in strata.items():
            self.values[("week", stratum)] = headline.births_week
            self._estimate(("window", stratum), headline.estimate, relations)
        if all(s in strata for s in ("all", *PARTITION)):
            relations.append((("week", "all"), tuple(("week", s) for s in PARTITION)))
            for measure in MEASURES:
                relations.append((("window", "all", measure), tuple(("window", s, measure) for s in PARTITION)))
        for town in week.towns:
            self._estimate(("town", town.area_code), town.estimate, relations)
        if week.towns and "all" in strata:
            for measure in MEASURES:
                relations.append((("window", "all", measure),
                                  tuple(("town", t.area_code, measure) for t in week.towns)))
        for alert in week.alerts:
            self.values[("alert", alert.alert_id, "boys")] = alert.boys
            self.values[("alert", alert.alert_id, "girls")] = alert.girls
        self.hidden = complementary_suppression(self.values, relations, self.size)

    def _estimate(self, key: tuple, estimate: Estimate, relations: list) -> None:
        for measure in MEASURES:
            self.values[(*key, measure)] = getattr(estimate, measure)
        relations.append(((*key, "births"), ((*key, "boys"), (*key, "girls"))))

    def show(self, key: Hashable) -> str:
        return format_count(self.values[key], self.size, hidden=key in self.hidden)

    def any_hidden(self, *keys: Hashable) -> bool:
        return any(key in self.hidden for key in keys)


def _srb(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _interval(lower: float | None, upper: float | None) -> str:
    if lower is None or upper is None:
        return "-"
    return f"{lower:.1f}–{upper:.1f}" if upper != float("inf") else f"≥{lower:.1f}"


def _signed(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:+.{digits}f}".replace("-", "−")


def _missing(estimate: Estimate, reference_srb: float) -> dict[str, str]:
    point, lower, upper = missing_girls(estimate.boys, estimate.girls, estimate.srb_raw_lo, estimate.srb_raw_hi,
                                        reference_srb)
    shown = "-" if lower is None or upper is None else f"{lower:,.0f} – {upper:,.0f}"
    return {"value": f"{point:,.0f}".replace("-", "−"), "interval": shown.replace("-", "−")}


def _estimate_view(estimate: Estimate, counts: _Counts, key: tuple, reference_srb: float, language: str) -> dict:
    hidden = counts.any_hidden(*((*key, m) for m in MEASURES))
    view = {m: counts.show((*key, m)) for m in MEASURES}
    if hidden:
        hidden_text = label("suppressed_srb", language)
        return {**view, "is_hidden": True, "srb_raw": hidden_text, "srb_raw_interval": "-", "srb_smoothed": hidden_text,
                "srb_interval": "-", "prob_above": "-", "missing": {"value": "-", "interval": "-"}}
    return {**view, "is_hidden": False, "srb_raw": _srb(estimate.srb_raw),
            "srb_raw_interval": _interval(estimate.srb_raw_lo, estimate.srb_raw_hi),
            "srb_smoothed": _srb(estimate.srb_smoothed), "srb_interval": _interval(estimate.srb_lo, estimate.srb_hi),
            "prob_above": f"{estimate.prob_above:.0%}",
            "missing": _missing(estimate, reference_srb)}


def _headline(week: DistrictWeek, counts: _Counts, language: str) -> list[dict]:
    rows = []
    for headline in sorted(week.headline, key=lambda h: STRATA.index(h.stratum)):
        estimate = headline.estimate
        view = _estimate_view(estimate, counts, ("window", headline.stratum), week.reference_srb, language)
        change = None
        if headline.srb_last_year is not None and estimate.srb_raw is not None and not view["is_hidden"]:
            change = estimate.srb_raw - headline.srb_last_year
        rows.append({**view, "stratum": headline.stratum, "name": stratum_name(headline.stratum, language),
                     "births_week": counts.show(("week", headline.stratum)), "change": _signed(change),
                     "is_over_limit": not view["is_hidden"] and (estimate.srb_raw_lo or 0) > week.alert_level})
    return rows


def _alert_view(alert: Alert, week: DistrictWeek, counts: _Counts, language: str) -> dict[str, Any]:
    hidden = counts.any_hidden(("alert", alert.alert_id, "boys"), ("alert", alert.alert_id, "girls"))
    chart = None
    if alert.chart:
        chart = charts.alert_chart(alert.chart_kind, alert.chart, week.alert_level, alert.onset_period)
    return {
        "alert_id": alert.alert_id, "area": f"{alert.area_name} ({alert.area_code})",
        "stratum": stratum_name(alert.stratum, language), "method": method_name(alert.method, language),
        "status": status_name(alert.status, language), "detected": _iso_week(alert.detected_period),
        "onset": _iso_week(alert.onset_period) if alert.onset_period else "-",
        "boys": counts.show(("alert", alert.alert_id, "boys")),
        "girls": counts.show(("alert", alert.alert_id, "girls")),
        "srb_observed": label("suppressed_srb", language) if hidden else _srb(alert.srb_observed),
        "srb_expected": _srb(alert.srb_expected), "statistic": f"{alert.statistic:.2f}",
        "threshold": f"{alert.threshold:.2f}", "chart": chart,
        "chart_caption": label(f"chart_{alert.chart_kind}", language),
    }


def _iso_week(day) -> str:
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


def _alerts(week: DistrictWeek, counts: _Counts, language: str) -> tuple[list[dict], list[dict]]:
    order = sorted(week.alerts, key=lambda a: (STRATA_ALERT_ORDER.index(a.stratum) if a.stratum in STRATA_ALERT_ORDER
                                               else len(STRATA_ALERT_ORDER), -a.detected_period.toordinal(),
                                               a.area_code))
    new = [_alert_view(a, week, counts, language) for a in order if a.is_new]
    ongoing = [_alert_view(a, week, counts, language) for a in order if not a.is_new]
    return new, ongoing


def _towns(week: DistrictWeek, counts: _Counts, language: str) -> list[dict]:
    rows = []
    for town in week.towns:
        view = _estimate_view(town.estimate, counts, ("town", town.area_code), week.reference_srb, language)
        if town.min_detectable_srb is None:
            detectable = "-" if "detectability" in week.missing_inputs else label("undetectable", language)
        else:
            detectable = _srb(town.min_detectable_srb)
        rows.append({**view, "code": town.area_code, "name": town.area_name, "detectable": detectable,
                     "is_over_limit": not view["is_hidden"] and town.estimate.srb_lo > week.alert_level})
    return rows


def _funnel(week: DistrictWeek, counts: _Counts, language: str) -> tuple[str | None, int]:
    alerting = {a.area_code for a in week.alerts}
    chart_lang = chart_language(language)
    points, left_out = [], 0
    for town in week.towns:
        key = ("town", town.area_code)
        if counts.any_hidden(*((*key, m) for m in MEASURES)) or town.estimate.srb_raw is None:
            left_out += 1
            continue
        name = town.area_name if chart_lang == "zh" else latin_only(town.area_name, town.area_code)
        points.append(charts.FunnelPoint(name.split()[0] if chart_lang == "zh" else name, town.estimate.births,
                                         town.estimate.srb_raw, town.area_code in alerting))
    if not points:
        return None, left_out
    labels = {"x": label("births_window", chart_lang), "y": label("srb", chart_lang),
              "target": f"{week.funnel_target_srb:.1f}", "limit": f"{label('limit', chart_lang)} {week.alert_level:g}"}
    return charts.funnel_chart(points, week.funnel_target_srb, week.alert_level, labels), left_out


def _quality(week: DistrictWeek, language: str) -> dict[str, Any]:
    if week.quality is None:
        return {"sentence": label("quality_absent", language), "failures": []}
    failures = [f"{check.expectation} ({check.severity})" for check in week.quality if not check.success]
    if not failures:
        return {"sentence": label("quality_ok", language, checked=len(week.quality)), "failures": []}
    return {"sentence": label("quality_warn", language, failed=len(failures)), "failures": failures}


@dataclass(frozen=True)
class Layout:
    """The report as shown; ``fields`` feeds the templates."""

    fields: dict[str, Any]


def lay_out(week: DistrictWeek, language: str, *, trend_years: int = 3, with_charts: bool = True) -> Layout:
    """Suppress, format, translate and draw one district's week for the templates.

    ``with_charts=False`` skips drawing (the plain-text e-mail body needs no pictures).
    """
    counts = _Counts(week)
    chart_lang = chart_language(language)
    new, ongoing = _alerts(week, counts, language) if with_charts else _alerts(_chartless(week), counts, language)
    funnel, left_out = _funnel(week, counts, language) if with_charts else (None, 0)
    trend = None
    if with_charts and any(week.trend.values()):
        trend = charts.trend_chart(week.trend, week.alert_level,
                                   {s: stratum_name(s, chart_lang) for s in week.trend}, label("srb", chart_lang))
    fields = {
        "language": language, "district_code": week.district_code, "district_name": week.district_name,
        "week_label": week.week_label, "week_start": week.week_start.isoformat(), "week_end": week.week_end.isoformat(),
        "run_id": week.run_id, "asof": week.asof_date.isoformat(), "alert_level": f"{week.alert_level:g}",
        "reference_srb": f"{week.reference_srb:g}", "funnel_target": f"{week.funnel_target_srb:.1f}",
        "suppression_size": week.suppression_size, "headline": _headline(week, counts, language),
        "alerts_new": new, "alerts_ongoing": ongoing, "funnel": funnel, "funnel_left_out": left_out,
        "trend": trend, "trend_years": trend_years, "towns": _towns(week, counts, language),
        "quality": _quality(week, language),
        "notes": [label(f"missing_{name}", language) for name in week.missing_inputs],
    }
    return Layout(fields)


def _chartless(week: DistrictWeek) -> DistrictWeek:
    return replace(week, alerts=tuple(replace(a, chart=()) for a in week.alerts))


def characters(week: DistrictWeek) -> set[str]:
    """Every character the week's report can print: labels in both languages and area names.

    Feeds the PDF font cut (``reports.pdf_fonts``) before any document is rendered.
    """
    texts = [text for table in (LABELS, STRATUM_NAMES, METHOD_NAMES, STATUS_NAMES) for pair in table.values()
             for text in pair]
    texts += [week.district_name, *(t.area_name for t in week.towns), *(a.area_name for a in week.alerts)]
    texts += [f"{c.expectation} ({c.severity})" for c in week.quality or ()]
    return set("".join(texts))
