"""Failures that end a run, each with the exit status CONTRACT §3 assigns it."""
from __future__ import annotations


class SurveilError(Exception):
    """A failure with a one-line message and the process exit status it maps to."""

    exit_code = 1


class ConfigError(SurveilError):
    """Bad command line, configuration, areas or adjacency file: exit 2."""

    exit_code = 2


class GateFailure(SurveilError):
    """A data-quality gate failed; nothing new was published: exit 3.

    ``expectation`` names the failed critical expectation when one suite's verdict stops
    the run (None when the line reports refused deliveries).
    """

    exit_code = 3

    def __init__(self, message: str, expectation: str | None = None) -> None:
        super().__init__(message)
        self.expectation = expectation


class DeliveryRefused(Exception):
    """One delivery file cannot be loaded at all (recorded in ``loads``, not raised out of a run).

    ``rule`` names the broken rule, ``line`` the line where it was found (None for the file).
    ``observed`` and ``observed_value`` say what was seen for the data-quality record (e.g.
    the missing columns, the quarantined share); ``detail`` stands in when they are None.
    """

    def __init__(self, rule: str, detail: str, line: int | None = None, *, observed: str | None = None,
                 observed_value: float | None = None) -> None:
        super().__init__(detail)
        self.rule = rule
        self.detail = detail
        self.line = line
        self.observed = observed
        self.observed_value = observed_value
