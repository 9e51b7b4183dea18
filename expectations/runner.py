"""Run a list of checks through Great Expectations on one pandas frame; return outcomes.

Great Expectations is imported here, on first use only: its import costs seconds, and only
the gate stage needs it. The process keeps one ephemeral context (nothing written to disk,
no ``gx/`` folder) with progress bars and analytics off.

Facts about GX 1.24.1 on pandas 3 this module relies on (verified; see README.md):

* ``Validator`` takes its progress-bar setting from the current context's
  ``variables.progress_bars``; unset, tqdm prints "Calculating Metrics" bars.
* An expectation whose metric raises comes back ``success=False`` with ``exception_info``
  filled, so a check that cannot be evaluated fails closed; we say so in ``observed``.
* ``expect_column_values_to_be_between`` ignores missing values (NULL, NaN); metric queries
  therefore never leave a checked column NULL.
"""
from __future__ import annotations

import datetime as dt
import math
import numbers
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from expectations.catalogue import CATALOGUE, suite_of
from expectations.outcome import ExpectationOutcome

# Columns whose values are record identifiers: never shown as samples.
IDENTIFIER_COLUMNS = frozenset({"record_hash", "record_id", "source_line"})
# Columns holding numbers of births: below the suppression size they read "<5".
BIRTH_COUNT_COLUMNS = frozenset(
    {
        "births",
        "boys",
        "girls",
        "baseline_births",
        "births_registered",
        "boys_registered",
        "girls_registered",
        "records",
    }
)
SAMPLE_SIZE = 5
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 20}
# Every offending row's index, for frames of distinct values (a few thousand rows at most);
# the pandas query string GX would also build is left out.
COMPLETE_RESULT_FORMAT = {"result_format": "COMPLETE", "return_unexpected_index_query": False}


@dataclass(frozen=True)
class Check:
    """One expectation to run: its catalogue name and how to build the GX object.

    build : called with the ``great_expectations.expectations`` module once GX is imported.
    unit : what one row of the frame is ("records", "district-months", ...); counts of
        "records" are suppressed below the suppression size.
    sample_columns : for aggregate frames, the columns that describe an offending row.
    summarise : optional (frame) -> (observed text, observed value) replacing the generic
        summary, e.g. to total a column of offending-row counts.
    threshold : optional wording of the threshold replacing the one read from GX's kwargs.
    """

    name: str
    build: Callable[[Any], Any]
    unit: str = "records"
    sample_columns: tuple[str, ...] = ()
    summarise: Callable[[pd.DataFrame], tuple[str, float | None]] | None = None
    threshold: str | None = None


class _Gx:
    """The process's Great Expectations context, created on first use."""

    def __init__(self) -> None:
        # No usage statistics leave the machine (GX reads this when a context is made).
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(
            globally=False, metric_calculations=False
        )
        self.context.config.analytics_enabled = False
        self.source = self.context.data_sources.add_pandas("srb_surveil_quality")
        self.batch_definitions: dict[str, Any] = {}

    def batch(self, frame_name: str, frame: pd.DataFrame) -> Any:
        if frame_name not in self.batch_definitions:
            asset = self.source.add_dataframe_asset(frame_name)
            self.batch_definitions[frame_name] = asset.add_batch_definition_whole_dataframe(
                "whole_frame"
            )
        return self.batch_definitions[frame_name].get_batch(batch_parameters={"dataframe": frame})


_GX: _Gx | None = None
_GX_LOCK = threading.Lock()


def gx_handle() -> _Gx:
    """The shared GX context (imports great_expectations on the first call)."""
    global _GX
    with _GX_LOCK:
        if _GX is None:
            _GX = _Gx()
        return _GX


def preload_gx() -> threading.Thread:
    """Start importing Great Expectations in a background thread; return the thread.

    The import takes seconds of pure Python; DuckDB releases the GIL while it computes the
    registry and output metrics, so a gate that calls this first and then runs its queries
    overlaps the two. Any later check waits for the import to finish. Errors surface in
    the first check (it imports again and raises).
    """

    def load() -> None:
        try:
            gx_handle()
        except Exception:  # noqa: BLE001 - re-raised by the first check's own import
            return

    thread = threading.Thread(target=load, name="great-expectations-import", daemon=True)
    thread.start()
    return thread


