"""The enforcement feed: suppression, severity, routing, and `surveil alerts export` with its manifest."""
from __future__ import annotations

import datetime as dt
import hashlib
import json

import polars as pl

from reports.feed import Route, feed_row, route

ALERT = {"alert_id": "a-1", "area_code": "T1", "area_name": "甲镇 Town One", "level": "town",
         "stratum": "parity_2_within_policy", "method": "cusum", "onset_period": dt.date(2024, 3, 4),
         "detected_period": dt.date(2024, 6, 3), "boys": 3, "girls": 40, "srb_observed": 7.5, "srb_expected": 106.0,
         "status": "new"}


def test_small_evidence_is_suppressed_with_its_ratio():
    row = feed_row(ALERT, 110.0, 5)
    assert (row["boys"], row["girls"], row["srb"], row["srb_lo"]) == ("<5", "40", None, None)
    assert "suppressed SRB" in row["description"] and "http" not in row["description"]
    assert (row["onset_week"], row["detected_week"]) == ("2024-W10", "2024-W23")


def test_severity_beside_a_hidden_count_does_not_depend_on_it():
    """Regression: severity was computed from the hidden count, so "high" next to girls "<5"
    narrowed what the "<5" held (12 boys: high for 0-2 girls, medium for 3-4). Now every hidden
    value 0..4 gives the same row: the lowest severity any of them could give."""
    rows = [feed_row({**ALERT, "boys": 12, "girls": girls}, 110.0, 5) for girls in range(5)]
    assert {(r["girls"], r["severity"], r["srb"], r["description"]) for r in rows} == {
        ("<5", "medium", None, rows[0]["description"])}
    # 40 boys: every girls value 0..4 gives an exact lower bound above 110, so "high" is what 40 and "<5" say
    assert {feed_row({**ALERT, "boys": 40, "girls": g}, 110.0, 5)["severity"] for g in range(5)} == {"high"}


def test_routing_by_method_stratum_status_and_severity():
    rows = [feed_row({**ALERT, "alert_id": "a-high", "boys": 700, "girls": 500}, 110.0, 5),
            feed_row({**ALERT, "alert_id": "a-low", "boys": 520, "girls": 500, "stratum": "all"}, 110.0, 5),
            feed_row({**ALERT, "alert_id": "a-closed", "boys": 700, "girls": 500, "status": "closed"}, 110.0, 5)]
    assert [r["alert_id"] for r in route(rows, Route(min_severity="high"))] == ["a-high"]
    assert [r["alert_id"] for r in route(rows, Route(strata=("all",)))] == ["a-low"]
    assert [r["alert_id"] for r in route(rows, Route(methods=("level",)))] == []
    assert len(route(rows, Route(statuses=()))) == 3


def test_export_writes_each_format_with_a_manifest(report_registry, surveil_cli):
    run_id = report_registry.query("select max(run_id) from runs")[0][0]
    for file_format in ("csv", "json", "parquet"):
        result = surveil_cli("alerts", "export", "--config", report_registry.config, "--format", file_format,
                             "--department", "public_security", "--since", "2024-01-01")
        assert result.exit_code == 0, result.output
        path = report_registry.root / "var" / "exports" / f"alerts_public_security_{run_id}.{file_format}"
        manifest = json.loads(path.with_name(path.name + ".manifest.json").read_text())
        assert manifest["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert manifest["run_id"] == run_id and manifest["since"] == "2024-01-01"
        frame = pl.read_parquet(path) if file_format == "parquet" else None
        if frame is not None:
            assert manifest["rows"] == frame.height > 0
            assert set(frame["stratum"]) <= {"parity_2_within_policy", "parity_2"}
            assert set(frame["severity"]) <= {"medium", "high"}
    assert surveil_cli("alerts", "export", "--config", report_registry.config, "--department", "nobody").exit_code == 2
    assert surveil_cli("alerts", "export", "--config", report_registry.config, "--format", "xml").exit_code == 2
