"""Every file that leaves the database — HTML, text, PDF, .eml, exports — holds no record
identifier (clear or hashed) and no count below the suppression size shown as a number."""
from __future__ import annotations

import email
import email.policy
import io
import re

import polars as pl
import pytest
from pypdf import PdfReader

from tests.reports.conftest import REPORT_WEEK

SIZE = 5
# "label value" pairs as the templates print counts, in both languages (missing girls is an estimate, not a count)
LABELLED_COUNT = re.compile(r"(?:本周出生|近52周出生|男婴|(?<!缺失)女婴|Births this week|Births, last 52 weeks|"
                            r"Boys|Girls)"
                            r"\s*(?:/\s*(?:女婴|Girls))?\s*[:：]?\s*(<\d+|\d[\d,]*\d|\d)(?:\s*/\s*(<\d+|\d[\d,]*\d|\d))?")


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def eml_texts(raw: bytes) -> list[str]:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    texts = [str(message["Subject"])]
    for part in message.walk():
        if part.get_content_type() in ("text/plain", "text/html"):
            texts.append(part.get_content())
        elif part.get_content_type() == "application/pdf":
            texts.append(pdf_text(part.get_content()))
    return texts


@pytest.fixture(scope="module")
def outputs(report_registry, tmp_path_factory) -> dict[str, str]:
    """Name -> text of every output of a demo-like week: reports, e-mails (dry run), all exports."""
    from typer.testing import CliRunner

    from pipeline.cli import app

    runner = CliRunner()
    config = str(report_registry.config)
    runs = [("email", "--week", REPORT_WEEK, "--dry-run")] + [
        ("alerts", "export", "--format", fmt, *dept) for fmt in ("csv", "json", "parquet")
        for dept in ((), ("--department", "public_security"))]
    for args in runs:
        result = runner.invoke(app, [*args, "--config", config], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    texts: dict[str, str] = {}
    var = report_registry.root / "var"
    for path in sorted((var / "reports" / REPORT_WEEK).iterdir()):
        texts[path.name] = pdf_text(path.read_bytes()) if path.suffix == ".pdf" else path.read_text(encoding="utf-8")
    for path in sorted((var / "outbox").rglob("*.eml")):
        texts[path.name] = "\n".join(eml_texts(path.read_bytes()))
    for path in sorted((var / "exports").iterdir()):
        texts[path.name] = (pl.read_parquet(path).write_csv() if path.suffix == ".parquet"
                            else path.read_text(encoding="utf-8"))
    assert any(name.endswith(".eml") for name in texts) and any(name.endswith(".parquet") for name in texts)
    return texts


def test_no_record_identifier_clear_or_hashed(report_registry, outputs):
    keys = [h for (h,) in report_registry.query("select record_hash from births")]
    assert len(keys) > 1000
    hexes, decimals = {f"{k:032x}" for k in keys}, {str(k) for k in keys}
    for name, text in outputs.items():
        assert "RPT-" not in text, f"{name} holds a clear record id"
        assert not hexes & set(re.findall(r"[0-9a-f]{32}", text.lower())), f"{name} holds a record hash"
        assert not decimals & set(re.findall(r"[0-9]{20,}", text)), f"{name} holds a record hash"


def _assert_not_small(name: str, value: str) -> None:
    assert value == f"<{SIZE}" or int(value.replace(",", "")) >= SIZE, f"{name} shows the count {value}"


def test_every_shown_count_is_suppressed_below_five(outputs):
    checked = 0
    for name, text in outputs.items():
        if name.endswith(".html") or name.endswith(".eml"):
            for value in re.findall(r'class="count">([^<]*(?:&lt;\d+)?[^<]*)<', text):
                _assert_not_small(name, value.replace("&lt;", "<"))
                checked += 1
        for match in LABELLED_COUNT.finditer(text):
            for value in filter(None, match.groups()):
                _assert_not_small(name, value)
                checked += 1
        if name.startswith("alerts_") and name.endswith((".csv", ".parquet")) and "manifest" not in name:
            for row in pl.read_csv(io.StringIO(text), infer_schema=False).iter_rows(named=True):
                _assert_not_small(name, row["boys"])
                _assert_not_small(name, row["girls"])
                checked += 2
    assert checked > 100


def test_small_counts_are_shown_as_less_than_five(outputs):
    # parity_3plus births in one week of a district of ~45 births a week are mostly below 5
    assert "&lt;5" in outputs["D1.html"] and "<5" in outputs["D1.txt"]


def test_tiny_town_and_its_complement_are_hidden(outputs):
    html = outputs["D1.html"]
    rows = {name: row for name, row in re.findall(r"<tr[^>]*><td>([^<]+)</td>(.*?)</tr>", html, re.S)}
    hidden = [name for name, row in rows.items() if "（隐去）" in row]
    assert "丙镇 Town Three" in hidden          # 3 boys and 7 girls in the window
    assert len(hidden) >= 2, "a second town is hidden so the tiny one cannot be worked out from the total"
