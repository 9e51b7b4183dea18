"""What a weekly district report says, as plain data: counts unsuppressed, straight from SQL.

``pipeline/report_stage.py`` fills these from the database; ``reports.layout`` turns them
into what is shown (suppressed, formatted, translated). Nothing here holds a record.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Estimate:
    """An area × stratum estimate over the trailing window ending with the report week."""

    births: int
    boys: int
    girls: int
    srb_raw: float | None          # 100 · boys / girls
    srb_raw_lo: float | None       # exact 95 % interval of srb_raw
    srb_raw_hi: float | None
    srb_smoothed: float            # posterior mean, boys per 100 girls
    srb_lo: float                  # posterior 95 % interval
    srb_hi: float
    prob_above: float              # P(true SRB > alert level)


@dataclass(frozen=True)
class StratumHeadline:
    """One birth-order stratum of the district's headline."""

    stratum: str
    births_week: int               # births born in the report week
    estimate: Estimate
    srb_last_year: float | None    # observed SRB of the same week a year earlier


@dataclass(frozen=True)
class SeriesPoint:
    """One period of a chart: a value and the line it is judged against (or its interval).

    An SRB point carries the counts of its window (``boys``, ``girls``) so that the layout can
    leave out a point whose counts are suppressed; a detector's statistic carries none.
    """

    period_start: dt.date
    value: float
    lower: float | None = None
    upper: float | None = None
    boys: int | None = None
    girls: int | None = None


@dataclass(frozen=True)
class Alert:
    """An open alert on the district or an area inside it, with the chart behind it."""

    alert_id: str
    area_code: str
    area_name: str
    level: str
    stratum: str
    method: str
    status: str
    detected_period: dt.date
    onset_period: dt.date | None
    boys: int
    girls: int
    srb_observed: float | None
    srb_expected: float
    statistic: float
    threshold: float
    is_new: bool
    # the detector's statistic (CUSUM or GLR, by `method`) with its threshold as `lower`,
    # or the SRB path with its interval
    chart_kind: str = "none"       # statistic | srb | none
    chart: tuple[SeriesPoint, ...] = ()


@dataclass(frozen=True)
class Town:
    """A town of the district: its estimate and what its chart can detect."""

    area_code: str
    area_name: str
    estimate: Estimate
    min_detectable_srb: float | None = None
    births_per_week: float | None = None


@dataclass(frozen=True)
class QualityCheck:
    """One expectation of the latest run's data-quality gate."""

    suite: str
    expectation: str
    severity: str                  # critical | warning
    success: bool | None           # None: not evaluated in that run (e.g. no new delivery)
    observed: str | None = None    # what the check saw, as the gate wrote it
    threshold: str | None = None   # the rule it was held to


@dataclass(frozen=True)
class DistrictWeek:
    """Everything one district's weekly report shows."""

    district_code: str
    district_name: str
    week_start: dt.date
    run_id: str
    asof_date: dt.date
    alert_level: float
    reference_srb: float
    funnel_target_srb: float
    suppression_size: int
    headline: tuple[StratumHeadline, ...]
    alerts: tuple[Alert, ...]
    towns: tuple[Town, ...]
    trend: dict[str, tuple[SeriesPoint, ...]]
    quality: tuple[QualityCheck, ...] | None       # None: no quality results recorded
    # Optional inputs that were missing, by name ("cusum_paths", "detectability"), so the
    # report can say so in a plain sentence instead of showing empty charts.
    missing_inputs: tuple[str, ...] = field(default_factory=tuple)

    @property
    def week_label(self) -> str:
        """ISO week, e.g. ``2025-W52``."""
        year, week, _ = self.week_start.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def week_end(self) -> dt.date:
        return self.week_start + dt.timedelta(days=6)
