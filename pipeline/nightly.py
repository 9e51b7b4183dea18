"""One ``surveil run``: bookkeeping in ``runs``, the stages, the summary, the exit status."""
from __future__ import annotations

import datetime as dt
import traceback

import duckdb
from rich.console import Console

from pipeline import db
from pipeline.config import Settings
from pipeline.errors import SurveilError
from pipeline.progress import Progress
from pipeline.run import RunResult, new_run_id, output_folder, run_nightly
from pipeline.summary import render_summary

STATUS_BY_EXIT = {0: "published", 1: "failed", 2: "bad_configuration", 3: "gate_failed"}


def nightly(settings: Settings, con: duckdb.DuckDBPyConnection, asof: dt.date | None,
            console: Console) -> tuple[int, str]:
    """Run the job once; returns (exit status, one-line message)."""
    now = dt.datetime.now()
    run_id = new_run_id(now)
    db.run(con, "load/run_started", run_id=run_id, started_at=now, asof=asof or now.date())
    result: RunResult | None = None
    try:
        result = run_nightly(settings, con, now=now, asof=asof, run_id=run_id, progress=Progress(console))
        text = render_summary(result, con, console, settings.publish.suppression_size)
        (output_folder(settings, run_id) / "summary.txt").write_text(text, encoding="utf-8")
        exit_code, message = 0, "published"
    except SurveilError as error:
        exit_code, message = error.exit_code, str(error)
        (output_folder(settings, run_id) / "summary.txt").write_text(
            f"run {run_id}: {STATUS_BY_EXIT.get(exit_code, 'failed')}, nothing new published\n{message}\n",
            encoding="utf-8")
    except Exception as error:  # anything unforeseen: one line here, the trace in the run folder
        exit_code, message = 1, f"{type(error).__name__}: {error}"
        (output_folder(settings, run_id) / "traceback.txt").write_text(traceback.format_exc(), encoding="utf-8")
    load = result.load if result else None
    db.run(con, "load/run_finished", run_id=run_id, finished_at=dt.datetime.now(),
           status=STATUS_BY_EXIT.get(exit_code, "failed"), exit_code=exit_code, message=message,
           rows_loaded=load.total("rows_loaded") if load else None,
           rows_quarantined=load.total("rows_quarantined") if load else None)
    return exit_code, message
