"""A run's data-quality record: one outcome per catalogue expectation, plus per-file rows.

The gate collects verdicts as the suites run: a chunk of deliveries judged together, a
file's own verdicts (a file refused by the loader or by a failing chunk, a file refused on
an earlier run), the registry and output suites. ``run_rows`` turns them into the grain of
``dq_results``: exactly one run-level row per expectation of the catalogue (``delivery``
None), whether it held, failed or was not evaluated (``success`` None, with the reason),
and, where files were judged one by one or in several chunks, one more row per file or
chunk naming it. Analysts trend the run-level rows; the others say which file.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from expectations.catalogue import CATALOGUE
from expectations.outcome import ExpectationOutcome, not_evaluated


@dataclass(frozen=True)
class Verdict:
    """One outcome as the gate got it.

    delivery : the file name (a file's own verdict) or a chunk's label; None for the
        registry and output suites.
    deliveries : how many deliveries the verdict covers (0 for the registry and outputs).
    is_per_file : a file's own verdict, always kept as a row of its own.
    """

    outcome: ExpectationOutcome
    delivery: str | None = None
    deliveries: int = 0
    is_per_file: bool = False


def run_rows(verdicts: Iterable[Verdict], unjudged: Callable[[str], str]
             ) -> list[tuple[ExpectationOutcome, str | None]]:
    """The run's ``dq_results`` rows as (outcome, delivery), in catalogue order.

    Parameters
    ----------
    verdicts : every verdict of the run.
    unjudged : the reason an expectation with no verdict was not evaluated, e.g.
        "not evaluated: the run stopped at the delivery suite" or "no new delivery".

    Returns
    -------
    For each catalogue expectation, its run-level row (delivery None) first: the verdict
    itself when one verdict covers the run, else a summary of them (failed when any
    failed, naming the first failing file). Then one row per file or chunk when there
    were several verdicts or a file's own.

    >>> from expectations.refusals import refusal_outcome
    >>> bad = Verdict(refusal_outcome("missing_column", "required column sex is missing"), "b.csv", 1, True)
    >>> rows = run_rows([bad], lambda name: "no new delivery")
    >>> len(rows) == len(CATALOGUE) + 1
    True
    >>> [(o.success, delivery) for o, delivery in rows if o.expectation == "delivery.columns_present"]
    [(False, None), (False, 'b.csv')]
    """
    verdicts = list(verdicts)
    rows: list[tuple[ExpectationOutcome, str | None]] = []
    for name in CATALOGUE:
        mine = [v for v in verdicts if v.outcome.expectation == name]
        if not mine:
            rows.append((not_evaluated(name, unjudged(name)), None))
        elif len(mine) == 1 and not mine[0].is_per_file:
            rows.append((mine[0].outcome, None))
        else:
            rows.append((_summary(mine), None))
            rows += [(v.outcome, v.delivery) for v in mine]
    return rows


def _summary(verdicts: list[Verdict]) -> ExpectationOutcome:
    """One run-level outcome from several files' or chunks' verdicts."""
    total = sum(max(v.deliveries, 1) for v in verdicts)
    failed = [v for v in verdicts if v.outcome.success is False]
    judged = [v for v in verdicts if v.outcome.success is not None]
    first = verdicts[0].outcome
    if failed:
        worst = failed[0]
        count = sum(max(v.deliveries, 1) for v in failed)
        more = f" (failed in {count} of {total} deliveries)" if total > 1 else ""
        return replace(worst.outcome, observed=f"{worst.delivery}: {worst.outcome.observed}{more}")
    if judged:
        values = [v.outcome.observed_value for v in judged if v.outcome.observed_value is not None]
        # the largest share or count of offending rows over the chunks: 0 when none offended
        return replace(first, success=True, observed=f"held in all {total} deliveries",
                       observed_value=max(values) if values else None, sample=())
    return first
