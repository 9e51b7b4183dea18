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


def _one_district_codes_boys(connection):
    # District 110103 codes three in four births of the new delivery male (SRB about 300 on
    # its 480 births); the city's 1,440 then show SRB about 146, whose Wilson interval at
    # z = 3.89 (119-178) still overlaps 95-130: only the district check can see it.
    connection.execute(
        "update births set sex = 'M' where delivery_id = 2 and area_code like '110103%' "
        "and hash(record_hash) % 4 <> 0"
    )


BAD_REGISTRIES = {
    "registry.district_month_volume": _stop_reporting,
    "registry.city_srb_in_range": _break_sex_codes,
    "registry.district_srb_in_range": _one_district_codes_boys,
    "registry.sex_split_dispersion": _impute_sex,
}
# A fault in the whole city's delivery is in every district's too.
ALSO_FAILING = {"registry.city_srb_in_range": ["registry.district_srb_in_range"]}


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
    assert list(failed) == [name, *ALSO_FAILING.get(name, [])], [o.one_line() for o in outcomes if not o.success]
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


def test_district_sending_no_girls_is_named(registry):
    # District 110102 delivers 24 births, all boys; the city's other 960 stay as they were.
    registry.execute(
        """
        delete from births
        where delivery_id = 2 and area_code like '110102%' and record_hash not in (
            select record_hash from births where delivery_id = 2 and area_code like '110102%'
            order by record_hash limit 24);
        update births set sex = 'M' where delivery_id = 2 and area_code like '110102%';
        """
    )
    outcomes = _outcomes(registry)
    district = next(o for o in outcomes if o.expectation == "registry.district_srb_in_range")
    city = next(o for o in outcomes if o.expectation == "registry.city_srb_in_range")
    assert city.success and not district.success
    # 24 boys, 0 girls: Wilson lower end of the boys' share n / (n + z^2), i.e. SRB 100 n / z^2
    assert district.sample == (
        f"area_code=110102, births=24, boys=24, girls=0, srb=inf, srb_lo={100 * 24 / 3.89**2:.4g}, srb_hi=inf",)


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
    # Dropping the girls registered after ASOF leaves district 110102's new delivery short of
    # girls (about 49 to 127 boys): a real run would refuse it, and rightly, by the district
    # SRB check. The warnings are the subject here.
    assert [o.expectation for o in blocking(outcomes)] == ["registry.district_srb_in_range"]
    warned = {o.expectation: o for o in failed_warnings(outcomes)}
    assert set(warned) == {"registry.late_registration_share", "registry.girls_registration_lag"}
    assert warned["registry.late_registration_share"].sample[0].startswith("district_code=110101")
    assert warned["registry.girls_registration_lag"].sample[0].startswith("district_code=110102")
