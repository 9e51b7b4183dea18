"""Loader refusals as delivery-suite outcomes.

The loader refuses a file whole before any suite sees it: it cannot be read, a required
column is missing, or most of its rows break a row rule. Those verdicts are the delivery
suite's too (a file GX never saw is still a failed delivery), so each loader rule maps to
one catalogue expectation and becomes an outcome like any other: a ``dq_results`` row and
a line of ``data_quality.html``. No Great Expectations run is involved.
"""
from __future__ import annotations

from expectations.catalogue import CATALOGUE, suite_of
from expectations.outcome import ExpectationOutcome
from expectations.thresholds import DEFAULT_THRESHOLDS, Thresholds

# loader rule (pipeline/readers.py, pipeline/columns.py, pipeline/loader.py) -> expectation
LOADER_RULE_EXPECTATIONS: dict[str, str] = {
    "unsupported_format": "delivery.readable",
    "empty_file": "delivery.readable",
    "unknown_encoding": "delivery.readable",
    "unparseable": "delivery.readable",
    "missing_column": "delivery.columns_present",
    "duplicate_column": "delivery.columns_present",
    "mostly_invalid": "delivery.quarantine_share",
}

_READABLE = "a CSV (UTF-8, UTF-8 with BOM or GB18030), Parquet or XLSX table with a header and records"
_COLUMNS = ("columns include record_id, birth_date, sex, birth_order, area_code, "
            "each named once")


def expectation_for_rule(rule: str) -> str:
    """The catalogue expectation a refusal rule belongs to.

    A rule that already is an expectation name (a suite refused the file) is returned as is.

    >>> expectation_for_rule("missing_column"), expectation_for_rule("registry.city_srb_in_range")
    ('delivery.columns_present', 'registry.city_srb_in_range')
    """
    if rule in CATALOGUE:
        return rule
    return LOADER_RULE_EXPECTATIONS[rule]


def readable_outcome(deliveries_read: int) -> ExpectationOutcome:
    """``delivery.readable`` held: the loader read every one of these new deliveries.

    >>> readable_outcome(3).observed
    '3 new deliveries read as tables'
    """
    return ExpectationOutcome(suite_of("delivery.readable"), "delivery.readable",
                              CATALOGUE["delivery.readable"].severity, True,
                              f"{deliveries_read:,} new deliveries read as tables", _READABLE,
                              observed_value=0.0)


def refusal_outcome(rule: str, observed: str, observed_value: float | None = None, *,
                    thresholds: Thresholds = DEFAULT_THRESHOLDS) -> ExpectationOutcome:
    """The failed outcome of a file the loader refused.

    Parameters
    ----------
    rule : the loader's rule, a key of ``LOADER_RULE_EXPECTATIONS``.
    observed : what the loader saw, for a person (e.g. "required column sex is missing");
        never a record value that identifies anyone (the loader reports headers, shares
        and line numbers).
    observed_value : the quarantined share for ``mostly_invalid``, else None.

    Raises
    ------
    KeyError for a rule the catalogue does not know.

    >>> outcome = refusal_outcome("mostly_invalid", "75% of 4 rows break a rule", 0.75)
    >>> outcome.expectation, outcome.success, outcome.observed_value
    ('delivery.quarantine_share', False, 0.75)
    """
    name = LOADER_RULE_EXPECTATIONS[rule]
    threshold = {
        "delivery.readable": _READABLE,
        "delivery.columns_present": _COLUMNS,
        "delivery.quarantine_share": f"quarantine_share between 0 and {thresholds.quarantine_max_share:g}",
    }[name]
    return ExpectationOutcome(
        suite=suite_of(name),
        expectation=name,
        severity=CATALOGUE[name].severity,
        success=False,
        observed=f"{rule}: {observed}",
        threshold=threshold,
        observed_value=observed_value,
    )
