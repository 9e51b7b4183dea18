"""Registry suite on aggregates of the synthetic registry (conftest.py).

Each bad registry changes the good one in DuckDB in a way the real fault would: a district
that stops reporting, a delivery with its sex codes broken, a district whose sex was
imputed by a fixed fraction; the warning case delays registrations.
"""
from __future__ import annotations

import pytest
from dq_fixtures import ASOF

from expectations import (
    CATALOGUE,
    blocking,
    check_registry,
    failed_warnings,
    gate_error_line,
    registry_metrics,
)


def _outcomes(connection, delivery_ids=(2,)):
    metrics = registry_metrics(connection, asof=ASOF, delivery_ids=list(delivery_ids))
    return check_registry(metrics)


def _stop_reporting(connection):
    # District 110102 sends nothing for January 2024.
    connection.execute(
        """
        delete from births
        where birth_date >= date '2024-01-01' and birth_date < date '2024-02-01'
          and area_code like '110102%'
        """
    )


def _break_sex_codes(connection):
    # The new delivery codes three in four births male (SRB about 300).
    connection.execute(
        "update births set sex = 'M' where delivery_id = 2 and hash(record_hash) % 4 <> 0"
    )


def _impute_sex(connection):
    # District 110103: sex assigned by a fixed fraction, the first 51.5 % of each
    # village-month male, so the monthly split barely varies.
    connection.execute(
        """
        update births set sex = imputed.sex
        from (
            select record_hash,
                   case when row_number() over w <= round(0.515 * count(*) over w2)
                        then 'M' else 'F' end as sex
            from births
            where area_code like '110103%'
            window w as (partition by area_code, date_trunc('month', birth_date)
                         order by record_hash),
                   w2 as (partition by area_code, date_trunc('month', birth_date))
        ) as imputed
        where births.record_hash = imputed.record_hash
        """
    )


BAD_REGISTRIES = {
    "registry.district_month_volume": _stop_reporting,
    "registry.city_srb_in_range": _break_sex_codes,
    "registry.sex_split_dispersion": _impute_sex,
}


def test_every_critical_registry_expectation_has_a_bad_registry():
    critical = {n for n, r in CATALOGUE.items() if n.startswith("registry.") and r.is_critical}
    assert critical == set(BAD_REGISTRIES)


def test_good_registry_passes(registry_template):
    outcomes = _outcomes(registry_template)
    assert [o.one_line() for o in outcomes if not o.success] == []
    assert {o.expectation for o in outcomes} == {
        n for n in CATALOGUE if n.startswith("registry.")
    }


@pytest.mark.parametrize("name", sorted(BAD_REGISTRIES))
def test_bad_registry_fails_its_expectation(name, registry):
    BAD_REGISTRIES[name](registry)
    outcomes = _outcomes(registry)
    failed = {o.expectation: o for o in blocking(outcomes)}
    assert list(failed) == [name], [o.one_line() for o in outcomes if not o.success]
    assert name in gate_error_line(outcomes)
    assert failed[name].sample, "a failing aggregate names its cells"


def test_district_that_stopped_reporting_is_named(registry):
    _stop_reporting(registry)
    outcome = next(
        o for o in _outcomes(registry) if o.expectation == "registry.district_month_volume"
    )
    # The baseline counts January 2023 births registered by 2023-03-15, like for like.
    assert outcome.sample == (
        "district_code=110102, month_start=2024-01-01, births=0, baseline_births=457, "
        "volume_ratio=0",
    )


def test_no_girls_in_delivery_fails_city_srb(registry):
    registry.execute("update births set sex = 'M' where delivery_id = 2")
    outcome = next(o for o in _outcomes(registry) if o.expectation == "registry.city_srb_in_range")
    assert not outcome.success
    assert "inf" in outcome.observed


def test_no_new_delivery_passes_city_srb(registry_template):
    outcomes = _outcomes(registry_template, delivery_ids=())
    outcome = next(o for o in outcomes if o.expectation == "registry.city_srb_in_range")
    assert outcome.success and outcome.observed_value is None


def test_late_and_lagging_registrations_only_warn(registry):
    # District 110101: 30 % of births registered 100-159 days late. District 110102: girls
    # registered 20 days later than boys. Rows then beyond ASOF leave, as in a real run.
    registry.execute(
        """
        update births set registered_date = birth_date + cast(100 + hash(record_hash) % 60 as int)
        where area_code like '110101%' and hash(record_hash, 'late') % 10 < 3;
        update births set registered_date = registered_date + 20
        where area_code like '110102%' and sex = 'F';
        delete from births where registered_date > $asof;
        """,
        {"asof": ASOF},
    )
    outcomes = _outcomes(registry)
    assert blocking(outcomes) == []
    warned = {o.expectation: o for o in failed_warnings(outcomes)}
    assert set(warned) == {"registry.late_registration_share", "registry.girls_registration_lag"}
    assert warned["registry.late_registration_share"].sample[0].startswith("district_code=110101")
    assert warned["registry.girls_registration_lag"].sample[0].startswith("district_code=110102")
