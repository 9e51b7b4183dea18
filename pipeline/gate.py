"""Gate stage: decide whether this run may publish, with Great Expectations.

Three suites (expectations/): the delivery suite on every new batch before it is
committed (a failing file is refused whole and recorded in ``loads``), the registry
suite on the whole clean table after loading (a failure refuses every delivery the run
loaded, see ``pipeline.loader.Loader.refuse_loaded``), and the output suite on the staged
outputs before the swap. A file the loader refuses (unreadable, a missing column, mostly
invalid rows) fails its delivery expectation too. A failed critical expectation stops
the run (exit 3) and nothing new is published; warnings publish and are shown.

Every run keeps one ``dq_results`` row per catalogue expectation (not evaluated: success
NULL and the reason), plus a row per file for files judged one by one; inside the publish
transaction when the run publishes, in a transaction of its own when it stops. The run
folder's ``data_quality.html`` shows the same.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

import expectations as quality
from expectations.catalogue import suite_of
from expectations.run_results import Verdict, run_rows
from pipeline import db
from pipeline.errors import DeliveryRefused, GateFailure
from pipeline.loader import LoadReport, PendingDelivery

# The suites in run order; a run that stops at one never reaches the next.
_SUITE_ORDER = ("delivery", "registry", "outputs")


@dataclass
class QualityGate:
    """Runs the suites for one run and remembers every verdict."""

    known_area_codes: list[str]
    today: dt.date
    verdicts: list[Verdict] = field(default_factory=list)
    # how far the run got: the suites judged, the one that stopped it, the files seen
    suites_run: set[str] = field(default_factory=set)
    stopped_at: str | None = None
    new_files: int | None = None  # None until loading ended
    files_judged: list[str] = field(default_factory=list)  # names of the files the delivery suite saw
    is_recorded: bool = False

    # --- delivery suite -------------------------------------------------------------

    def deliveries(self, pending: list[PendingDelivery]) -> dict[Path, tuple[str, str]]:
        """The delivery suite on a chunk of judged files: which ones to refuse, and why.

        One GX run over the chunk. Every offending value is traced to its file, so when the
        chunk fails each file is told its own verdicts from that run (kept per file, as a
        file checked alone would be) and only the files that broke a critical expectation
        are refused; a passing chunk is kept as one set of outcomes. Only when a check could
        not be evaluated on the chunk (not traceable to a file) is each file checked alone.
        """
        self.suites_run.add("delivery")
        self.files_judged += [p.path.name for p in pending]
        batches = {str(p.path): (p.batch.clean, p.batch.rows_read, p.batch.quarantined.height) for p in pending}
        verdicts = quality.check_deliveries(batches, known_area_codes=self.known_area_codes, asof=self.today)
        if not quality.blocking(verdicts.together):
            label = _chunk_label([p.path.name for p in pending])
            self.verdicts += [Verdict(o, label, len(pending)) for o in verdicts.together]
            return {}
        refusals: dict[Path, tuple[str, str]] = {}
        for item in pending:
            name = str(item.path)
            if verdicts.is_traced:
                alone = verdicts.alone(name)
            else:  # GX could not evaluate a check on the chunk: judge the file by itself
                clean, rows_read, rows_quarantined = batches[name]
                alone = quality.check_delivery(clean, known_area_codes=self.known_area_codes, asof=self.today,
                                               rows_read=rows_read, rows_quarantined=rows_quarantined)
            self.verdicts += [Verdict(o, item.path.name, 1, is_per_file=True) for o in alone]
            failed = quality.blocking(alone)
            if failed:
                refusals[item.path] = (failed[0].expectation, f"{item.path}: {quality.gate_error_line(alone)}")
        return refusals

    def loader_refusal(self, path: Path, refused: DeliveryRefused) -> str:
        """A file the loader refused whole, kept as a failed delivery expectation.

        Returns the one-line reason: file:line, the loader's rule and detail, and the
        expectation it fails, e.g. ``births/x.csv:1: missing_column: required column
        birth_order is missing (data-quality gate failed: delivery.columns_present)``.
        """
        outcome = quality.refusal_outcome(refused.rule, refused.observed or refused.detail, refused.observed_value)
        self.verdicts.append(Verdict(outcome, path.name, 1, is_per_file=True))
        where = f"{path}:{refused.line}" if refused.line else f"{path}"
        return f"{where}: {refused.rule}: {refused.detail} (data-quality gate failed: {outcome.expectation})"

    def loaded(self, report: LoadReport) -> None:
        """After loading: note the new files; a file refused before fails its expectation
        again; any refused file stops the run (exit 3)."""
        self.new_files = sum(o.status in ("loaded", "refused") for o in report.outcomes)
        if self.files_judged:  # the files that reached the delivery suite were read
            self.verdicts.append(Verdict(quality.readable_outcome(len(self.files_judged)),
                                         _chunk_label(self.files_judged), len(self.files_judged)))
        for item in report.outcomes:
            if item.status != "refused_before" or item.rule is None:
                continue
            try:
                name = quality.expectation_for_rule(item.rule)
            except KeyError:  # a rule of an older release
                continue
            outcome = quality.ExpectationOutcome(
                suite_of(name), name, quality.CATALOGUE[name].severity, False,
                f"unchanged since refused: {item.message}", "a corrected file (new content) to judge again")
            self.verdicts.append(Verdict(outcome, item.path.name, 1, is_per_file=True))
        refused = report.refused
        if refused:
            self.stopped_at = "delivery"
            more = f" (and {len(refused) - 1} more refused deliveries)" if len(refused) > 1 else ""
            raise GateFailure(f"{refused[0].message}{more}")

    # --- registry and output suites -------------------------------------------------

    def registry(self, con: duckdb.DuckDBPyConnection, asof: dt.date, delivery_ids: list[int]) -> None:
        """The registry suite on the whole clean table (aggregated in DuckDB).

        With no new delivery in the run, the checks of the new deliveries' SRB have nothing
        to judge and are recorded as "no new delivery".
        """
        metrics = quality.registry_metrics(con, asof=asof, delivery_ids=delivery_ids)
        outcomes = quality.check_registry(metrics)
        if not delivery_ids:
            outcomes = [quality.not_evaluated(o.expectation, "no new delivery")
                        if o.expectation in quality.DELIVERY_SRB_EXPECTATIONS else o for o in outcomes]
        self._judge("registry", outcomes)

    def outputs(self, con: duckdb.DuckDBPyConnection) -> None:
        """The output suite on the staged srb_estimates and alerts."""
        self._judge("outputs", quality.check_outputs(quality.output_metrics(con)))

    def _judge(self, suite: str, outcomes: list[quality.ExpectationOutcome]) -> None:
        self.suites_run.add(suite)
        self.verdicts += [Verdict(o) for o in outcomes]
        line = quality.gate_error_line(outcomes)
        if line:
            self.stopped_at = suite
            raise GateFailure(line, quality.blocking(outcomes)[0].expectation)

    # --- the record -----------------------------------------------------------------

    @property
    def outcomes(self) -> list[tuple[quality.ExpectationOutcome, str | None]]:
        """The run's dq_results rows as (outcome, delivery): one per expectation, plus per-file rows."""
        return run_rows(self.verdicts, self._unjudged_reason)

    @property
    def warnings(self) -> list[quality.ExpectationOutcome]:
        return quality.failed_warnings(v.outcome for v in self.verdicts)

    def insert_results(self, con: duckdb.DuckDBPyConnection, run_id: str, now: dt.datetime) -> None:
        """Insert the run's dq_results rows; the caller owns the transaction (the publish one)
        and sets ``is_recorded`` once it committed."""
        rows = self.outcomes
        values = quality.outcome_rows(o for o, _ in rows)
        for value, (_, delivery) in zip(values, rows, strict=True):
            value["delivery"] = delivery
        frame = pl.DataFrame(values, infer_schema_length=None).select(
            "suite", "expectation", "severity", pl.col("success").cast(pl.Boolean), "observed", "threshold",
            "sample", pl.col("observed_value").cast(pl.Float64), pl.col("delivery").cast(pl.String))
        con.register("new_dq_results", frame.to_arrow())
        try:
            db.run(con, "load/insert_dq_results", run_id=run_id, checked_at=now)
        finally:
            con.unregister("new_dq_results")

    def record(self, con: duckdb.DuckDBPyConnection, run_id: str, now: dt.datetime, folder: Path,
               run_info: dict[str, object]) -> None:
        """Keep the run's verdicts: dq_results rows (in a transaction of their own unless the
        publish transaction took them), and a person-readable HTML report."""
        if not self.is_recorded:
            con.begin()
            try:
                self.insert_results(con, run_id, now)
                con.commit()
            except BaseException:
                con.rollback()
                raise
            self.is_recorded = True
        html = quality.render_dq_report([o for o, delivery in self.outcomes if delivery is None], run_info)
        (folder / "data_quality.html").write_text(html, encoding="utf-8")

    def _unjudged_reason(self, name: str) -> str:
        """Why the expectation ``name`` has no verdict in this run."""
        suite = suite_of(name)
        if suite not in self.suites_run:
            if suite == "delivery":
                return self._unjudged_delivery_reason()
            if self.stopped_at is not None and _SUITE_ORDER.index(self.stopped_at) < _SUITE_ORDER.index(suite):
                return f"not evaluated: the run stopped at the {self.stopped_at} suite"
            return f"not evaluated: the run stopped before the {suite} suite"
        absent = quality.optional_columns_needed().get(name, ())
        if absent:
            return f"not evaluated: column {', '.join(absent)} absent from the new deliveries"
        return "not evaluated"

    def _unjudged_delivery_reason(self) -> str:
        if self.new_files is None:
            return "not evaluated: the run stopped while loading"
        if self.new_files == 0:
            return "no new delivery"
        return "not evaluated: no new delivery could be read"


def _chunk_label(names: list[str]) -> str:
    """A passing chunk's name in dq_results: its file, or its first and last files."""
    return names[0] if len(names) == 1 else f"{names[0]} … {names[-1]} ({len(names)} deliveries)"
