"""Delivery suite: one crafted bad batch per critical expectation, a good batch, a warning.

Every batch starts from delivery 2 of the synthetic registry (conftest.py) as DuckDB hands
it to pandas, and changes only what the case needs.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
import pytest
from dq_fixtures import ASOF

from expectations import CATALOGUE, blocking, check_delivery, gate_error_line

Mutation = Callable[[pd.DataFrame], pd.DataFrame]


def _set(column: str, value: object, dtype: str | None = None) -> Mutation:
    """Set row 0 of ``column`` to ``value`` (after an optional cast)."""

    def mutate(frame: pd.DataFrame) -> pd.DataFrame:
        if dtype is not None:
            frame[column] = frame[column].astype(dtype)
        frame.loc[0, column] = value
        return frame

    return mutate


def _replace(column: str, make: Callable[[pd.Series], object]) -> Mutation:
    def mutate(frame: pd.DataFrame) -> pd.DataFrame:
        frame[column] = make(frame[column])
        return frame

    return mutate


def _drop(column: str) -> Mutation:
    return lambda frame: frame.drop(columns=[column])


def _duplicate_hash(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[1, "record_hash"] = frame.loc[0, "record_hash"]
    return frame


def _unknown_sex(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[frame.index[: len(frame) // 20], "sex"] = "U"  # 5 % > 1 %
    return frame


AFTER_ASOF = pd.Timestamp(ASOF + dt.timedelta(days=1))

BAD_BATCHES: dict[str, Mutation] = {
    "delivery.columns_present": _drop("birth_order"),
    "delivery.record_hash_is_text": _replace("record_hash", lambda s: range(len(s))),
    "delivery.birth_date_is_date": _replace("birth_date", lambda s: s.dt.strftime("%d.%m.%Y")),
    "delivery.sex_is_text": _replace("sex", lambda s: (s == "M").astype(int) + 1),
    "delivery.birth_order_is_integer": _replace("birth_order", lambda s: s + 0.5),
    "delivery.area_code_is_text": _replace("area_code", lambda s: s.astype("int64")),
    "delivery.registered_date_is_date": _replace(
        "registered_date", lambda s: s.dt.strftime("%Y%m%d")
    ),
    "delivery.plurality_is_integer": _replace("plurality", lambda s: s.astype(str)),
    "delivery.mother_age_is_number": _replace("mother_age", lambda s: s.astype(str)),
    "delivery.record_hash_not_null": _set("record_hash", None),
    "delivery.birth_date_not_null": _set("birth_date", pd.NaT),
    "delivery.sex_not_null": _set("sex", None),
    "delivery.birth_order_not_null": _set("birth_order", pd.NA, dtype="Int32"),
    "delivery.area_code_not_null": _set("area_code", None),
    "delivery.sex_in_codes": _set("sex", "X"),
    "delivery.residence_status_in_set": _set("residence_status", "migrant"),
    "delivery.policy_status_in_set": _set("policy_status", "maybe"),
    "delivery.birth_order_in_range": _set("birth_order", 31),
    "delivery.mother_age_in_range": _set("mother_age", 75),
    "delivery.plurality_in_range": _set("plurality", 0),
    "delivery.birth_date_in_range": _set("birth_date", AFTER_ASOF),
    "delivery.registered_date_in_range": _set("registered_date", AFTER_ASOF),
    "delivery.record_hash_unique": _duplicate_hash,
    "delivery.sex_unknown_share": _unknown_sex,
    "delivery.area_code_known": _set("area_code", "999999999999"),
}


def _check(batch: pd.DataFrame, known: set[str], quarantined: int = 0):
    return check_delivery(
        batch,
        known_area_codes=known,
        asof=ASOF,
        rows_read=len(batch) + quarantined,
        rows_quarantined=quarantined,
    )


def test_every_critical_delivery_expectation_has_a_bad_batch():
    critical = {
        name
        for name, rule in CATALOGUE.items()
        if name.startswith("delivery.") and rule.is_critical
    }
    assert critical == set(BAD_BATCHES) | {"delivery.quarantine_share"}


def test_good_batch_passes_everything(good_batch, known_area_codes):
    outcomes = _check(good_batch, known_area_codes, quarantined=3)
    assert [o.expectation for o in outcomes if not o.success] == []
    assert gate_error_line(outcomes) is None
    assert len(outcomes) == sum(name.startswith("delivery.") for name in CATALOGUE)


@pytest.mark.parametrize("name", sorted(BAD_BATCHES))
def test_bad_batch_fails_its_expectation(name, good_batch, known_area_codes):
    batch = BAD_BATCHES[name](good_batch.copy())
    outcomes = _check(batch, known_area_codes)
    failed = {o.expectation: o for o in blocking(outcomes)}
    assert name in failed, [o.one_line() for o in outcomes if not o.success]
    assert name in failed[name].one_line()
    assert gate_error_line(outcomes).startswith("data-quality gate failed: delivery.")


def test_quarantine_share_over_two_percent_fails(good_batch, known_area_codes):
    quarantined = len(good_batch) // 10
    outcomes = _check(good_batch, known_area_codes, quarantined=quarantined)
    assert [o.expectation for o in blocking(outcomes)] == ["delivery.quarantine_share"]
    outcome = outcomes[-1]
    assert outcome.observed_value == pytest.approx(quarantined / (len(good_batch) + quarantined))
    assert "delivery.quarantine_share" in gate_error_line(outcomes)


def test_registration_before_birth_only_warns(good_batch, known_area_codes):
    batch = good_batch.copy()
    batch.loc[0, "registered_date"] = batch.loc[0, "birth_date"] - pd.Timedelta(days=1)
    outcomes = _check(batch, known_area_codes)
    failed = [o for o in outcomes if not o.success]
    assert [(o.expectation, o.severity) for o in failed] == [
        ("delivery.registered_not_before_birth", "warning")
    ]
    assert gate_error_line(outcomes) is None


def test_duplicate_hash_shows_no_identifier(good_batch, known_area_codes):
    batch = _duplicate_hash(good_batch.copy())
    outcome = next(
        o for o in _check(batch, known_area_codes) if o.expectation == "delivery.record_hash_unique"
    )
    assert not outcome.success
    assert outcome.sample == ()
    assert batch.loc[0, "record_hash"] not in outcome.observed


def test_offending_values_are_sampled_with_suppressed_counts(good_batch, known_area_codes):
    batch = _set("mother_age", 75)(good_batch.copy())
    outcome = next(
        o for o in _check(batch, known_area_codes) if o.expectation == "delivery.mother_age_in_range"
    )
    assert outcome.sample == ("75 (<5 records)",)
    assert outcome.observed.startswith("<5 of ")


def test_arrow_and_polars_dtypes_pass(registry_template, known_area_codes):
    """The same rows through Polars (nullable ints as float64, Arrow-backed variant) pass."""
    relation = registry_template.sql("select * from births where delivery_id = 2")
    for batch in (
        relation.pl().to_pandas(),
        relation.pl().to_pandas(use_pyarrow_extension_array=True),
        relation.to_arrow_table().to_pandas(),
    ):
        outcomes = _check(batch, known_area_codes)
        assert [o.one_line() for o in outcomes if not o.success] == []
