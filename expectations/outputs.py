"""Output suite: staged ``srb_estimates`` and ``alerts``, checked before they are published.

The estimates can run to millions of rows (area x stratum x period), so DuckDB counts the
offending rows per level and stratum (sql/quality/output_*.sql) and Great Expectations
validates those counts; alerts are few and are validated one row each.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from expectations.outcome import ExpectationOutcome
from expectations.queries import run_quality_query
from expectations.runner import Check, run_checks
from expectations.thresholds import DEFAULT_THRESHOLDS, Thresholds
from models.constants import STRATA

INTEGRITY = "output_estimate_integrity"
CONSISTENCY = "output_level_consistency"
ALERTS = "output_alert_references"
OUTPUT_METRICS: tuple[str, ...] = (INTEGRITY, CONSISTENCY, ALERTS)


def output_metrics(
    connection: Any,
    *,
    estimates_table: str = "staging.srb_estimates",
    alerts_table: str = "staging.alerts",
    areas_table: str = "areas",
) -> dict[str, pd.DataFrame]:
    """Compute the output suite's metric frames in DuckDB.

    Parameters
    ----------
    connection : DuckDB connection.
    estimates_table, alerts_table, areas_table : names of the relations to check, bound as
        parameters and resolved by DuckDB's ``query_table`` (qualified names allowed);
        defaults check the staged outputs against the published area reference.

    Returns
    -------
    {query name: frame} for every name in ``OUTPUT_METRICS``.
    """
    parameters: dict[str, dict[str, Any]] = {
        INTEGRITY: {"estimates_table": estimates_table},
        CONSISTENCY: {"estimates_table": estimates_table, "areas_table": areas_table},
        ALERTS: {"alerts_table": alerts_table, "areas_table": areas_table},
    }
    return {name: run_quality_query(connection, name, parameters[name]) for name in parameters}


def check_outputs(
    metrics: Mapping[str, pd.DataFrame], *, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> list[ExpectationOutcome]:
    """Validate the output metric frames (the output suite).

    Parameters
    ----------
    metrics : the frames of ``output_metrics``.
    thresholds : the gate's numbers (only the suppression size is used here).

    Returns
    -------
    One outcome per output expectation.

    Raises
    ------
    ValueError if a metric frame is missing.
    """
    missing = [name for name in OUTPUT_METRICS if name not in metrics]
    if missing:
        raise ValueError(f"output metrics missing: {', '.join(missing)}")
    outcomes: list[ExpectationOutcome] = []
    for name, checks in _checks().items():
        outcomes += run_checks(
            name, metrics[name], checks, suppression_size=thresholds.suppression_size
        )
    return outcomes


def _zero_rows(name: str, rows_column: str, what: str) -> Check:
    """Expect a per-level-and-stratum count of offending rows to be 0 everywhere."""
    example_column = rows_column.removesuffix("_rows").removesuffix("_cells") + "_example"
    return Check(
        name,
        lambda E: E.ExpectColumnValuesToBeBetween(column=rows_column, min_value=0, max_value=0),
        unit="level-strata",
        sample_columns=("level", "stratum", rows_column, example_column),
        summarise=_total(rows_column, what),
    )


def _total(column: str, what: str) -> Callable[[pd.DataFrame], tuple[str, float]]:
    def summarise(frame: pd.DataFrame) -> tuple[str, float]:
        total = int(frame[column].sum()) if len(frame) else 0
        groups = int((frame[column] > 0).sum()) if len(frame) else 0
        return f"{total:,} {what} in {groups} of {len(frame)} level-strata", float(total)

    return summarise


def _checks() -> dict[str, list[Check]]:
    return {
        INTEGRITY: [
            _zero_rows("outputs.srb_defined_where_girls", "srb_missing_rows",
                       "estimates with girls > 0 and a missing SRB"),
            _zero_rows("outputs.interval_ordered", "interval_disordered_rows",
                       "estimates outside their interval"),
            _zero_rows("outputs.prob_above_in_unit_interval", "prob_out_of_range_rows",
                       "estimates with prob_above outside [0, 1]"),
            _zero_rows("outputs.counts_non_negative", "count_negative_rows",
                       "estimates with negative or missing counts"),
        ],
        CONSISTENCY: [
            _zero_rows("outputs.levels_consistent", "mismatched_cells",
                       "parent cells whose children do not add up"),
        ],
        ALERTS: [
            Check(
                "outputs.alert_area_known",
                lambda E: E.ExpectColumnValuesToBeInSet(column="is_known_area", value_set=[True]),
                unit="alerts",
                sample_columns=("alert_id", "area_code", "stratum"),
            ),
            Check(
                "outputs.alert_stratum_known",
                lambda E: E.ExpectColumnValuesToBeInSet(column="stratum", value_set=list(STRATA)),
                unit="alerts",
                sample_columns=("alert_id", "area_code", "stratum"),
            ),
            Check(
                "outputs.alert_counts_non_negative",
                lambda E: E.ExpectColumnValuesToBeBetween(column="smaller_count", min_value=0),
                unit="alerts",
                sample_columns=("alert_id", "area_code", "boys", "girls"),
            ),
        ],
    }
