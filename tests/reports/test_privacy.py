"""Every file that leaves the database — HTML, text, PDF, .eml, exports — holds no record
identifier (clear or hashed) and no count below the suppression size shown as a number.

Two registries: the small report registry of ``conftest.py`` (a tiny town planted), and a
real demo run (``pipeline.demo.write_demo``, the generator behind ``surveil demo``, at a
reduced size so the test stays within a few minutes on two cores).

What counts as a *shown count* (checked: "<5", "—" or a whole number of at least 5):
- HTML (reports and e-mail bodies): the text of every element of class ``count`` — the
  templates put every printed count (births this week, births in the window, boys, girls,
  alert evidence, town births) in one;
- plain text, PDF text and e-mail text: the number after each count label (births this week,
  births in 52 weeks, boys, girls, in zh and en), including "boys / girls" pairs;
- feed exports (CSV, JSON, Parquet): the ``boys`` and ``girls`` fields of every row.
Not counts of births: SRBs, intervals, missing girls (an estimate), run ids, dates, the
manifest's row count (alerts), data-quality observations (records failing a rule).
"""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import json
import re
from pathlib import Path

import polars as pl
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from pipeline.cli import app
from tests.reports.conftest import REPORT_WEEK

SIZE = 5
HIDDEN = {f"<{SIZE}", "—"}
_VALUE = r"(<\d+|—|\d[\d,]*\d|\d)"
# "label value" pairs as the templates print counts, in both languages (missing girls is an estimate, not a count)
LABELLED_COUNT = re.compile(r"(?:本周出生|近52周出生|男婴|(?<!缺失)女婴|Births this week|Births, last 52 weeks|"
                            r"Boys|Girls)"
                            rf"\s*(?:/\s*(?:女婴|Girls))?\s*[:：]?\s*{_VALUE}(?:\s*/\s*{_VALUE})?")
COUNT_ELEMENT = re.compile(r'class="count">([^<]*(?:&lt;\d+)?[^<]*)<')


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


def file_text(path: Path) -> str:
    """What a reader of the file sees, as text (PDF through pypdf, Parquet as CSV)."""
    if path.suffix == ".pdf":
        return pdf_text(path.read_bytes())
    if path.suffix == ".eml":
        return "\n".join(eml_texts(path.read_bytes()))
    if path.suffix == ".parquet":
        return pl.read_parquet(path).write_csv()
    return path.read_text(encoding="utf-8")


def output_texts(folders: list[Path], prefix: str = "") -> dict[str, str]:
    """Name -> text of every file under the folders (the PDF font cache excepted: not an output)."""
    return {prefix + str(path.relative_to(path.parents[1])): file_text(path)
            for folder in folders for path in sorted(folder.rglob("*"))
            if path.is_file() and ".fonts" not in path.parts}


def shown_counts(name: str, text: str) -> list[str]:
    """Every shown count of one output file, as printed (see the module docstring)."""
    values: list[str] = []
    if name.endswith((".html", ".eml")):
        values += [v.replace("&lt;", "<").strip() for v in COUNT_ELEMENT.findall(text)]
    if not name.endswith((".csv", ".json", ".parquet")):
        values += [v for match in LABELLED_COUNT.finditer(text) for v in match.groups() if v]
    elif "manifest" not in name:
        rows = (json.loads(text) if name.endswith(".json")
                else pl.read_csv(io.StringIO(text), infer_schema=False).to_dicts())
        values += [row[field] for row in rows for field in ("boys", "girls")]
    return values


def small_counts(outputs: dict[str, str]) -> tuple[int, list[tuple[str, str]]]:
    """(how many counts were checked, the ones shown as a number below the suppression size)."""
    checked, small = 0, []
    for name, text in outputs.items():
        for value in shown_counts(name, text):
            checked += 1
            if value not in HIDDEN and int(value.replace(",", "")) < SIZE:
                small.append((name, value))
    return checked, small


