"""Weekly district reports: query the database, hand plain data to ``reports/``, write the files.

For each district: ``<reports folder>/<YYYY-Www>/<district_code>.html``, ``.pdf`` and ``.txt``
(the e-mail's plain-text alternative). Everything read here is an aggregate computed in SQL
(``sql/reports/``); no record-level row leaves the database. Optional inputs written by
other stages (``cusum_paths``, ``detectability``, ``dq_results``) are used when present, and
the report says so in a sentence when they are not.
"""
from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import re
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb

from models.constants import STRATA, STRATUM_ALL
from pipeline import db
from pipeline.config import Settings
from pipeline.errors import ConfigError, SurveilError
from reports.content import Alert, DistrictWeek, Estimate, QualityCheck, SeriesPoint, StratumHeadline, Town
from reports.layout import characters, lay_out
from reports.pdf_fonts import font_face_css
from reports.render import render_html, render_pdf, render_text

# An alert's chart shows at least the last two years, and always reaches back before the
# alert's onset (or, without one, its detection): an old alert's rise stays in the picture.
ALERT_CHART_WEEKS = 104
ALERT_CHART_LEAD_WEEKS = 8
_ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True)
class ReportFiles:
    """The files written for one district and week."""

    district_code: str
    district_name: str
    html: Path
    text: Path
    pdf: Path | None


def parse_iso_week(text: str) -> dt.date:
    """Monday of an ISO week written ``YYYY-Www``.

    >>> parse_iso_week("2025-W52")
    datetime.date(2025, 12, 22)
    """
    match = _ISO_WEEK.match(text)
    if not match:
        raise ConfigError(f"--week {text!r}: expected an ISO week YYYY-Www, e.g. 2025-W52")
    try:
        return dt.date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise ConfigError(f"--week {text!r}: no such ISO week") from None


def iso_week_label(week_start: dt.date) -> str:
    """>>> iso_week_label(dt.date(2025, 12, 22))
    '2025-W52'
    """
    year, week, _ = week_start.isocalendar()
    return f"{year}-W{week:02d}"


def default_week(con: duckdb.DuckDBPyConnection) -> dt.date:
    """The last complete ISO week published (ended by the latest run's as-of date)."""
    found = db.row(con, "reports/report_week")
    if found is None or found[0] is None:
        raise SurveilError("no complete week is published yet; run `surveil run` first")
    return found[0]


