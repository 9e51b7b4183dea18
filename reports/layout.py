"""From a district's week (plain data) to what the report shows: suppressed, formatted, translated.

Every count passes through one place, ``ReportCells`` (``reports.report_cells``): small ones
and their complements (``reports.suppression``) are hidden, and so is every figure derived
from a hidden count (an SRB, an interval, missing girls), since ``boys`` and ``births`` with
an SRB give ``girls`` back. The charts' inputs are chosen here too (``Layout.chart_inputs``):
a chart gets no point whose counts the text hides.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from models.constants import STRATA, STRATA_ALERT_ORDER
from reports import charts
from reports.content import Alert, DistrictWeek, Estimate, SeriesPoint
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
from reports.report_cells import MEASURES, ReportCells
from reports.suppression import is_small


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


def _estimate_view(estimate: Estimate, counts: ReportCells, key: tuple, reference_srb: float, language: str) -> dict:
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


def _headline(week: DistrictWeek, counts: ReportCells, language: str) -> list[dict]:
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


def _shown_points(points: tuple[SeriesPoint, ...], counts: ReportCells, area_code: str, stratum: str,
                  week: DistrictWeek) -> tuple[SeriesPoint, ...]:
    """An SRB path without the periods whose counts the report would not show.

    A point is drawn only when its window's boys, girls and births are at least the
    suppression size, and, for the report week, when the table shows that cell too (an
    SRB with the births printed beside it gives boys and girls back).
    """
    size = week.suppression_size
    kept = []
    for point in points:
        if point.boys is None or point.girls is None:
            continue
        if any(is_small(count, size) for count in (point.boys, point.girls, point.boys + point.girls)):
            continue
        if point.period_start == week.week_start and counts.is_window_hidden(area_code, stratum):
            continue
        kept.append(point)
    return tuple(kept)


def _alert_chart_points(alert: Alert, week: DistrictWeek, counts: ReportCells) -> tuple[SeriesPoint, ...]:
    """What an alert's chart may draw: a statistic path as is, an SRB path only where shown."""
    if alert.chart_kind != "srb":
        return alert.chart
    if counts.any_hidden(("alert", alert.alert_id, "boys"), ("alert", alert.alert_id, "girls")):
        return ()   # the evidence is hidden: its SRB path would show it
    return _shown_points(alert.chart, counts, alert.area_code, alert.stratum, week)


def _chart_caption(alert: Alert, language: str) -> str:
    if alert.chart_kind == "statistic":
        return label("chart_glr" if alert.method == "glr" else "chart_cusum", language)
    return label(f"chart_{alert.chart_kind}", language)


def _alert_view(alert: Alert, week: DistrictWeek, counts: ReportCells, language: str,
                points: tuple[SeriesPoint, ...], with_charts: bool) -> dict[str, Any]:
    hidden = counts.any_hidden(("alert", alert.alert_id, "boys"), ("alert", alert.alert_id, "girls"))
    chart = None
    if with_charts and points:
        chart = charts.alert_chart(alert.chart_kind, points, week.alert_level, alert.onset_period)
    return {
        "alert_id": alert.alert_id, "area_code": alert.area_code, "area": f"{alert.area_name} ({alert.area_code})",
        "stratum": stratum_name(alert.stratum, language), "method": method_name(alert.method, language),
        "status": status_name(alert.status, language), "detected": _iso_week(alert.detected_period),
        "onset": _iso_week(alert.onset_period) if alert.onset_period else "-",
        "boys": counts.show(("alert", alert.alert_id, "boys")),
        "girls": counts.show(("alert", alert.alert_id, "girls")),
        "srb_observed": label("suppressed_srb", language) if hidden else _srb(alert.srb_observed),
        "srb_expected": _srb(alert.srb_expected), "statistic": f"{alert.statistic:.2f}",
        "threshold": f"{alert.threshold:.2f}", "chart": chart,
        "chart_caption": _chart_caption(alert, language) if points else label("chart_none", language),
    }


def _iso_week(day) -> str:
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


def _alerts(week: DistrictWeek, counts: ReportCells, language: str, chart_points: dict[str, tuple],
            with_charts: bool) -> tuple[list[dict], list[dict]]:
    order = sorted(week.alerts, key=lambda a: (STRATA_ALERT_ORDER.index(a.stratum) if a.stratum in STRATA_ALERT_ORDER
                                               else len(STRATA_ALERT_ORDER), -a.detected_period.toordinal(),
                                               a.area_code))
    views = {a.alert_id: _alert_view(a, week, counts, language, chart_points[a.alert_id], with_charts)
             for a in order}
    new = [views[a.alert_id] for a in order if a.is_new]
    ongoing = [views[a.alert_id] for a in order if not a.is_new]
    return new, ongoing


def _towns(week: DistrictWeek, counts: ReportCells, language: str) -> list[dict]:
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