def identifier_leaks(outputs: dict[str, str], record_ids: set[str], hashes: list[int]) -> list[tuple[str, str]]:
    """(file, token) for every record id, or record hash in hex or decimal, found in a file."""
    hexes, decimals = {f"{h:032x}" for h in hashes}, {str(h) for h in hashes}
    leaks = []
    for name, text in outputs.items():
        tokens = set(re.findall(r"[0-9A-Za-z_-]+", text))
        leaks += [(name, t) for t in tokens & record_ids]
        leaks += [(name, t) for t in set(re.findall(r"[0-9a-f]{32}", text.lower())) & hexes]
        leaks += [(name, t) for t in set(re.findall(r"[0-9]{20,}", text)) & decimals]
    return leaks


def _invoke(config: Path, *args: str) -> None:
    result = CliRunner().invoke(app, [*args, "--config", str(config)], catch_exceptions=False)
    assert result.exit_code == 0, (args, result.output)


# --- the small report registry -------------------------------------------------------------

@pytest.fixture(scope="module")
def outputs(report_registry) -> dict[str, str]:
    """Name -> text of every output of the registry's week: reports, e-mails (dry run), all exports."""
    config = report_registry.config
    _invoke(config, "email", "--week", REPORT_WEEK, "--dry-run")
    for file_format in ("csv", "json", "parquet"):
        for department in ((), ("--department", "public_security")):
            _invoke(config, "alerts", "export", "--format", file_format, *department)
    var = report_registry.root / "var"
    texts = output_texts([var / "reports" / REPORT_WEEK, var / "outbox", var / "exports"])
    assert any(name.endswith(".eml") for name in texts) and any(name.endswith(".parquet") for name in texts)
    return texts


def test_no_record_identifier_clear_or_hashed(report_registry, outputs):
    keys = [h for (h,) in report_registry.query("select record_hash from births")]
    assert len(keys) > 1000
    assert not any("RPT-" in text for text in outputs.values()), "a clear record id"
    assert identifier_leaks(outputs, set(), keys) == []


def test_every_shown_count_is_suppressed_below_five(outputs):
    checked, small = small_counts(outputs)
    assert small == []
    assert checked > 100
    # the JSON feed's fields are checked too (its keys are lower-case)
    assert any(name.endswith(".json") and "manifest" not in name and shown_counts(name, text)
               for name, text in outputs.items())


def test_small_counts_are_shown_as_less_than_five(outputs):
    # parity_3plus births in one week of a district of ~45 births a week are mostly below 5
    html = next(text for name, text in outputs.items() if name.endswith("D1.html"))
    text = next(text for name, text in outputs.items() if name.endswith("D1.txt"))
    assert "&lt;5" in html and "<5" in text


def test_tiny_town_and_its_complement_are_hidden(outputs):
    html = next(text for name, text in outputs.items() if name.endswith("D1.html"))
    rows = {name: row for name, row in re.findall(r"<tr[^>]*><td>([^<]+)</td>(.*?)</tr>", html, re.S)}
    hidden = [name for name, row in rows.items() if "（隐去）" in row]
    assert "丙镇 Town Three" in hidden          # 3 boys and 7 girls in the window
    assert len(hidden) >= 2, "a second town is hidden so the tiny one cannot be worked out from the total"


def test_the_scan_finds_a_small_count_and_a_record_id():
    """The scanners themselves can fail: a planted small count and a planted id are caught."""
    html = '<td class="count">3</td><td class="count">&lt;5</td><td class="count">—</td>'
    assert small_counts({"r/D1.html": html, "r/D1.txt": "Boys 4, Girls 120"}) == (5, [("r/D1.html", "3"),
                                                                                    ("r/D1.txt", "4")])
    feed = json.dumps([{"boys": "2", "girls": "<5"}])
    assert small_counts({"e/alerts_all_r.json": feed}) == (2, [("e/alerts_all_r.json", "2")])
    assert identifier_leaks({"x.txt": "id FS000000007 hash " + f"{12345:032x}"}, {"FS000000007"}, [12345]) == [
        ("x.txt", "FS000000007"), ("x.txt", f"{12345:032x}")]


# --- a real demo run -------------------------------------------------------------------------