def run_checks(
    frame_name: str,
    frame: pd.DataFrame,
    checks: Sequence[Check],
    *,
    suppression_size: int,
) -> list[ExpectationOutcome]:
    """Validate ``frame`` against ``checks`` as one GX suite; one outcome per check, in order.

    Raises KeyError if a check's name is not in the catalogue.
    """
    frame = frame.reset_index(drop=True)
    results = validate(frame_name, frame, checks)
    return [_outcome(check, result, frame, suppression_size) for check, result in zip(checks, results, strict=True)]


def validate(
    frame_name: str,
    frame: pd.DataFrame,
    checks: Sequence[Check],
    *,
    result_format: Mapping[str, Any] = RESULT_FORMAT,
) -> list[Any]:
    """Validate ``frame`` against ``checks`` as one GX suite; GX's results in check order.

    ``frame`` should have a default RangeIndex: GX reports offending rows by index.
    Raises KeyError if a check's name is not in the catalogue.
    """
    handle = gx_handle()
    expectations = []
    for check in checks:
        rule = CATALOGUE[check.name]
        expectation = check.build(handle.gx.expectations)
        expectation.meta = {"check": check.name}
        expectation.severity = rule.severity
        expectation.description = rule.why
        expectations.append(expectation)
    suite = handle.gx.ExpectationSuite(name=frame_name, expectations=expectations)
    result = handle.batch(frame_name, frame).validate(suite, result_format=dict(result_format))
    by_name = {r.expectation_config.meta["check"]: r for r in result.results}
    return [by_name[check.name] for check in checks]


# --- turning a GX result into an outcome --------------------------------------------------


def _outcome(
    check: Check, result: Any, frame: pd.DataFrame, suppression_size: int
) -> ExpectationOutcome:
    config = result.expectation_config
    kwargs = dict(config.kwargs)
    details = result.result or {}
    error = _exception_message(result.exception_info)
    identifying = kwargs.get("column") in IDENTIFIER_COLUMNS
    if error is not None:
        observed = "not evaluated" if identifying else f"not evaluated: {error}"
        value = None
    elif check.summarise is not None:
        observed, value = check.summarise(frame)
    else:
        observed, value = _summary(check, kwargs, details, frame, suppression_size)
    sample = () if identifying else _sample(check, details, frame, suppression_size)
    return ExpectationOutcome(
        suite=suite_of(check.name),
        expectation=check.name,
        severity=CATALOGUE[check.name].severity,
        success=bool(result.success) and error is None,
        observed=observed,
        threshold=check.threshold or _threshold(config.type, kwargs),
        sample=sample,
        gx_expectation=config.type,
        observed_value=value,
    )


def _exception_message(info: Mapping[str, Any] | None) -> str | None:
    """First exception message in GX's exception_info (flat, or keyed by metric id)."""
    if not info:
        return None
    entries = [info] if "raised_exception" in info else list(info.values())
    for entry in entries:
        if isinstance(entry, Mapping) and entry.get("raised_exception"):
            message = str(entry.get("exception_message") or "error").strip().splitlines()
            return (message[0] if message else "error")[:160]
    return None


def _summary(
    check: Check,
    kwargs: Mapping[str, Any],
    details: Mapping[str, Any],
    frame: pd.DataFrame,
    suppression_size: int,
) -> tuple[str, float | None]:
    if "unexpected_count" in details and details.get("element_count") is not None:
        unexpected = int(details["unexpected_count"] or 0)
        total = int(details["element_count"])
        shown = _count(unexpected, suppression_size) if check.unit == "records" else f"{unexpected:,}"
        text = f"{shown} of {total:,} {check.unit} offending"
        if kwargs.get("mostly") is not None:
            share = (details.get("unexpected_percent") or 0.0) / 100.0
            return f"{share:.2%} ({text})", share
        column = kwargs.get("column")
        if total == 1 and column in frame and pd.api.types.is_numeric_dtype(frame[column]):
            number = float(frame[column].iloc[0])
            return f"{column} = {_format_value(column, number, suppression_size)}", number
        return text, float(unexpected)
    observed = details.get("observed_value")
    mismatched = (details.get("details") or {}).get("mismatched") or {}
    if "column_set" in kwargs:
        missing = sorted(mismatched.get("missing") or [])
        if missing:
            return "missing: " + ", ".join(missing), float(len(missing))
        return f"all {len(kwargs['column_set'])} required columns present", 0.0
    if observed is None:
        return "-", None
    if isinstance(observed, list):
        return ", ".join(str(item) for item in observed), None
    return (f"type {observed}" if "type_list" in kwargs else str(observed)), None


