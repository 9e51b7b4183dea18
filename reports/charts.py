"""The report's charts as PNG data URIs (matplotlib, Agg; no pyplot state).

Charts draw what they are given. An SRB with its births gives boys and girls back, so the
caller (``reports.layout``) hands over only points whose counts the report shows: the
funnel plot without towns whose counts are hidden, the trend and an alert's SRB path
without periods whose counts are small (or, for the report week, hidden). The detectors'
statistics (CUSUM, GLR) carry no counts. Labels come from ``reports.i18n``
in the language the installed fonts can draw (``reports.fonts.chart_language``).
"""
from __future__ import annotations

import base64
import datetime as dt
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402
from PIL import Image  # noqa: E402

from reports.content import SeriesPoint  # noqa: E402
from reports.fonts import cjk_family  # noqa: E402
from reports.indicators import funnel_limits  # noqa: E402

WIDTH_INCHES = 6.4
DPI = 110
ALERT_DPI = 90
LIMIT_COLOUR = "#b2182b"
STRATUM_COLOURS = {"all": "#222222", "parity_1": "#4575b4", "parity_2": "#f46d43",
                   "parity_3plus": "#984ea3", "parity_2_within_policy": "#d73027"}


@dataclass(frozen=True)
class FunnelPoint:
    """A town on the funnel plot: births in the window and its observed SRB."""

    label: str
    births: int
    srb: float
    is_alerting: bool = False


# One figure and axes per chart kind, font family and process, cleared and drawn again for
# each chart: building a new figure builds its axes and ticks anew, which cost half of each
# alert chart. (The axes' own texts keep the font family they were made with: hence the key.)
_CANVASES: dict[tuple[str, str | None], tuple[Figure, object]] = {}


def _axes(kind: str, height: float, margins: tuple[float, float, float, float] = (0.09, 0.16, 0.98, 0.95),
          dpi: int = DPI):
    """The axes of chart ``kind``: created once (fixed margins, left, bottom, right, top; much
    faster than constrained layout), then emptied of the last chart's artists and limits."""
    family = cjk_family()
    if family:
        matplotlib.rcParams["font.family"] = ["DejaVu Sans", family]
    matplotlib.rcParams["axes.unicode_minus"] = False
    cached = _CANVASES.get((kind, family))
    if cached is None:
        figure = Figure(figsize=(WIDTH_INCHES, height), dpi=dpi)
        FigureCanvasAgg(figure)
        figure.subplots_adjust(*margins)
        axes = figure.add_subplot()
        _style(axes)
        _CANVASES[kind, family] = (figure, axes)
        return axes
    figure, axes = cached
    for artist in [*axes.lines, *axes.collections, *axes.patches, *axes.texts]:
        artist.remove()
    if axes.get_legend() is not None:
        axes.get_legend().remove()
    axes.dataLim = Bbox.null()
    axes.ignore_existing_data_limits = True
    axes.set_autoscale_on(True)
    axes.set_xlabel("")
    axes.set_ylabel("")
    return axes