DEMO_YEARS, DEMO_BIRTHS_PER_YEAR = 2, 10_000
DEMO_CONFIG = Path(__file__).resolve().parents[2] / "config" / "demo.toml"


def _record_ids(births: Path) -> set[str]:
    """Every record id of the demo's input files (English or Chinese header, UTF-8 or GB18030)."""
    ids: set[str] = set()
    for path in sorted(births.glob("*.csv")):
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gb18030")
        frame = pl.read_csv(io.StringIO(text), infer_schema=False)
        ids |= set(frame[frame.columns[0]].drop_nulls().to_list())
    return ids


@pytest.fixture(scope="module")
def demo_outputs(tmp_path_factory) -> tuple[dict[str, str], set[str], list[int]]:
    """A reduced demo run end to end, every output file read back.

    The demo generator behind `surveil demo` (``write_demo``) at 2 years of 10,000 births (the
    full demo is 6 × 60,000), its configuration with `smoothing = "none"` (what leaves the
    database does not depend on the smoother; the spatial one is most of a full run's time),
    then `surveil run`, `report --language en --no-pdf`, `email --dry-run` (which writes the zh
    reports with their PDFs again, and the .eml files) and `alerts export` in every format, for
    everyone and for each configured department.
    """
    from pipeline.demo import DemoSpec, write_demo

    root = tmp_path_factory.mktemp("demo")
    # 10 spoiled rows among ~800 a month keep the demo's spoiled month under the 2 % quarantine gate
    write_demo(root / "data", DemoSpec(first_year=2026 - DEMO_YEARS, years=DEMO_YEARS,
                                       births_per_year=DEMO_BIRTHS_PER_YEAR, bad_rows=10))
    config = root / "demo.toml"
    config.write_text(DEMO_CONFIG.read_text(encoding="utf-8")
                      .replace("../data/demo/", "data/").replace("../var/", "var/")
                      .replace("alert_level = 110.0", 'alert_level = 110.0\nsmoothing = "none"'), encoding="utf-8")
    assert 'smoothing = "none"' in config.read_text(encoding="utf-8")
    _invoke(config, "run")
    _invoke(config, "report", "--language", "en", "--no-pdf")
    var = root / "var"
    texts = output_texts([var / "reports"], "en/")
    _invoke(config, "email", "--dry-run")
    texts |= output_texts([var / "reports"], "zh/")
    for file_format in ("csv", "json", "parquet"):
        _invoke(config, "alerts", "export", "--format", file_format)
        for department in ("health_commission", "public_security", "market_regulation"):
            _invoke(config, "alerts", "export", "--format", file_format, "--department", department)
    texts |= output_texts([var / "outbox", var / "exports"])
    import duckdb

    with duckdb.connect(str(var / "surveil.duckdb"), read_only=True) as con:
        hashes = [h for (h,) in con.execute("select record_hash from births union all "
                                            "select record_hash from quarantine where record_hash is not null")
                  .fetchall()]
    return texts, _record_ids(root / "data" / "births"), hashes


def test_demo_run_outputs_hold_no_record_identifier(demo_outputs):
    texts, record_ids, hashes = demo_outputs
    assert len(record_ids) > 0.9 * DEMO_YEARS * DEMO_BIRTHS_PER_YEAR and len(hashes) > 0.9 * len(record_ids)
    kinds = {Path(name).suffix for name in texts}
    assert {".html", ".pdf", ".txt", ".eml", ".csv", ".json", ".parquet"} <= kinds
    assert sum(name.startswith("zh/") and name.endswith(".pdf") for name in texts) == 5    # five districts
    assert identifier_leaks(texts, record_ids, hashes) == []


def test_demo_run_outputs_show_no_count_below_five(demo_outputs):
    texts, _, _ = demo_outputs
    checked, small = small_counts(texts)
    assert small == []
    # five districts × (headline 5 strata × 4 counts + towns) in two languages, e-mails and feeds
    assert checked > 500
    week = dt.date(2025, 12, 22).isocalendar()
    assert any(f"{week.year}-W{week.week:02d}" in name for name in texts)
