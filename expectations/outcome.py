"""The result of one expectation in one run, and what the gate decides from a list of them."""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from expectations.catalogue import CATALOGUE, CRITICAL, WARNING, Severity, suite_of


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's verdict, ready for the run summary, the report and ``dq_results``.

    Attributes
    ----------
    suite : "delivery", "registry" or "outputs".
    expectation : catalogue name, e.g. "delivery.sex_unknown_share" (expectations/catalogue.py).
    severity : "critical" or "warning", from the catalogue.
    success : whether the expectation held. An expectation GX could not evaluate is a failure
        (False); one the run never reached, or that had nothing to judge, is None.
    observed : what was seen, for a person; counts of births below the suppression size
        read "<5".
    threshold : the line it is held to, for a person.
    sample : a few offending values or aggregate cells; never a record identifier.
    gx_expectation : the Great Expectations type that produced the verdict.
    observed_value : one number to trend in SQL (a share, a ratio, or a count of offending
        rows or cells), or None.
    """

    suite: str
    expectation: str
    severity: Severity
    success: bool | None
    observed: str
    threshold: str
    sample: tuple[str, ...] = ()
    gx_expectation: str = ""
    observed_value: float | None = None

    @property
    def is_blocking(self) -> bool:
        """True when this outcome stops publication (a failed critical expectation)."""
        return self.severity == CRITICAL and self.success is False

    @property
    def is_failed(self) -> bool:
        """True when the expectation was judged and did not hold (None is not judged)."""
        return self.success is False

    def one_line(self) -> str:
        """A single line naming the expectation, what was seen and the threshold."""
        if self.success is None:
            return f"{self.expectation} {self.observed}"
        state = "ok" if self.success else f"FAILED ({self.severity})"
        return f"{self.expectation} {state}: observed {self.observed}; expected {self.threshold}"


def not_evaluated(expectation: str, reason: str) -> ExpectationOutcome:
    """The outcome of an expectation the run did not judge, with the reason.

    >>> outcome = not_evaluated("outputs.interval_ordered", "not evaluated: the run stopped at the registry suite")
    >>> outcome.success is None, outcome.is_blocking
    (True, False)
    """
    return ExpectationOutcome(suite_of(expectation), expectation, CATALOGUE[expectation].severity, None,
                              reason, "")


def blocking(outcomes: Iterable[ExpectationOutcome]) -> list[ExpectationOutcome]:
    """Failed critical outcomes: any one of them means exit 3 and nothing published."""
    return [outcome for outcome in outcomes if outcome.is_blocking]


def failed_warnings(outcomes: Iterable[ExpectationOutcome]) -> list[ExpectationOutcome]:
    """Failed warning outcomes: the run publishes and shows them."""
    return [o for o in outcomes if o.severity == WARNING and o.success is False]


def gate_error_line(outcomes: Sequence[ExpectationOutcome]) -> str | None:
    """The one-line error for exit 3, or None when no critical expectation failed.

    The line names the first failed critical expectation in full and counts the others.

    >>> bad = ExpectationOutcome("delivery", "delivery.sex_unknown_share", "critical", False,
    ...                          "3.20 % of 1,000 rows", "at most 1.00 %")
    >>> print(gate_error_line([bad]))  # doctest: +ELLIPSIS
    data-quality gate failed: delivery.sex_unknown_share FAILED (critical): observed 3.20 % ...
    >>> gate_error_line([]) is None
    True
    """
    failures = blocking(outcomes)
    if not failures:
        return None
    more = f" (+{len(failures) - 1} more critical)" if len(failures) > 1 else ""
    return f"data-quality gate failed: {failures[0].one_line()}{more}"


def outcome_rows(outcomes: Iterable[ExpectationOutcome]) -> list[dict[str, object]]:
    """Outcomes as plain rows for a ``dq_results`` table (sample joined with "; ").

    ``observed_value`` is None rather than NaN or infinity, so it stores as SQL NULL.
    """
    rows = []
    for outcome in outcomes:
        row = asdict(outcome)
        row["sample"] = "; ".join(outcome.sample)
        value = outcome.observed_value
        row["observed_value"] = value if value is not None and math.isfinite(value) else None
        rows.append(row)
    return rows