def _funnel_points(week: DistrictWeek, counts: ReportCells, chart_lang: str) -> tuple[list, int]:
    """Towns on the funnel plot (births and SRB give the counts back: only towns fully shown)."""
    alerting = {a.area_code for a in week.alerts}
    points, left_out = [], 0
    for town in week.towns:
        key = ("town", town.area_code)
        if counts.any_hidden(*((*key, m) for m in MEASURES)) or town.estimate.srb_raw is None:
            left_out += 1
            continue
        name = town.area_name if chart_lang == "zh" else latin_only(town.area_name, town.area_code)
        points.append(charts.FunnelPoint(name.split()[0] if chart_lang == "zh" else name, town.estimate.births,
                                         town.estimate.srb_raw, town.area_code in alerting))
    return points, left_out


def _funnel(week: DistrictWeek, points: list, chart_lang: str) -> str | None:
    if not points:
        return None
    labels = {"x": label("births_window", chart_lang), "y": label("srb", chart_lang),
              "target": f"{week.funnel_target_srb:.1f}", "limit": f"{label('limit', chart_lang)} {week.alert_level:g}"}
    return charts.funnel_chart(points, week.funnel_target_srb, week.alert_level, labels)


def _quality(week: DistrictWeek, language: str) -> dict[str, Any]:
    if week.quality is None:
        return {"sentence": label("quality_absent", language), "failures": []}
    failures = [{"expectation": check.expectation, "severity": label(f"severity_{check.severity}", language),
                 "observed": check.observed or "-", "threshold": check.threshold or "-"}
                for check in week.quality if check.success is False]
    if not failures:
        evaluated = sum(check.success is not None for check in week.quality)
        return {"sentence": label("quality_ok", language, checked=evaluated), "failures": []}
    return {"sentence": label("quality_warn", language, failed=len(failures)), "failures": failures}


@dataclass(frozen=True)
class Layout:
    """The report as shown; ``fields`` feeds the templates.

    ``chart_inputs`` holds what the charts were (or would be) drawn from: ``trend``
    (stratum -> points), ``funnel`` (towns) and ``alerts`` (alert_id -> points), so that
    what a picture shows can be checked against what the text shows.
    """

    fields: dict[str, Any]
    chart_inputs: dict[str, Any] = field(default_factory=dict)


def _chart_inputs(week: DistrictWeek, counts: ReportCells, chart_lang: str) -> dict[str, Any]:
    trend = {stratum: _shown_points(points, counts, week.district_code, stratum, week)
             for stratum, points in week.trend.items()}
    funnel, left_out = _funnel_points(week, counts, chart_lang)
    return {"trend": {s: points for s, points in trend.items() if points}, "funnel": funnel,
            "funnel_left_out": left_out,
            "alerts": {alert.alert_id: _alert_chart_points(alert, week, counts) for alert in week.alerts}}


def lay_out(week: DistrictWeek, language: str, *, trend_years: int = 3, with_charts: bool = True) -> Layout:
    """Suppress, format, translate and draw one district's week for the templates.

    ``with_charts=False`` skips drawing (the plain-text e-mail body needs no pictures).
    """
    counts = ReportCells(week)
    chart_lang = chart_language(language)
    inputs = _chart_inputs(week, counts, chart_lang)
    new, ongoing = _alerts(week, counts, language, inputs["alerts"], with_charts)
    funnel = _funnel(week, inputs["funnel"], chart_lang) if with_charts else None
    trend = None
    if with_charts and inputs["trend"]:
        trend = charts.trend_chart(inputs["trend"], week.alert_level,
                                   {s: stratum_name(s, chart_lang) for s in inputs["trend"]}, label("srb", chart_lang))
    fields = {
        "language": language, "district_code": week.district_code, "district_name": week.district_name,
        "week_label": week.week_label, "week_start": week.week_start.isoformat(), "week_end": week.week_end.isoformat(),
        "run_id": week.run_id, "asof": week.asof_date.isoformat(), "alert_level": f"{week.alert_level:g}",
        "reference_srb": f"{week.reference_srb:g}", "funnel_target": f"{week.funnel_target_srb:.1f}",
        "suppression_size": week.suppression_size, "headline": _headline(week, counts, language),
        "alerts_new": new, "alerts_ongoing": ongoing, "funnel": funnel,
        "funnel_left_out": inputs["funnel_left_out"] if with_charts else 0,
        "trend": trend, "trend_years": trend_years, "towns": _towns(week, counts, language),
        "quality": _quality(week, language),
        "notes": [label(f"missing_{name}", language) for name in week.missing_inputs],
    }
    return Layout(fields, inputs)


def characters(week: DistrictWeek) -> set[str]:
    """Every character the week's report can print: labels in both languages and area names.

    Feeds the PDF font cut (``reports.pdf_fonts``) before any document is rendered.
    """
    texts = [text for table in (LABELS, STRATUM_NAMES, METHOD_NAMES, STATUS_NAMES) for pair in table.values()
             for text in pair]
    texts += [week.district_name, *(t.area_name for t in week.towns), *(a.area_name for a in week.alerts)]
    texts += [f"{c.expectation} {c.observed or ''} {c.threshold or ''}" for c in week.quality or ()]
    return set("".join(texts))
