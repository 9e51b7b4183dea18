"""Publish stage: stage the outputs, then swap them in with one transaction."""
from __future__ import annotations

from collections.abc import Callable

import duckdb
import polars as pl

from pipeline import db


def stage(con: duckdb.DuckDBPyConnection, estimates: pl.DataFrame, alerts: pl.DataFrame, run_id: str) -> None:
    """Write this run's estimates and the merged alerts into schema ``staging``."""
    con.register("new_estimates", estimates.to_arrow())
    con.register("new_alerts", alerts.to_arrow())
    try:
        db.run(con, "transforms/stage_estimates")
        db.run(con, "transforms/stage_alerts", run_id=run_id)
    finally:
        con.unregister("new_estimates")
        con.unregister("new_alerts")


def stage_cusum(con: duckdb.DuckDBPyConnection, paths: pl.DataFrame, detectability: pl.DataFrame) -> None:
    """Write this run's CUSUM charts and detectability into schema ``staging``."""
    con.register("new_cusum_paths", paths.to_arrow())
    con.register("new_detectability", detectability.to_arrow())
    try:
        db.run(con, "transforms/stage_cusum")
    finally:
        con.unregister("new_cusum_paths")
        con.unregister("new_detectability")


def publish(con: duckdb.DuckDBPyConnection, also: Callable[[], None] | None = None) -> None:
    """Replace the published srb_estimates, alerts, cusum_paths and detectability by the staged ones, atomically.

    ``also`` writes more of the run's record in the same transaction (the gate's
    ``dq_results`` rows), so a published run always has them and a crash leaves neither.
    """
    con.begin()
    try:
        db.run(con, "transforms/publish")
        if also is not None:
            also()
        con.commit()
    except BaseException:
        con.rollback()
        raise
