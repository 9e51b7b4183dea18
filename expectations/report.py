"""A self-contained HTML data-quality report of one run, for a person to read.

No scripts, fonts or images are fetched: the file opens offline and can be e-mailed. It
shows only what the outcomes hold (aggregates and offending values, never identifiers).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from expectations.catalogue import CATALOGUE, SUITES
from expectations.outcome import ExpectationOutcome, blocking, failed_warnings

_SUITE_TITLES = {
    "delivery": "Delivery: the new batch",
    "registry": "Registry: the whole table, through aggregates",
    "outputs": "Outputs: estimates and alerts before publishing",
}

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 80em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.8em; }
.verdict { padding: .6em 1em; border-radius: 4px; font-weight: 600; }
.verdict.failed { background: #fde2e1; border: 1px solid #c0392b; }
.verdict.warned { background: #fff4d6; border: 1px solid #b7950b; }
.verdict.passed { background: #e3f4e8; border: 1px solid #1e8449; }
table { border-collapse: collapse; width: 100%; margin-top: .5em; }
th, td { border-bottom: 1px solid #ddd; padding: .35em .5em; text-align: left;
         vertical-align: top; font-size: .92em; }
th { background: #f4f4f4; }
td.status { white-space: nowrap; font-weight: 600; }
tr.failed-critical td.status { color: #c0392b; }
tr.failed-warning td.status { color: #9a7d0a; }
tr.passed td.status { color: #1e8449; }
tr.unjudged td.status { color: #777; }
ul.sample { margin: 0; padding-left: 1.1em; }
.why { color: #555; font-size: .88em; }
footer { margin-top: 2em; color: #666; font-size: .85em; }
"""


def render_dq_report(
    outcomes: Sequence[ExpectationOutcome], run_info: Mapping[str, object]
) -> str:
    """Render one run's outcomes as a self-contained HTML page.

    Parameters
    ----------
    outcomes : every outcome of the run (all suites that ran).
    run_info : what identifies the run for a reader, e.g. {"run": ..., "asof": ...,
        "deliveries": ...}; shown as given, escaped. Pass no record-level data.

    Returns
    -------
    The HTML document as a string. Failed critical expectations come first, then failed
    warnings, then passes, within each suite.

    >>> html = render_dq_report([], {"asof": "2024-03-31"})
    >>> "No expectation failed" in html and "2024-03-31" in html
    True
    """
    critical = blocking(outcomes)
    warnings = failed_warnings(outcomes)
    if critical:
        verdict = (
            "failed",
            f"Gate failed: {len(critical)} critical expectation(s) failed; nothing new was "
            "published.",
        )
    elif warnings:
        verdict = ("warned", f"Gate passed with {len(warnings)} warning(s).")
    else:
        verdict = ("passed", "Gate passed. No expectation failed.")
    info_rows = "".join(
        f"<tr><th>{escape(str(key))}</th><td>{escape(str(value))}</td></tr>"
        for key, value in run_info.items()
    )
    sections = "".join(
        _suite_section(suite, [o for o in outcomes if o.suite == suite])
        for suite in SUITES
        if any(o.suite == suite for o in outcomes)
    )
    passed = sum(o.success is True for o in outcomes)
    unjudged = sum(o.success is None for o in outcomes)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>srb-surveil data-quality report</title>"
        f"<style>{_STYLE}</style></head><body>"
        "<h1>srb-surveil data-quality report</h1>"
        f"<p class=\"verdict {verdict[0]}\">{escape(verdict[1])}</p>"
        f"<p>{len(outcomes)} expectations: {passed} passed, {len(critical)} critical "
        f"failure(s), {len(warnings)} warning(s), {unjudged} not evaluated.</p>"
        f"<table class=\"run\">{info_rows}</table>"
        f"{sections}"
        "<footer>Samples list offending values or aggregate cells, never record identifiers; "
        "counts of births below the suppression size read &lt;5. Every verdict comes from a "
        "Great Expectations validation.</footer>"
        "</body></html>\n"
    )


def _order(outcome: ExpectationOutcome) -> int:
    if outcome.is_blocking:
        return 0
    return {False: 1, True: 2, None: 3}[outcome.success]


def _suite_section(suite: str, outcomes: Sequence[ExpectationOutcome]) -> str:
    rows = "".join(_row(o) for o in sorted(outcomes, key=_order))
    return (
        f"<h2>{escape(_SUITE_TITLES.get(suite, suite))}</h2>"
        "<table><tr><th>status</th><th>expectation</th><th>observed</th><th>threshold</th>"
        f"<th>sample</th></tr>{rows}</table>"
    )


def _row(outcome: ExpectationOutcome) -> str:
    if outcome.success is None:
        css, status = "unjudged", "not evaluated"
    elif outcome.success:
        css, status = "passed", "passed"
    else:
        css, status = f"failed-{outcome.severity}", f"FAILED ({outcome.severity})"
    rule = CATALOGUE.get(outcome.expectation)
    why = f"<div class=\"why\">{escape(rule.why)}</div>" if rule else ""
    sample = (
        "<ul class=\"sample\">"
        + "".join(f"<li>{escape(item)}</li>" for item in outcome.sample)
        + "</ul>"
        if outcome.sample
        else ""
    )
    return (
        f"<tr class=\"{css}\"><td class=\"status\">{escape(status)}</td>"
        f"<td><code>{escape(outcome.expectation)}</code>{why}</td>"
        f"<td>{escape(outcome.observed)}</td><td>{escape(outcome.threshold)}</td>"
        f"<td>{sample}</td></tr>"
    )
