"""The HTML report, and the promises about how Great Expectations is run."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dq_fixtures import ASOF
from test_dq_delivery import _duplicate_hash, _set

from expectations import check_delivery, check_registry, registry_metrics, render_dq_report
from expectations.runner import gx_handle, preload_gx

REPO = Path(__file__).resolve().parents[2]


def test_report_names_failure_and_holds_no_identifier(good_batch, known_area_codes, registry):
    batch = _set("mother_age", 75)(_duplicate_hash(good_batch))
    outcomes = check_delivery(
        batch, known_area_codes=known_area_codes, asof=ASOF,
        rows_read=batch.height, rows_quarantined=0,
    )
    outcomes += check_registry(registry_metrics(registry, asof=ASOF, delivery_ids=[2]))
    html = render_dq_report(outcomes, {"run": "test", "asof": ASOF.isoformat()})
    assert html.startswith("<!DOCTYPE html>")
    assert "Gate failed" in html
    assert "delivery.record_hash_unique" in html
    assert "delivery.mother_age_in_range" in html
    assert "75 (&lt;5 records)" in html
    assert not any(record_hash in html for record_hash in batch["record_hash"])
    assert "http://" not in html and "https://" not in html  # self-contained
    assert "<script" not in html


def test_report_of_a_clean_run_says_so():
    assert "Gate passed. No expectation failed." in render_dq_report([], {})


def test_context_is_ephemeral_quiet_and_writes_nothing(gx_context, good_batch,
                                                       known_area_codes, capfd):
    handle, workdir = gx_context
    assert handle is gx_handle()
    assert type(handle.context).__name__ == "EphemeralDataContext"
    assert handle.context.progress_bars["globally"] is False
    check_delivery(
        good_batch, known_area_codes=known_area_codes, asof=ASOF,
        rows_read=good_batch.height, rows_quarantined=0,
    )
    captured = capfd.readouterr()
    assert "Calculating Metrics" not in captured.err + captured.out
    assert list(workdir.iterdir()) == []
    assert not (REPO / "gx").exists()


def test_importing_the_package_does_not_import_great_expectations():
    code = (
        "import sys, expectations; "
        "print(any(m.startswith('great_expectations') for m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_preload_shares_the_one_context(gx_context):
    handle, _ = gx_context
    thread = preload_gx()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert gx_handle() is handle
