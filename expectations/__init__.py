"""Data-quality gates of srb-surveil, run with Great Expectations 1.x.

Three suites (delivery, registry, outputs) turn data into ``ExpectationOutcome`` objects;
their severities come from one table, ``expectations.catalogue.CATALOGUE``. Importing this
package does not import Great Expectations: the first check does.
"""
from __future__ import annotations

from expectations.catalogue import CATALOGUE, CRITICAL, WARNING, Rule, Severity
from expectations.delivery import DeliveryVerdicts, check_deliveries, check_delivery
from expectations.outcome import (
    ExpectationOutcome,
    blocking,
    failed_warnings,
    gate_error_line,
    outcome_rows,
)
from expectations.outputs import OUTPUT_METRICS, check_outputs, output_metrics
from expectations.registry import REGISTRY_METRICS, check_registry, registry_metrics
from expectations.report import render_dq_report
from expectations.runner import preload_gx
from expectations.thresholds import DEFAULT_THRESHOLDS, Thresholds

__all__ = [
    "CATALOGUE",
    "CRITICAL",
    "DEFAULT_THRESHOLDS",
    "DeliveryVerdicts",
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
    "failed_warnings",
    "gate_error_line",
    "outcome_rows",
    "output_metrics",
    "preload_gx",
    "registry_metrics",
    "render_dq_report",
]
