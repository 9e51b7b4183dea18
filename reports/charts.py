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
import io
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

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


def _figure(height: float, margins: tuple[float, float, float, float] = (0.09, 0.16, 0.98, 0.95)) -> Figure:
    """A figure with fixed margins (left, bottom, right, top): much faster than constrained layout."""
    figure = Figure(figsize=(WIDTH_INCHES, height), dpi=DPI)
    figure.subplots_adjust(*margins)
    family = cjk_family()
    if family:
        matplotlib.rcParams["font.family"] = ["DejaVu Sans", family]
    matplotlib.rcParams["axes.unicode_minus"] = False
    return figure


def _data_uri(figure: Figure, dpi: int = DPI) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _year_ticks(axes) -> None:
    locator = mdates.AutoDateLocator(minticks=3, maxticks=6)
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
    figure = _figure(3.8, (0.1, 0.12, 0.98, 0.97))
    axes = figure.add_subplot()
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
    _style(axes)
    return _data_uri(figure)


def trend_chart(series: dict[str, tuple[SeriesPoint, ...]], alert_level: float, names: dict[str, str],
                y_label: str) -> str:
    """Smoothed SRB by stratum over time, with the ``all`` stratum's 95 % band and the limit."""
    figure = _figure(3.4, (0.1, 0.1, 0.98, 0.97))
    axes = figure.add_subplot()
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
    _style(axes)
    _year_ticks(axes)
    return _data_uri(figure)


def alert_chart(kind: str, points: Sequence[SeriesPoint], alert_level: float, onset: object | None) -> str:
    """The chart of one alert: the detector's statistic against its threshold (``kind`` "statistic"),
    or the SRB path with its band (``kind`` "srb")."""
    figure = _figure(1.5, (0.08, 0.2, 0.98, 0.95))
    axes = figure.add_subplot()
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
    _style(axes)
    if len(set(dates)) >= 8:   # too short a path for year ticks: matplotlib's defaults serve
        _year_ticks(axes)
    return _data_uri(figure, ALERT_DPI)  # many per report: a lighter picture
