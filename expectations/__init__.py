"""Data-quality gates of srb-surveil, run with Great Expectations 1.x.

Three suites (delivery, registry, outputs) turn data into ``ExpectationOutcome`` objects;
their severities come from one table, ``expectations.catalogue.CATALOGUE``. Importing this
package does not import Great Expectations: the first check does.
"""
from __future__ import annotations

from expectations.catalogue import CATALOGUE, CRITICAL, WARNING, Rule, Severity
from expectations.delivery import DeliveryVerdicts, check_deliveries, check_delivery, optional_columns_needed
from expectations.outcome import (
    ExpectationOutcome,
    blocking,
    failed_warnings,
    gate_error_line,
    not_evaluated,
    outcome_rows,
)
from expectations.outputs import OUTPUT_METRICS, check_outputs, output_metrics
from expectations.refusals import LOADER_RULE_EXPECTATIONS, expectation_for_rule, readable_outcome, refusal_outcome
from expectations.registry import DELIVERY_SRB_EXPECTATIONS, REGISTRY_METRICS, check_registry, registry_metrics
from expectations.report import render_dq_report
from expectations.runner import preload_gx
from expectations.thresholds import DEFAULT_THRESHOLDS, Thresholds

__all__ = [
    "CATALOGUE",
    "CRITICAL",
    "DEFAULT_THRESHOLDS",
    "DELIVERY_SRB_EXPECTATIONS",
    "DeliveryVerdicts",
    "LOADER_RULE_EXPECTATIONS",
    "OUTPUT_METRICS",
    "REGISTRY_METRICS",
    "WARNING",
    "ExpectationOutcome",
    "Rule",
    "Severity",
    "Thresholds",
    "blocking",
    "check_deliveries",
    "check_delivery",
    "check_outputs",
    "check_registry",
    "expectation_for_rule",
    "failed_warnings",
    "gate_error_line",
    "not_evaluated",
    "optional_columns_needed",
    "outcome_rows",
    "output_metrics",
    "preload_gx",
    "readable_outcome",
    "refusal_outcome",
    "registry_metrics",
    "render_dq_report",
]