def has_rows(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """True when an optional table exists and holds at least one row."""
    if not db.row(con, "reports/table_present", table_name=table)[0]:
        return False
    # the name comes from this module's own constants, never from input
    return con.execute(f"select exists (select 1 from {table})").fetchall()[0][0]


def _estimate(row: dict) -> Estimate:
    return Estimate(**{name: row[name] for name in Estimate.__dataclass_fields__})


def _alerts(con, district_code: str, week_start: dt.date, has_cusum: bool) -> tuple[Alert, ...]:
    rows = db.relation(con, "reports/district_alerts", district_code=district_code, week_start=week_start).pl()
    if rows.height == 0:
        return ()
    recent = week_start - dt.timedelta(weeks=ALERT_CHART_WEEKS)
    starts = {r["alert_id"]: min(recent, (r["onset_period"] or r["detected_period"])
                                 - dt.timedelta(weeks=ALERT_CHART_LEAD_WEEKS))
              for r in rows.iter_rows(named=True)}
    first_week = min(starts.values())
    codes = rows["area_code"].unique().to_list()
    cusum: dict[tuple, list[SeriesPoint]] = defaultdict(list)
    if has_cusum:
        for r in db.relation(con, "reports/cusum_paths", area_codes=codes, first_week=first_week,
                             week_start=week_start).pl().iter_rows(named=True):
            cusum[(r["area_code"], r["stratum"], r["method"])].append(
                SeriesPoint(r["period_start"], r["statistic"], r["threshold"]))
    srb = _srb_paths(con, codes, first_week, week_start)
    alerts = []
    for r in rows.iter_rows(named=True):
        chart = cusum.get((r["area_code"], r["stratum"], r["method"]))
        kind = "statistic" if chart else "srb"
        chart = [p for p in chart or srb.get((r["area_code"], r["stratum"]), [])
                 if p.period_start >= starts[r["alert_id"]]]
        alerts.append(Alert(**r, chart_kind=kind if chart else "none", chart=tuple(chart)))
    return tuple(alerts)


def _srb_paths(con, codes: list[str], first_week: dt.date, week_start: dt.date) -> dict[tuple, list[SeriesPoint]]:
    paths: dict[tuple, list[SeriesPoint]] = defaultdict(list)
    for r in db.relation(con, "reports/srb_paths", area_codes=codes, first_week=first_week,
                         week_start=week_start).pl().iter_rows(named=True):
        paths[(r["area_code"], r["stratum"])].append(
            SeriesPoint(r["period_start"], r["srb_smoothed"], r["srb_lo"], r["srb_hi"], r["boys"], r["girls"]))
    return paths


def _towns(con, district_code: str, week_start: dt.date, has_detectability: bool) -> tuple[Town, ...]:
    detectable: dict[str, tuple] = {}
    if has_detectability:
        detectable = {code: (per_week, srb) for code, per_week, srb in
                      db.run(con, "reports/town_detectability", district_code=district_code, stratum=STRATUM_ALL)}
    towns = []
    for r in db.relation(con, "reports/district_towns", district_code=district_code, stratum=STRATUM_ALL,
                         week_start=week_start).pl().iter_rows(named=True):
        per_week, min_srb = detectable.get(r["area_code"], (None, None))
        towns.append(Town(r["area_code"], r["area_name"], _estimate(r), min_srb, per_week))
    return tuple(towns)


def _quality(con) -> tuple[QualityCheck, ...] | None:
    if not has_rows(con, "dq_results"):
        return None
    checks = tuple(QualityCheck(suite, expectation, severity, success, observed, threshold)
                   for suite, expectation, severity, success, observed, threshold
                   in db.run(con, "reports/data_quality"))
    return checks or None


def district_week(con: duckdb.DuckDBPyConnection, settings: Settings, district: tuple[str, str],
                  week_start: dt.date, run: tuple) -> DistrictWeek:
    """Everything one district's report shows for the week, read from the database."""
    district_code, district_name = district
    run_id, asof_date, _ = run
    has_cusum, has_detectability = has_rows(con, "cusum_paths"), has_rows(con, "detectability")
    headline = tuple(
        StratumHeadline(r["stratum"], r["births_week"], _estimate(r), r["srb_raw_last_year"])
        for r in db.relation(con, "reports/district_headline", district_code=district_code, week_start=week_start,
                             asof=asof_date).pl().iter_rows(named=True))
    if not headline:
        raise SurveilError(f"no estimates for district {district_code} in week {iso_week_label(week_start)}")
    surveillance = settings.surveillance
    target = surveillance.reference_srb
    overall = next((h.estimate for h in headline if h.stratum == STRATUM_ALL), None)
    if settings.report.funnel_target == "district" and overall is not None and overall.srb_raw is not None:
        target = overall.srb_raw
    first_week = week_start - dt.timedelta(days=round(365.25 * settings.report.trend_years))
    paths = _srb_paths(con, [district_code], first_week, week_start)
    trend = {s: tuple(paths.get((district_code, s), ())) for s in STRATA if paths.get((district_code, s))}
    missing = tuple(name for name, present in (("cusum_paths", has_cusum), ("detectability", has_detectability))
                    if not present)
    return DistrictWeek(
        district_code=district_code, district_name=district_name, week_start=week_start, run_id=run_id,
        asof_date=asof_date, alert_level=surveillance.alert_level, reference_srb=surveillance.reference_srb,
        funnel_target_srb=target, suppression_size=settings.publish.suppression_size, headline=headline,
        alerts=_alerts(con, district_code, week_start, has_cusum),
        towns=_towns(con, district_code, week_start, has_detectability), trend=trend, quality=_quality(con),
        missing_inputs=missing)


def latest_run(con: duckdb.DuckDBPyConnection) -> tuple:
    """(run_id, asof_date, finished_at) of the latest published run."""
    run = db.row(con, "reports/latest_run")
    if run is None:
        raise SurveilError("nothing is published yet; run `surveil run` first")
    return run


def districts(con: duckdb.DuckDBPyConnection, district_code: str | None) -> list[tuple[str, str]]:
    """(code, name) of every district, or of the one asked for."""
    found = db.run(con, "reports/districts", district_code=district_code)
    if district_code and not found:
        raise ConfigError(f"--district {district_code}: not a district in the area reference")
    return found


def report_folder(settings: Settings, week_start: dt.date) -> Path:
    return settings.resolve(settings.report.output_dir) / iso_week_label(week_start)


def _draw_district(job: tuple) -> str:
    """Lay out and draw one district's HTML and text files; returns the HTML (in a worker
    process: no database here)."""
    week, language, trend_years, base = job
    html = render_html(lay_out(week, language, trend_years=trend_years))
    base.with_suffix(".html").write_text(html, encoding="utf-8")
    text = render_text(lay_out(week, language, trend_years=trend_years, with_charts=False))
    base.with_suffix(".txt").write_text(text, encoding="utf-8")
    return html


def _print_district(job: tuple) -> None:
    """Print one district's HTML to PDF (in a worker process)."""
    html, base, font_css = job
    base.with_suffix(".pdf").write_bytes(render_pdf(html, font_css))


def write_reports(con: duckdb.DuckDBPyConnection, settings: Settings, week_start: dt.date, *,
                  district_code: str | None = None, language: str | None = None,
                  with_pdf: bool = True) -> list[ReportFiles]:
    """Write each district's HTML, text and (unless ``with_pdf`` is False) PDF for the week.

    The database is read here, in this process, one district after the other; each district
    is handed, as plain data, to a pool of one worker process per core as soon as it is read,
    so drawing (CPU-bound, pure Python) overlaps the reading. The PDFs are printed once every
    district is read: their font is cut to the characters of all of them.
    """
    language = language or settings.report.language
    run = latest_run(con)
    folder = report_folder(settings, week_start)
    folder.mkdir(parents=True, exist_ok=True)
    found = districts(con, district_code)
    workers = min(len(found), os.cpu_count() or 1)
    # fork: the children inherit the imports and never touch the database connection
    pool = (ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) if workers > 1 else None)
    try:
        weeks, drawn = [], []
        for district in found:
            week = district_week(con, settings, district, week_start, run)
            job = (week, language, settings.report.trend_years, folder / week.district_code)
            weeks.append(week)
            drawn.append(pool.submit(_draw_district, job) if pool else _draw_district(job))
        htmls = [html.result() for html in drawn] if pool else drawn
        if with_pdf and weeks:
            # one font cut for the whole batch: every character any of the reports can print
            font_css = font_face_css("".join(set().union(*(characters(week) for week in weeks))),
                                     font_cache(settings))
            # the longest documents (most alerts) first, so the last worker is not left with the longest
            jobs = sorted(((html, folder / week.district_code, font_css)
                           for week, html in zip(weeks, htmls, strict=True)), key=lambda job: -len(job[0]))
            list(pool.map(_print_district, jobs) if pool else map(_print_district, jobs))
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
    return [ReportFiles(week.district_code, week.district_name, (folder / week.district_code).with_suffix(".html"),
                        (folder / week.district_code).with_suffix(".txt"),
                        (folder / week.district_code).with_suffix(".pdf") if with_pdf else None) for week in weeks]


def font_cache(settings: Settings) -> Path:
    """Where cut fonts are kept between runs (beside the reports, never shipped)."""
    return settings.resolve(settings.report.output_dir) / ".fonts"
