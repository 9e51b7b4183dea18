"""``surveil alerts export``: the enforcement feed as CSV, JSON or Parquet with a manifest.

Rows come from ``reports.feed`` (suppressed, described); routing by department follows
``[export.departments.NAME]`` in the configuration. Beside each file, ``<file>.manifest.json``
records the run the alerts come from, the row count and the file's SHA-256, so a receiving
system can check what it loaded.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipeline import db
from pipeline.config import Settings
from pipeline.errors import ConfigError
from pipeline.report_stage import latest_run
from reports.feed import COLUMNS, Route, feed_row, route

FORMATS = ("csv", "json", "parquet")


@dataclass(frozen=True)
class Export:
    """One written feed file and its manifest."""

    path: Path
    manifest: Path
    rows: int
    sha256: str


def _rule(settings: Settings, department: str | None) -> Route:
    if department is None:
        return Route(statuses=())
    rules = settings.export.departments
    if department not in rules:
        known = ", ".join(sorted(rules)) or "none configured"
        raise ConfigError(f"--department {department!r}: not in [export.departments] ({known})")
    rule = rules[department]
    return Route(rule.methods, rule.strata, rule.statuses, rule.min_severity)


def _write(frame: pl.DataFrame, path: Path, file_format: str) -> None:
    if file_format == "csv":
        frame.write_csv(path)
    elif file_format == "json":
        path.write_text(json.dumps(frame.to_dicts(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    else:
        frame.write_parquet(path)


def export_alerts(con: duckdb.DuckDBPyConnection, settings: Settings, *, file_format: str,
                  department: str | None = None, since: dt.date | None = None, now: dt.datetime) -> Export:
    """Write the feed for one department (or every alert, without one) and its manifest."""
    if file_format not in FORMATS:
        raise ConfigError(f"--format {file_format!r}: expected one of {', '.join(FORMATS)}")
    rule = _rule(settings, department)
    run_id, asof_date, _ = latest_run(con)
    alerts = db.relation(con, "reports/export_alerts", since=since).pl().to_dicts()
    rows = route((feed_row(a, settings.surveillance.alert_level, settings.publish.suppression_size) for a in alerts),
                 rule)
    schema = {name: pl.String for name in COLUMNS} | {name: pl.Float64 for name in
                                                     ("srb", "srb_lo", "srb_hi", "srb_expected")}
    frame = pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)
    folder = settings.resolve(settings.export.output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"alerts_{department or 'all'}_{run_id}.{file_format}"
    _write(frame.select(COLUMNS), path, file_format)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest = path.with_name(path.name + ".manifest.json")
    manifest.write_text(json.dumps({
        "file": path.name, "format": file_format, "sha256": digest, "rows": frame.height, "run_id": run_id,
        "asof": asof_date.isoformat(), "department": department, "since": since.isoformat() if since else None,
        "created_at": now.isoformat(timespec="seconds"), "suppression_size": settings.publish.suppression_size,
        "columns": list(COLUMNS),
    }, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return Export(path, manifest, frame.height, digest)
