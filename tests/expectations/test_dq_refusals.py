"""Loader refusals as outcomes, and a run's dq_results rows (pure: no GX run needed)."""
from __future__ import annotations

import re
from pathlib import Path

from expectations import CATALOGUE, LOADER_RULE_EXPECTATIONS, blocking, not_evaluated, refusal_outcome
from expectations.refusals import readable_outcome
from expectations.run_results import Verdict, run_rows

PIPELINE = Path(__file__).resolve().parents[2] / "pipeline"


def test_every_refusal_rule_of_the_loader_maps_to_a_critical_expectation():
    raised = {rule for path in PIPELINE.glob("*.py")
              for rule in re.findall(r'DeliveryRefused\(\s*"(\w+)"', path.read_text(encoding="utf-8"))}
    assert raised == set(LOADER_RULE_EXPECTATIONS)  # the 7 rules of readers, columns and loader
    assert all(CATALOGUE[name].is_critical for name in LOADER_RULE_EXPECTATIONS.values())


def test_refusal_outcome_blocks_and_keeps_the_rule():
    outcome = refusal_outcome("unknown_encoding", "UTF-16 or binary content")
    assert blocking([outcome]) == [outcome]
    assert (outcome.expectation, outcome.observed) == ("delivery.readable",
                                                       "unknown_encoding: UTF-16 or binary content")


def _unjudged(name: str) -> str:
    return "not evaluated: the run stopped at the delivery suite"


def test_run_rows_hold_one_run_level_row_per_expectation():
    passing = Verdict(readable_outcome(2), "a.csv … b.csv (2 deliveries)", 2)
    rows = run_rows([passing], _unjudged)
    assert len(rows) == len(CATALOGUE) and all(delivery is None for _, delivery in rows)
    assert [o.expectation for o, _ in rows] == list(CATALOGUE)
    by_name = {o.expectation: o for o, _ in rows}
    assert by_name["delivery.readable"].success is True
    assert by_name["outputs.interval_ordered"].success is None
    assert by_name["outputs.interval_ordered"].observed == _unjudged("")
    assert not blocking(o for o, _ in rows)  # not evaluated never blocks


def test_a_failed_file_among_others_fails_the_run_level_row_and_keeps_its_own():
    good = Verdict(readable_outcome(3), "a.csv … c.csv (3 deliveries)", 3)
    bad = Verdict(refusal_outcome("empty_file", "the file is empty"), "d.csv", 1, is_per_file=True)
    rows = [(o.success, o.observed, d) for o, d in run_rows([good, bad], _unjudged)
            if o.expectation == "delivery.readable"]
    assert rows == [(False, "d.csv: empty_file: the file is empty (failed in 1 of 4 deliveries)", None),
                    (True, "3 new deliveries read as tables", "a.csv … c.csv (3 deliveries)"),
                    (False, "empty_file: the file is empty", "d.csv")]


def test_not_evaluated_outcome_has_no_verdict():
    outcome = not_evaluated("registry.city_srb_in_range", "no new delivery")
    assert (outcome.success, outcome.severity, outcome.one_line()) == (
        None, "critical", "registry.city_srb_in_range no new delivery")
