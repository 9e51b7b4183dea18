"""`surveil report` on the session registry: files, self-containment, headline numbers in the PDF."""
from __future__ import annotations

import re
from html import escape

from pypdf import PdfReader

from tests.conftest import good_records, record
from tests.reports.conftest import REPORT_WEEK


def report_folder(registry):
    return registry.root / "var" / "reports" / REPORT_WEEK


def headline_numbers(registry, district: str) -> tuple[int, float]:
    """Births in the trailing window and raw SRB of the district's `all` stratum, straight from SQL."""
    ((births, srb),) = registry.query(
        "select births, srb_raw from srb_estimates where area_code = $d and stratum = 'all' "
        "and period_start = '2024-12-23'", {"d": district})
    return births, srb


def test_one_html_pdf_and_text_per_district(report_registry):
    names = sorted(p.name for p in report_folder(report_registry).iterdir())
    assert names == ["D1.html", "D1.pdf", "D1.txt", "D2.html", "D2.pdf", "D2.txt"]


def test_html_is_self_contained_and_in_section_order(report_registry):
    html = (report_folder(report_registry) / "D1.html").read_text(encoding="utf-8")
    assert not re.search(r'(src|href)="(https?:)?//', html), "no external fetch"
    assert 'name="viewport" content="width=device-width' in html
    assert html.count('src="data:image/png;base64,') >= 3      # funnel, trend, at least one alert chart
    sections = [html.index(f'id="{name}"') for name in ("headline", "alerts", "funnel", "trend", "towns", "quality")]
    assert sections == sorted(sections)


def test_pdf_text_holds_the_headline_numbers(report_registry):
    births, srb = headline_numbers(report_registry, "D1")
    text = "".join(page.extract_text() for page in PdfReader(report_folder(report_registry) / "D1.pdf").pages)
    assert f"{births:,}" in text
    assert f"{srb:.1f}" in text
    assert "东区 East District" in text and "出生性别比" in text


def test_planted_excess_is_an_alert_listed_within_policy_first(report_registry):
    html = (report_folder(report_registry) / "D1.html").read_text(encoding="utf-8")
    groups = re.split(r"<h3>", html.split('id="alerts"')[1].split('id="funnel"')[0])[1:]
    titles = [re.findall(r'<div class="title">(.*?)</div>', group) for group in groups]
    assert len(titles) == 2 and any("甲镇" in title for group in titles for title in group)
    strata = [[title.split(" · ")[-1] for title in group] for group in titles]
    assert any("政策内二孩" in group for group in strata), strata      # the planted track raised an alert
    for group in strata:   # in each group (new, ongoing) every within-policy alert precedes the others
        is_within = [stratum == "政策内二孩" for stratum in group]
        assert is_within == sorted(is_within, reverse=True), group


def test_english_report_and_one_district(report_registry, surveil_cli, tmp_path):
    result = surveil_cli("report", "--config", report_registry.config, "--week", REPORT_WEEK, "--district", "D2",
                         "--language", "en", "--no-pdf")
    assert result.exit_code == 0, result.output
    html = (report_folder(report_registry) / "D2.html").read_text(encoding="utf-8")
    assert "Weekly sex ratio at birth report" in html and "Funnel plot of towns" in html
    surveil_cli("report", "--config", report_registry.config, "--week", REPORT_WEEK, "--district", "D2", "--no-pdf")


def test_bad_week_and_unknown_district_are_exit_2(report_registry, surveil_cli):
    assert surveil_cli("report", "--config", report_registry.config, "--week", "2024-52").exit_code == 2
    result = surveil_cli("report", "--config", report_registry.config, "--week", REPORT_WEEK, "--district", "T1")
    assert result.exit_code == 2
    assert "not a district" in result.stderr


def test_default_week_is_the_last_complete_one(report_registry):
    from pipeline import db
    from pipeline.report_stage import default_week

    with db.connect(report_registry.database, read_only=True) as con:
        week = default_week(con)
    # the last births are in the week of 2024-12-23, which ends on 2024-12-29, before the run's as-of
    # date (the day the tests run): the last complete published week is exactly that one
    assert week.isoformat() == "2024-12-23"


def _run_with_late_registrations(registry, surveil_cli) -> None:
    """Deliver 300 good records and 60 of District One's registered over 90 days late (a warning
    only: registry.late_registration_share), and run with the reports under var/reports."""
    lines = good_records(300)
    lines += [record(f"LATE-{i}", birth_date="2024-03-05", registered_date="2024-07-01", sex="MF"[i % 2],
                     area_code="V1") for i in range(60)]
    registry.deliver("births_2024-07.csv", lines)
    registry.write_config('\n[report]\noutput_dir = "var/reports"\n')
    assert surveil_cli("run", "--config", registry.config, "--asof", "2024-12-31").exit_code == 0


