"""The one-screen summary every run prints and writes to its output folder."""
from __future__ import annotations

import io

import duckdb
import polars as pl
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table

from models.constants import DEFAULT_SUPPRESSION_SIZE, STRATA
from pipeline import db
from pipeline.run import RunResult
from reports.suppression import format_count

SUMMARY_LEVELS = ("city", "district")


def _deliveries(result: RunResult) -> str:
    outcomes = result.load.outcomes
    by_status = {s: sum(o.status == s for o in outcomes) for s in ("loaded", "unchanged", "refused")}
    dropped = sorted({c for o in outcomes for c in o.columns_dropped})
    lines = [
        f"deliveries: {len(outcomes)} seen, {by_status['loaded']} loaded, "
        f"{by_status['unchanged']} unchanged, {len(result.load.refused)} refused",
        f"rows this run: {result.load.total('rows_loaded'):,} loaded, "
        f"{result.load.total('rows_quarantined'):,} quarantined",
    ]
    if dropped:
        lines.append(f"columns not loaded (not in the contract): {', '.join(dropped)}")
    if result.births_unknown_sex:
        lines.append(f"births of unknown sex (in no SRB): {result.births_unknown_sex:,}")
    return "\n".join(lines)


def _srb_table(result: RunResult, con: duckdb.DuckDBPyConnection) -> Table | str:
    estimates = result.estimates
    if estimates.height == 0:
        return "no births visible on the as-of date"
    last = estimates["period_start"].max()
    latest = estimates.filter((pl.col("period_start") == last) & pl.col("level").is_in(SUMMARY_LEVELS))
    names = dict(db.run(con, "summary/area_names"))
    window_start = latest["window_start"][0]
    table = Table(title=f"SRB, boys per 100 girls: births {window_start} to the week of {last} "
                        f"(smoothed, 95% interval)", title_justify="left")
    table.add_column("area")
    table.add_column("births", justify="right")
    strata = [s for s in STRATA if s in set(latest["stratum"])]
    for stratum in strata:
        table.add_column(stratum, justify="right")
    for area_code in latest.sort("level", "area_code")["area_code"].unique(maintain_order=True):
        rows = {r["stratum"]: r for r in latest.filter(pl.col("area_code") == area_code).iter_rows(named=True)}
        cells = [f"{rows[s]['srb_smoothed']:.1f} [{rows[s]['srb_lo']:.0f}-{rows[s]['srb_hi']:.0f}]"
                 if rows[s]["births"] else "-" for s in strata]
        table.add_row(names.get(area_code, area_code), f"{rows['all']['births']:,}", *cells)
    return table


def _evidence(boys: int, girls: int, srb: float | None, suppression_size: int) -> str:
    """An alert's evidence as the summary shows it: a small count is suppressed, and then the
    SRB too (with the other count it would give the small one back).

    >>> _evidence(1138, 914, 124.5, 5), _evidence(12, 3, 400.0, 5)
    ('SRB 124.5 (1,138 boys, 914 girls)', 'SRB - (12 boys, <5 girls)')
    """
    small = min(boys, girls) < suppression_size
    srb_text = f"{srb:.1f}" if srb is not None and not small else "-"
    return (f"SRB {srb_text} ({format_count(boys, suppression_size)} boys, "
            f"{format_count(girls, suppression_size)} girls)")


def _alerts(result: RunResult, con: duckdb.DuckDBPyConnection, suppression_size: int) -> str:
    new, open_, total = db.row(con, "summary/alerts_by_status", run_id=result.run_id)
    lines = [f"alerts: {new} new this run, {open_} open, {total} in all"]
    for row in db.run(con, "summary/new_alerts", run_id=result.run_id)[:8]:
        area_code, name, stratum, method, detected, boys, girls, srb, _ = row
        lines.append(f"  NEW {method:6} {stratum:24} {name} ({area_code}) from {detected}: "
                     f"{_evidence(boys, girls, srb, suppression_size)}")
    if new > 8:
        lines.append(f"  ... and {new - 8} more: surveil sql \"select * from v_alerts\"")
    return "\n".join(lines)


def _cusum_budget(result: RunResult) -> str:
    """The false-alarm budget per CUSUM track: what an alert-free week is worth (issue 4)."""
    if result.cusum is None or not result.cusum.budget:
        return ""
    lines = ["CUSUM false-alarm budget (expected false alerts a year at the latest thresholds):"]
    for track in result.cusum.budget:
        lines.append(f"  {track.track:24} {track.series:4} series, +{track.shift_srb:g} SRB shift, "
                     f"budget {track.budget_per_year:g}/year, expected {track.expected_per_year:.1f}/year")
    if result.glr is not None and result.glr.paths.height:
        lines.append(f"  GLR (second detector): the same budgets; thresholds simulated this run at "
                     f"{result.glr.keys_calibrated} nodes (cached)")
    return "\n".join(lines)


def _quarantine(result: RunResult, con: duckdb.DuckDBPyConnection) -> str:
    if not result.load.changed:
        return ""
    rows = db.run(con, "summary/quarantine_by_rule", loaded_at=result.loaded_at)
    return "quarantined by rule: " + ", ".join(f"{rule} {n}" for rule, n in rows) if rows else ""


MAX_SMOOTHING_LINES = 4


def _smoothing(result: RunResult) -> str:
    """The smoother's corner cases (fallbacks, clipped variances), a few counted lines."""
    notes = [n for n in result.notes if n.startswith("smoothing:")]
    if not notes:
        return ""
    lines = notes[:MAX_SMOOTHING_LINES]
    if len(notes) > MAX_SMOOTHING_LINES:
        hidden = len(notes) - MAX_SMOOTHING_LINES
        lines.append(f"smoothing: {hidden} more kind{'s' if hidden > 1 else ''} of corner case not shown")
    return "\n".join(lines)


def render_summary(result: RunResult, con: duckdb.DuckDBPyConnection, console: Console,
                   suppression_size: int = DEFAULT_SUPPRESSION_SIZE) -> str:
    """Print the summary; return it as plain text for the run's output folder (it leaves the
    database, so alert evidence below the suppression size is suppressed)."""
    recorder = Console(record=True, width=max(console.width, 120), file=io.StringIO())
    header = (f"run {result.run_id}   as of {result.asof}   "
              + ("   [demo hash key: not for real data]" if result.is_demo_key else ""))
    quality = ("data quality: all expectations met" if not result.warnings else
               "data quality warnings (published anyway):\n" + "\n".join(f"  {w}" for w in result.warnings))
    timing = "time: " + ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
    parts = [header, _deliveries(result), _quarantine(result, con), _srb_table(result, con),
             _smoothing(result), _alerts(result, con, suppression_size), _cusum_budget(result), quality, timing]
    panel = Panel(Group(*[p for p in parts if p]), title="srb-surveil nightly run", expand=False)
    console.print(panel)
    recorder.print(panel)
    return recorder.export_text()