def _sample(
    check: Check, details: Mapping[str, Any], frame: pd.DataFrame, suppression_size: int
) -> tuple[str, ...]:
    if check.sample_columns:
        positions = details.get("partial_unexpected_index_list") or []
        rows = frame.loc[[p for p in positions if p in frame.index][:SAMPLE_SIZE]]
        return tuple(
            ", ".join(
                f"{column}={_format_value(column, row[column], suppression_size)}"
                for column in check.sample_columns
            )
            for _, row in rows.iterrows()
        )
    mismatched = (details.get("details") or {}).get("mismatched") or {}
    if mismatched.get("missing"):
        return tuple(sorted(mismatched["missing"]))
    counts = details.get("partial_unexpected_counts") or []
    # GX counts values over its partial list (20 rows) only: show counts when that list
    # held every offending row, else the values alone.
    is_complete = (details.get("unexpected_count") or 0) <= len(
        details.get("partial_unexpected_list") or []
    )
    return tuple(
        _format_value("", item["value"], suppression_size)
        + (f" ({_count(int(item['count']), suppression_size)} {check.unit})" if is_complete else "")
        for item in counts[:SAMPLE_SIZE]
    )


def _count(count: int, suppression_size: int) -> str:
    """A count of births as shown outside the database: "<5" below the suppression size."""
    return f"<{suppression_size}" if 0 < count < suppression_size else f"{count:,}"


def _format_value(column: str, value: Any, suppression_size: int) -> str:
    """A value as shown in an outcome; births counts below the suppression size read "<5".

    >>> import numpy as np
    >>> _format_value("births", np.int64(3), 5), _format_value("births", 480.0, 5)
    ('<5', '480')
    >>> _format_value("volume_ratio", 0.41234, 5), _format_value("srb_hi", float("inf"), 5)
    ('0.4123', 'inf')
    """
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return "missing"
    is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if column in BIRTH_COUNT_COLUMNS and is_number and math.isfinite(value):
        return _count(int(value), suppression_size).replace(",", "")
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


# --- the threshold, in words ------------------------------------------------------------


def _between(kwargs: Mapping[str, Any]) -> str:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    column = kwargs.get("column", "")
    low_text, high_text = _format_value("", low, 0), _format_value("", high, 0)
    if low is not None and high is not None:
        return f"{column} between {low_text} and {high_text}"
    if low is not None:
        return f"{column} at least {low_text}"
    return f"{column} at most {high_text}"


def _in_set(kwargs: Mapping[str, Any]) -> str:
    values = list(kwargs.get("value_set") or [])
    listed = (
        "{" + ", ".join(str(v) for v in values) + "}"
        if len(values) <= 8
        else f"the {len(values):,} known codes"
    )
    return f"{kwargs.get('column')} in {listed}"


_THRESHOLD_TEXT: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "expect_column_values_to_be_between": _between,
    "expect_column_values_to_be_in_set": _in_set,
    "expect_column_values_to_not_be_null": lambda k: f"{k.get('column')} not null",
    "expect_column_values_to_be_unique": lambda k: f"{k.get('column')} unique in the batch",
    "expect_column_values_to_be_in_type_list": lambda k: (
        f"{k.get('column')} of type {' | '.join(k.get('type_list') or [])}"
    ),
    "expect_table_columns_to_match_set": lambda k: (
        "columns include " + ", ".join(k.get("column_set") or [])
    ),
    "expect_column_pair_values_a_to_be_greater_than_b": lambda k: (
        f"{k.get('column_A')} {'>=' if k.get('or_equal') else '>'} {k.get('column_B')}"
    ),
}


def _threshold(expectation_type: str, kwargs: Mapping[str, Any]) -> str:
    text = _THRESHOLD_TEXT.get(expectation_type, lambda k: expectation_type)(kwargs)
    mostly = kwargs.get("mostly")
    if mostly is not None and mostly < 1:
        text += f" for at least {mostly:.0%} of non-missing records"
    return text
