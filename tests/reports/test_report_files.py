"""`surveil report` on the session registry: files, self-containment, headline numbers in the PDF."""
from __future__ import annotations

import re

from pypdf import PdfReader

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
    alerts = re.findall(r'<div class="title">(.*?)</div>', html)
    assert any("甲镇" in title for title in alerts)
    strata = [title.split(" · ")[-1] for title in alerts]
    within = [i for i, s in enumerate(strata) if s == "政策内二孩"]
    if within:   # second births within policy come first in each group
        assert strata[0] == "政策内二孩"


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
    # the last births are in the week of 2024-12-23; that week ends on 2024-12-29
    assert week.isoformat() <= "2024-12-23"