def test_a_warning_only_run_reports_the_warning_with_its_observed_value(registry, surveil_cli):
    """60 of District One's 260 registrations of the year come over 90 days after the birth
    (23 %, above the 10 % line): registry.late_registration_share, a warning, fails alone. The
    run publishes, and the report's data-quality section names the expectation with what the
    gate observed and the rule it was held to."""
    _run_with_late_registrations(registry, surveil_cli)
    ((expectation, severity, observed, threshold),) = registry.query(
        "select expectation, severity, observed, threshold from dq_results "
        "where run_id = (select max(run_id) from runs) and not success")
    assert (expectation, severity) == ("registry.late_registration_share", "warning")
    result = surveil_cli("report", "--config", registry.config, "--district", "D1", "--language", "en", "--no-pdf")
    assert result.exit_code == 0, result.output
    (html_path,) = (registry.root / "var" / "reports").rglob("D1.html")
    quality = html_path.read_text(encoding="utf-8").split('id="quality"')[1]
    assert "The latest run raised 1 warnings" in quality
    assert f"registry.late_registration_share (warning):\n    observed {escape(observed)}" in quality
    assert escape(threshold) in quality
    text = html_path.with_suffix(".txt").read_text(encoding="utf-8")
    assert f"- registry.late_registration_share (warning): observed {observed}; Threshold {threshold}" in text


def test_an_old_alerts_chart_reaches_back_before_its_onset(report_registry, monkeypatch):
    """Regression: charts started 104 weeks before the report week, so an older alert's onset
    or crossing was cut off. With the recent span shrunk to 4 weeks (a constant patched, so the
    registry's 2024 alerts count as old), each chart still starts 8 weeks before the onset (or
    the detection, for a level alert), and CUSUM/GLR paths are captioned by their method."""
    import datetime as dt

    from pipeline import db, report_stage

    monkeypatch.setattr(report_stage, "ALERT_CHART_WEEKS", 4)
    week = dt.date(2024, 12, 23)
    with db.connect(report_registry.database, read_only=True) as con:
        alerts = report_stage._alerts(con, "D1", week, report_stage.has_rows(con, "cusum_paths"))
    recent = week - dt.timedelta(weeks=4)
    charted = [a for a in alerts if a.chart]
    assert any((a.onset_period or a.detected_period) < recent for a in charted), "an old alert with a chart"
    for alert in charted:
        anchor = alert.onset_period or alert.detected_period
        start = alert.chart[0].period_start
        assert start <= anchor and start >= min(anchor - dt.timedelta(weeks=8), recent), alert.alert_id


def test_a_rerun_with_nothing_new_lists_no_unevaluated_check_as_a_warning(registry, surveil_cli):
    """A warning-only delivery is run, then the run is repeated with nothing new delivered. The
    rerun records the checks it could not judge (no new delivery) with success NULL; the report
    must not count or list them as warnings. What it shows comes from the rerun's own rows: each
    check that failed again is listed, and when none did it says that all the evaluated checks
    (the NULL ones left out of the count) passed."""
    _run_with_late_registrations(registry, surveil_cli)
    assert surveil_cli("run", "--config", registry.config, "--asof", "2024-12-31").exit_code == 0
    rerun = ("where run_id = (select run_id from runs where status = 'published' order by finished_at desc limit 1) "
             "and delivery is null")
    def expectations(condition: str) -> set[str]:
        return {name for (name,) in registry.query(f"select expectation from dq_results {rerun} and {condition}")}

    not_evaluated, failed = expectations("success is null"), expectations("not success")
    (evaluated,) = registry.query(f"select count(*) from dq_results {rerun} and success is not null")[0]
    assert not_evaluated, "the rerun left some checks unevaluated (else this test tests nothing)"
    result = surveil_cli("report", "--config", registry.config, "--district", "D1", "--language", "en", "--no-pdf")
    assert result.exit_code == 0, result.output
    (html_path,) = (registry.root / "var" / "reports").rglob("D1.html")
    quality = html_path.read_text(encoding="utf-8").split('id="quality"')[1].split("</section>")[0]
    listed = set(re.findall(r"<li>([\w.]+) \(", quality))
    assert listed == failed
    assert not listed & not_evaluated
    if failed:
        assert f"The latest run raised {len(failed)} warnings" in quality
    else:
        assert f"All {evaluated} checks of the latest run passed." in quality
