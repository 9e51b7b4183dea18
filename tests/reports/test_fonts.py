"""Without a CJK font the whole report degrades to English with one warning, never to boxes.

The font lookup is pointed at an empty folder (``SURVEIL_FONT_DIRS``, used only for the
lookup), so the fallback is exercised on a machine that has fonts-noto-cjk installed.
Outputs go to folders of their own so the session's Chinese reports stay as they are.
"""
from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from reports.fonts import FONT_DIRS_ENV, cjk_family
from tests.reports.conftest import REPORT_WEEK

CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")
WARNING = "no CJK font found (Debian package: fonts-noto-cjk)"
SYSTEM_CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


@pytest.fixture
def font_dirs(monkeypatch):
    """Set SURVEIL_FONT_DIRS for one test; the cached lookup is redone before and after."""
    def use(folder: Path) -> None:
        monkeypatch.setenv(FONT_DIRS_ENV, str(folder))
        cjk_family.cache_clear()

    yield use
    monkeypatch.delenv(FONT_DIRS_ENV, raising=False)
    cjk_family.cache_clear()


@pytest.fixture
def own_folders_config(report_registry) -> Path:
    """The session registry's config writing reports and .eml files to folders of their own."""
    text = report_registry.config.read_text(encoding="utf-8")
    config = report_registry.root / "no-font.toml"
    config.write_text(text.replace('output_dir = "var/reports"', 'output_dir = "var/reports-no-font"')
                      .replace('outbox_dir = "var/outbox"', 'outbox_dir = "var/outbox-no-font"'), encoding="utf-8")
    return config


def test_an_empty_font_folder_finds_no_cjk_font(tmp_path, font_dirs):
    font_dirs(tmp_path)
    assert cjk_family() is None


@pytest.mark.skipif(not SYSTEM_CJK_FONT.exists(), reason="needs Debian's fonts-noto-cjk")
def test_a_font_folder_with_noto_cjk_finds_it(tmp_path, font_dirs):
    (tmp_path / SYSTEM_CJK_FONT.name).symlink_to(SYSTEM_CJK_FONT)
    font_dirs(tmp_path)
    assert cjk_family() == "Noto Sans CJK SC"


def test_report_without_cjk_font_is_english_with_one_warning(report_registry, surveil_cli, own_folders_config,
                                                            tmp_path, font_dirs):
    font_dirs(tmp_path)
    result = surveil_cli("report", "--config", own_folders_config, "--week", REPORT_WEEK, "--district", "D1")
    assert result.exit_code == 0, result.output + result.stderr
    assert result.stderr.count(WARNING) == 1
    folder = report_registry.root / "var" / "reports-no-font" / REPORT_WEEK
    html = (folder / "D1.html").read_text(encoding="utf-8")
    pdf = PdfReader(folder / "D1.pdf")
    pdf_text = "".join(page.extract_text() for page in pdf.pages)
    for text in (html, pdf_text):
        assert "Weekly sex ratio at birth report" in text and "East District" in text and "Town One" in text
        assert not CJK.findall(text), "no character a Latin font cannot draw"
    # the CJK cut (reports/pdf_fonts.py, "Report-CJK" in the PDF) is left out; fontconfig's default face
    # draws the Latin text (on this machine that may still be a Noto CJK face: it has Latin glyphs)
    fonts = {str(font["/BaseFont"]) for page in pdf.pages for font in page["/Resources"]["/Font"].values()}
    assert fonts and not any("Report-CJK" in name for name in fonts), fonts


def test_email_regenerating_reports_warns_too(report_registry, surveil_cli, own_folders_config, tmp_path,
                                              font_dirs):
    font_dirs(tmp_path)
    result = surveil_cli("email", "--config", own_folders_config, "--week", REPORT_WEEK, "--dry-run")
    assert result.exit_code == 0, result.output + result.stderr
    assert result.stderr.count(WARNING) == 1
    eml = report_registry.root / "var" / "outbox-no-font" / REPORT_WEEK / "D1.eml"
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Weekly sex ratio at birth report" in text and not CJK.findall(text)
    assert message["Subject"].startswith("Weekly SRB report")