def _data_uri(axes) -> str:
    """The chart as a PNG data URI, RGB without an alpha channel (the page is white; WeasyPrint
    would otherwise split the alpha into a soft mask for every picture)."""
    canvas = axes.figure.canvas
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    buffer = io.BytesIO()
    Image.fromarray(rgba[..., :3]).save(buffer, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


# Date ticks chosen here, never by AutoDateLocator: with a span between its steps (e.g. 31
# months with at most 6 ticks) it warns on stderr and falls back to an arbitrary interval.
# Computed in plain Python and fixed: matplotlib's date locators run dateutil's rrule at each
# draw, a tenth of an alert chart's time.
_MONTH_STEPS = (1, 3, 6, 12)   # months, quarters, half-years, years
_YEAR_STEPS = (1, 2, 5, 10, 20, 50)
MAX_DATE_TICKS = 6
MARGIN = 0.05   # matplotlib's default axes.xmargin: the view reaches this share of the span past the data


def tick_dates(first: dt.date, last: dt.date) -> list[dt.date]:
    """About ``MAX_DATE_TICKS`` (at most one more, in the margins) round dates across ``first`` .. ``last``
    and the axes' margins: days (span under 2 weeks), Mondays (under 13 weeks), the first of
    months at a step dividing the year, or the first of January of years at a round step.

    >>> [str(d) for d in tick_dates(dt.date(2023, 5, 22), dt.date(2025, 12, 22))]
    ['2023-07-01', '2024-01-01', '2024-07-01', '2025-01-01', '2025-07-01', '2026-01-01']
    """
    days = max((last - first).days, 1)
    lo, hi = first - dt.timedelta(days=days * MARGIN), last + dt.timedelta(days=days * MARGIN)
    if days < 91:
        unit = 1 if days < 14 else 7
        step = unit * math.ceil((days / unit + 1) / MAX_DATE_TICKS)
        start = lo if unit == 1 else lo + dt.timedelta(days=-lo.weekday() % 7)   # the first Monday
        return [start + dt.timedelta(days=k) for k in range(0, (hi - start).days + 1, step)]
    months = days / 30.44
    step = next((s for s in _MONTH_STEPS if months / s <= MAX_DATE_TICKS), None)
    if step is not None:
        return [dt.date(year, month, 1) for year in range(lo.year, hi.year + 1) for month in range(1, 13, step)
                if lo <= dt.date(year, month, 1) <= hi]
    step = next((s for s in _YEAR_STEPS if days / 365.25 / s <= MAX_DATE_TICKS), _YEAR_STEPS[-1])
    return [dt.date(year, 1, 1) for year in range(lo.year, hi.year + 1)
            if year % step == 0 and dt.date(year, 1, 1) >= lo]


def _date_ticks(axes, dates: Sequence[dt.date]) -> None:
    locator = mticker.FixedLocator(mdates.date2num(tick_dates(min(dates), max(dates))))
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _style(axes) -> None:
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", color="#dddddd", linewidth=0.6)
    axes.tick_params(labelsize=9)


def funnel_chart(points: Sequence[FunnelPoint], target_srb: float, alert_level: float,
                 labels: dict[str, str]) -> str:
    """SRB of each town against its births, inside 95 % and 99.8 % limits around ``target_srb``.

    ``labels`` holds ``x`` (births axis), ``y`` (SRB axis), ``target`` and ``limit`` legend texts.
    """
    axes = _axes("funnel", 3.8, (0.1, 0.12, 0.98, 0.97))
    most = max([p.births for p in points], default=100) * 1.15
    births = np.linspace(max(min([p.births for p in points], default=20) * 0.6, 10), max(most, 50), 200)
    for coverage, style in ((0.95, "--"), (0.998, ":")):
        lower, upper = funnel_limits(births, target_srb, coverage)
        axes.plot(births, lower, style, color="#555555", linewidth=1)
        axes.plot(births, upper, style, color="#555555", linewidth=1, label=f"{coverage:.1%}".replace(".0%", "%"))
    axes.axhline(target_srb, color="#555555", linewidth=1, label=labels["target"])
    axes.axhline(alert_level, color=LIMIT_COLOUR, linewidth=1, alpha=0.7, label=labels["limit"])
    for point in points:
        colour = LIMIT_COLOUR if point.is_alerting else "#2166ac"
        axes.scatter(point.births, point.srb, s=22, color=colour, zorder=3)
        axes.annotate(point.label, (point.births, point.srb), fontsize=7, xytext=(3, 3), textcoords="offset points")
    srbs = [p.srb for p in points]
    axes.set_ylim(min([*srbs, target_srb - 15]) - 2, max([*srbs, alert_level + 10]) + 3)
    axes.set_xlabel(labels["x"], fontsize=9)
    axes.set_ylabel(labels["y"], fontsize=9)
    axes.legend(fontsize=7, loc="upper right", frameon=False, ncols=2)
    return _data_uri(axes)


def trend_chart(series: dict[str, tuple[SeriesPoint, ...]], alert_level: float, names: dict[str, str],
                y_label: str) -> str:
    """Smoothed SRB by stratum over time, with the ``all`` stratum's 95 % band and the limit."""
    axes = _axes("trend", 3.4, (0.1, 0.1, 0.98, 0.97))
    for stratum, points in series.items():
        if not points:
            continue
        dates = [p.period_start for p in points]
        values = [p.value for p in points]
        colour = STRATUM_COLOURS.get(stratum, "#777777")
        if stratum == "all":
            axes.fill_between(dates, [p.lower for p in points], [p.upper for p in points], color=colour, alpha=0.12,
                              linewidth=0)
        axes.plot(dates, values, color=colour, linewidth=2.2 if stratum == "all" else 1.4, label=names[stratum])
    axes.axhline(alert_level, color=LIMIT_COLOUR, linewidth=1, linestyle="--")
    axes.set_ylabel(y_label, fontsize=9)
    axes.legend(fontsize=7, loc="upper left", frameon=False, ncols=2)
    _date_ticks(axes, [p.period_start for points in series.values() for p in points])
    return _data_uri(axes)


def alert_chart(kind: str, points: Sequence[SeriesPoint], alert_level: float, onset: object | None) -> str:
    """The chart of one alert: the detector's statistic against its threshold (``kind`` "statistic"),
    or the SRB path with its band (``kind`` "srb")."""
    axes = _axes("alert", 1.5, (0.08, 0.2, 0.98, 0.95), ALERT_DPI)  # many per report: a lighter picture
    dates = [p.period_start for p in points]
    values = [p.value for p in points]
    if kind == "statistic":
        axes.fill_between(dates, 0, values, color="#f4a582", alpha=0.5, linewidth=0)
        axes.plot(dates, values, color="#b2182b", linewidth=1.2)
        axes.plot(dates, [p.lower for p in points], color="#333333", linewidth=1, linestyle="--")
    else:
        axes.fill_between(dates, [p.lower for p in points], [p.upper for p in points], color="#2166ac", alpha=0.15,
                          linewidth=0)
        axes.plot(dates, values, color="#2166ac", linewidth=1.4)
        axes.axhline(alert_level, color=LIMIT_COLOUR, linewidth=1, linestyle="--")
    if onset is not None:
        axes.axvline(onset, color="#777777", linewidth=0.8, linestyle=":")
    _date_ticks(axes, dates)
    return _data_uri(axes)
