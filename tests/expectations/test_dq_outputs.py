"""Output suite on staged srb_estimates and alerts built from the synthetic registry."""
from __future__ import annotations

import pytest
from dq_fixtures import build_outputs

from expectations import CATALOGUE, blocking, check_outputs, gate_error_line, output_metrics

ONE_VILLAGE_CELL = (
    "area_code = '110101001001' and stratum = 'all' and period_start = date '2023-06-01'"
)

BAD_OUTPUTS = {
    "outputs.srb_defined_where_girls": (
        f"update staging.srb_estimates set srb_smoothed = 'nan'::double where {ONE_VILLAGE_CELL}"
    ),
    "outputs.interval_ordered": (
        f"update staging.srb_estimates set srb_lo = srb_hi + 1 where {ONE_VILLAGE_CELL}"
    ),
    "outputs.prob_above_in_unit_interval": (
        f"update staging.srb_estimates set prob_above = 1.2 where {ONE_VILLAGE_CELL}"
    ),
    # A negative count at the city, so the children still add up to their parents.
    "outputs.counts_non_negative": (
        "update staging.srb_estimates set boys = -1 where level = 'city'"
    ),
    "outputs.levels_consistent": (
        f"update staging.srb_estimates set girls = girls + 1 where {ONE_VILLAGE_CELL}"
    ),
    "outputs.alert_area_known": "update staging.alerts set area_code = '999' where alert_id = 2",
    "outputs.alert_stratum_known": (
        "update staging.alerts set stratum = 'parity_2plus' where alert_id = 1"
    ),
    "outputs.alert_counts_non_negative": "update staging.alerts set girls = -5 where alert_id = 1",
}


@pytest.fixture()
def staged(registry):
    build_outputs(registry)
    return registry


def test_every_critical_output_expectation_has_a_bad_output():
    critical = {n for n, r in CATALOGUE.items() if n.startswith("outputs.") and r.is_critical}
    assert critical == set(BAD_OUTPUTS)


def test_good_outputs_pass(staged):
    outcomes = check_outputs(output_metrics(staged))
    assert [o.one_line() for o in outcomes if not o.success] == []
    assert len(outcomes) == sum(n.startswith("outputs.") for n in CATALOGUE)


@pytest.mark.parametrize("name", sorted(BAD_OUTPUTS))
def test_bad_output_fails_its_expectation(name, staged):
    staged.execute(BAD_OUTPUTS[name])
    outcomes = check_outputs(output_metrics(staged))
    failed = [o.expectation for o in blocking(outcomes)]
    assert name in failed, [o.one_line() for o in outcomes if not o.success]
    # Any changed count also breaks the sums over the area tree; nothing else may fail.
    assert set(failed) <= {name, "outputs.levels_consistent"}
    assert name in gate_error_line(outcomes)


def test_mismatch_names_the_parent_cell(staged):
    staged.execute(BAD_OUTPUTS["outputs.levels_consistent"])
    outcome = next(
        o for o in check_outputs(output_metrics(staged))
        if o.expectation == "outputs.levels_consistent"
    )
    assert outcome.observed_value == 1
    assert "110101001 2023-06-01" in outcome.sample[0]


def test_empty_outputs_pass(staged):
    staged.execute("delete from staging.srb_estimates; delete from staging.alerts")
    assert blocking(check_outputs(output_metrics(staged))) == []


def test_published_tables_can_be_checked_by_name(staged):
    staged.execute(
        "create table srb_estimates as select * from staging.srb_estimates;"
        "create table alerts as select * from staging.alerts"
    )
    metrics = output_metrics(staged, estimates_table="srb_estimates", alerts_table="alerts")
    assert blocking(check_outputs(metrics)) == []
