"""Failures that end a run, each with the exit status CONTRACT §3 assigns it."""
from __future__ import annotations


class SurveilError(Exception):
    """A failure with a one-line message and the process exit status it maps to."""

    exit_code = 1


class ConfigError(SurveilError):
    """Bad command line, configuration, areas or adjacency file: exit 2."""

    exit_code = 2


class GateFailure(SurveilError):
    """A data-quality gate failed; nothing new was published: exit 3."""

    exit_code = 3


class DeliveryRefused(Exception):
    """One delivery file cannot be loaded at all (recorded in ``loads``, not raised out of a run).

    ``rule`` names the broken rule, ``line`` the line where it was found (None for the file).
    """

    def __init__(self, rule: str, detail: str, line: int | None = None) -> None:
        super().__init__(detail)
        self.rule = rule
        self.detail = detail
        self.line = line
