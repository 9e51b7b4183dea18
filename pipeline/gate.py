"""Gate stage: decide whether this run may publish, with Great Expectations.

Three suites (expectations/): the delivery suite on every new batch before it is
committed (a failing file is refused whole and recorded in ``loads``), the registry
suite on the whole clean table after loading, and the output suite on the staged
outputs before the swap. A failed critical expectation stops the run (exit 3) and
nothing new is published; warnings publish and are shown. Every outcome is kept in
``dq_results`` and in the run folder's ``data_quality.html``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

import expectations as quality
from pipeline import db
from pipeline.errors import GateFailure
from pipeline.loader import LoadReport, PendingDelivery


@dataclass
class QualityGate:
    """Runs the suites for one run and remembers every outcome."""

    known_area_codes: list[str]
    today: dt.date
    outcomes: list[tuple[quality.ExpectationOutcome, str | None]] = field(default_factory=list)

    def deliveries(self, pending: list[PendingDelivery]) -> dict[Path, tuple[str, str]]:
        """The delivery suite on a chunk of judged files: which ones to refuse, and why.

        One GX run over the chunk. Every offending value is traced to its file, so when the
        chunk fails each file is told its own verdicts from that run (kept per file, as a
        file checked alone would be) and only the files that broke a critical expectation
        are refused; a passing chunk is kept as one set of outcomes. Only when a check could
        not be evaluated on the chunk (not traceable to a file) is each file checked alone.
        """
        batches = {str(p.path): (p.batch.clean, p.batch.rows_read, p.batch.quarantined.height) for p in pending}
        verdicts = quality.check_deliveries(batches, known_area_codes=self.known_area_codes, asof=self.today)
        if not quality.blocking(verdicts.together):
            self.outcomes += [(o, None) for o in verdicts.together]
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
            self.outcomes += [(o, item.path.name) for o in alone]
            failed = quality.blocking(alone)
            if failed:
                refusals[item.path] = (failed[0].expectation, f"{item.path}: {quality.gate_error_line(alone)}")
        return refusals

    def registry(self, con: duckdb.DuckDBPyConnection, asof: dt.date, delivery_ids: list[int]) -> None:
        """The registry suite on the whole clean table (aggregated in DuckDB)."""
        metrics = quality.registry_metrics(con, asof=asof, delivery_ids=delivery_ids)
        self._judge(quality.check_registry(metrics))

    def outputs(self, con: duckdb.DuckDBPyConnection) -> None:
        """The output suite on the staged srb_estimates and alerts."""
        self._judge(quality.check_outputs(quality.output_metrics(con)))

    def _judge(self, outcomes: list[quality.ExpectationOutcome]) -> None:
        self.outcomes += [(o, None) for o in outcomes]
        line = quality.gate_error_line(outcomes)
        if line:
            raise GateFailure(line)

    @property
    def warnings(self) -> list[quality.ExpectationOutcome]:
        return quality.failed_warnings(o for o, _ in self.outcomes)

    def record(self, con: duckdb.DuckDBPyConnection, run_id: str, now: dt.datetime, folder: Path,
               run_info: dict[str, object]) -> None:
        """Keep the outcomes: rows in dq_results, and a person-readable HTML report."""
        if not self.outcomes:
            return
        rows = quality.outcome_rows(o for o, _ in self.outcomes)
        for row, (_, delivery) in zip(rows, self.outcomes, strict=True):
            row["delivery"] = delivery
        frame = pl.DataFrame(rows, infer_schema_length=None).select(
            "suite", "expectation", "severity", "success", "observed", "threshold", "sample",
            pl.col("observed_value").cast(pl.Float64), pl.col("delivery").cast(pl.String))
        con.register("new_dq_results", frame.to_arrow())
        try:
            db.run(con, "load/insert_dq_results", run_id=run_id, checked_at=now)
        finally:
            con.unregister("new_dq_results")
        html = quality.render_dq_report([o for o, _ in self.outcomes], run_info)
        (folder / "data_quality.html").write_text(html, encoding="utf-8")


def gate_deliveries(report: LoadReport) -> None:
    """Fail the run if any delivery in this run's inputs is refused."""
    refused = report.refused
    if refused:
        more = f" (and {len(refused) - 1} more refused deliveries)" if len(refused) > 1 else ""
        raise GateFailure(f"{refused[0].message}{more}")
