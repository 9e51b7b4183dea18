"""The nightly job: load -> gate -> transform -> model -> alert -> publish.

Each stage reads the previous stage's output and writes its own; only this module
reads the clock and the settings and hands them down.
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from expectations import preload_gx
from models.constants import STRATA, STRATUM_PARITY_2_WITHIN_POLICY
from pipeline import db
from pipeline.alert import empty_alerts, level_alerts
from pipeline.areas import AreaTree, read_area_tree
from pipeline.config import Settings
from pipeline.errors import GateFailure
from pipeline.estimate import empty_estimates, estimate_srb
from pipeline.gate import QualityGate
from pipeline.loader import Loader, LoadReport, discover_deliveries
from pipeline.monitored_series import monitored_series
from pipeline.progress import Progress
from pipeline.publish import publish, stage, stage_cusum
from pipeline.rules import row_rules
from pipeline.surveil_cusum import CusumOutputs, cusum_alerts, empty_cusum_outputs
from pipeline.surveil_glr import GlrOutputs, empty_glr_outputs, glr_alerts
from pipeline.transform import area_counts


@dataclass
class RunResult:
    run_id: str
    asof: dt.date
    load: LoadReport
    estimates: pl.DataFrame
    is_demo_key: bool
    loaded_at: dt.datetime
    timings: dict[str, float] = field(default_factory=dict)
    births_unknown_sex: int = 0
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    cusum: CusumOutputs | None = None  # the CUSUM stage's budget and charts (issue 4)
    glr: GlrOutputs | None = None  # the GLR stage's charts, when configured


def _replace_areas(con: duckdb.DuckDBPyConnection, tree: AreaTree) -> None:
    con.begin()
    try:
        con.register("new_areas", tree.areas.to_arrow())
        con.register("new_area_ancestors", tree.ancestors.to_arrow())
        con.register("new_adjacency", tree.adjacency.to_arrow())
        db.run(con, "load/replace_areas")
        con.commit()
    except BaseException:
        con.rollback()
        raise
    finally:
        for name in ("new_areas", "new_area_ancestors", "new_adjacency"):
            con.unregister(name)


def run_nightly(settings: Settings, con: duckdb.DuckDBPyConnection, *, now: dt.datetime,
                asof: dt.date | None, run_id: str, progress: Progress) -> RunResult:
    """Run every stage once; raise a SurveilError (with its exit code) on failure.

    The quality gate's outcomes are recorded (``dq_results``, ``data_quality.html``)
    whether the run publishes or stops: inside the publish transaction when it publishes.
    A registry suite that fails refuses every delivery this run loaded (they leave the
    registry; the unchanged files stay refused on later runs).
    """
    asof = asof or now.date()
    laps = _Laps()
    data = settings.data
    tree = read_area_tree(settings.resolve(data.areas),
                          settings.resolve(data.adjacency) if data.adjacency else None)
    hash_key, is_demo_key = settings.hash_key()
    paths = discover_deliveries(data.births, settings.base_dir)
    preload_gx()  # GX imports in the background while the deliveries load
    _replace_areas(con, tree)
    gate = QualityGate(tree.areas["area_code"].to_list(), now.date())
    try:
        # load, with the delivery suite on each chunk of new files
        loader = Loader(con, row_rules(now.date(), tree.leaf_codes, tree.areas["area_code"]), hash_key,
                        settings.load.max_quarantine_share, now.replace(tzinfo=None), gate=gate.deliveries,
                        report_refusal=gate.loader_refusal)
        with progress.task("load deliveries", total=len(paths)) as advance:
            report = loader.load_all(paths, progress=lambda _: advance())
        laps("load")
        gate.loaded(report)
        _registry_gate(gate, loader, report, con, asof)
        laps("gate")
        estimates, candidates, unknown_sex, notes, cusum, glr = _estimate_and_alert(con, tree, settings, asof,
                                                                                    progress, laps)
        stage(con, estimates, candidates, run_id)
        stage_cusum(con, pl.concat([cusum.paths, glr.paths]), cusum.detectability)
        gate.outputs(con)
        publish(con, also=lambda: gate.insert_results(con, run_id, now))
        gate.is_recorded = True
        laps("publish")
    finally:
        gate.record(con, run_id, now, output_folder(settings, run_id), {"run": run_id, "as of": str(asof)})
    return RunResult(run_id, asof, report, estimates, is_demo_key, loader.now, laps.timings, unknown_sex,
                     tuple(notes), tuple(o.one_line() for o in gate.warnings), cusum, glr)


def _registry_gate(gate: QualityGate, loader: Loader, report: LoadReport, con: duckdb.DuckDBPyConnection,
                   asof: dt.date) -> None:
    """The registry suite; when it fails, the deliveries it judged are refused whole.

    It judges this run's deliveries and any loaded earlier that no registry suite has
    passed (a run killed before its gate, or stopped by another file). Their rows are
    already in ``births`` (the suite judges them there), so a failure must take them out
    again, or a later run would publish them.
    """
    unjudged = [delivery_id for (delivery_id,) in db.run(con, "load/deliveries_unjudged")]
    loader.loaded_ids = sorted(set(loader.loaded_ids) | set(unjudged))
    try:
        gate.registry(con, asof, loader.loaded_ids)
    except GateFailure as failure:
        refused = loader.refuse_loaded(report, failure.expectation or "registry", str(failure))
        if refused:
            raise GateFailure(f"{failure} (refused: {', '.join(refused)})", failure.expectation) from None
        raise


def _estimate_and_alert(con: duckdb.DuckDBPyConnection, tree: AreaTree, settings: Settings, asof: dt.date,
                        progress: Progress, laps: _Laps
                        ) -> tuple[pl.DataFrame, pl.DataFrame, int, list[str], CusumOutputs, GlrOutputs]:
    """transform -> model -> alert on the births visible on the as-of date."""
    first, last, unknown_sex, with_policy = db.row(con, "staging/visible_range", asof=asof)
    if first is None:
        return (empty_estimates(), empty_cusum_outputs().candidates, 0, [], empty_cusum_outputs(),
                empty_glr_outputs())
    surveillance = settings.surveillance
    strata = STRATA if with_policy else tuple(s for s in STRATA if s != STRATUM_PARITY_2_WITHIN_POLICY)
    cells = pl.from_arrow(db.relation(con, "staging/stg_birth_cells", asof=asof,
                                      period=surveillance.period).to_arrow_table())
    counts = area_counts(cells.lazy(), tree.areas, tree.ancestors, period=surveillance.period,
                         window=surveillance.window, first=first, last=last, strata=strata)
    laps("transform")
    with progress.task("smooth estimates", total=None):
        estimates, smoothed = estimate_srb(counts, tree, surveillance)
    laps("model")
    detectors = set(surveillance.detectors)
    candidates = level_alerts(estimates, surveillance) if "level" in detectors else empty_alerts()
    cusum, glr = empty_cusum_outputs(), empty_glr_outputs()
    series = monitored_series(counts, cells, tree, surveillance) if detectors & {"cusum", "glr"} else None
    if series is not None and "cusum" in detectors:
        with progress.task("CUSUM charts", total=None):
            cusum = cusum_alerts(con, series, surveillance)
    if series is not None and "glr" in detectors:
        with progress.task("GLR charts", total=None):
            glr = glr_alerts(con, series, surveillance)
    candidates = pl.concat([candidates, cusum.candidates, glr.candidates], how="diagonal")
    laps("alert")
    return estimates, candidates, unknown_sex or 0, list(smoothed.messages), cusum, glr


class _Laps:
    """Seconds spent in each stage, for the summary."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._clock = time.perf_counter()

    def __call__(self, name: str) -> None:
        self.timings[name] = time.perf_counter() - self._clock
        self._clock = time.perf_counter()


def new_run_id(now: dt.datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%S%f")


def output_folder(settings: Settings, run_id: str) -> Path:
    folder = settings.resolve(settings.publish.output_dir) / run_id
    folder.mkdir(parents=True, exist_ok=True)
    return folder


