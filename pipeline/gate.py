"""Gate stage: decide whether this run may publish.

A run is stopped (exit 3) when a delivery of this run was refused, or when the staged
outputs break an invariant of CONTRACT §4. Nothing is published after a failure; the
last good outputs stay.
"""
from __future__ import annotations

import polars as pl

from pipeline.errors import GateFailure
from pipeline.loader import LoadReport

PUBLISHED_NUMBERS = ("srb_smoothed", "srb_lo", "srb_hi", "prob_above")

# name -> expression true on a row that breaks the invariant
OUTPUT_INVARIANTS: dict[str, pl.Expr] = {
    "estimates_not_nan": pl.any_horizontal(pl.col(c).is_nan() | pl.col(c).is_null() for c in PUBLISHED_NUMBERS),
    "interval_ordered": ~((pl.col("srb_lo") <= pl.col("srb_smoothed")) & (pl.col("srb_smoothed") <= pl.col("srb_hi"))),
    "prob_above_in_unit_interval": ~pl.col("prob_above").is_between(0.0, 1.0),
    "counts_non_negative": (pl.col("boys") < 0) | (pl.col("girls") < 0),
    "births_add_up": pl.col("births") != pl.col("boys") + pl.col("girls"),
}


def gate_deliveries(report: LoadReport) -> None:
    """Fail the run if any delivery in this run's inputs is refused."""
    refused = report.refused
    if refused:
        more = f" (and {len(refused) - 1} more refused deliveries)" if len(refused) > 1 else ""
        raise GateFailure(f"{refused[0].message}{more}")


def gate_outputs(estimates: pl.DataFrame) -> None:
    """Fail the run if a staged estimate breaks an output invariant."""
    for name, broken in OUTPUT_INVARIANTS.items():
        offending = estimates.filter(broken)
        if offending.height:
            row = offending.row(0, named=True)
            raise GateFailure(
                f"output check {name} failed on {offending.height} rows, first at area "
                f"{row['area_code']} stratum {row['stratum']} period {row['period_start']}"
            )
