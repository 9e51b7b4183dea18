"""Delivery suite: one crafted bad batch per critical expectation, a good batch, a warning.

Every batch starts from delivery 2 of the synthetic registry (conftest.py) as a Polars frame
typed like the loader's clean batch, and changes only what the case needs.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import polars as pl
import pytest
from dq_fixtures import ASOF

from expectations import CATALOGUE, blocking, check_delivery, gate_error_line

Mutation = Callable[[pl.DataFrame], pl.DataFrame]


def _set(column: str, value: object) -> Mutation:
    """Set row 0 of ``column`` to ``value`` (the column takes the common supertype)."""

    def mutate(frame: pl.DataFrame) -> pl.DataFrame:
        is_first = pl.int_range(pl.len()) == 0
        return frame.with_columns(pl.when(is_first).then(pl.lit(value)).otherwise(pl.col(column)).alias(column))

    return mutate


def _replace(column: str, make: Callable[[pl.Expr], pl.Expr]) -> Mutation:
    return lambda frame: frame.with_columns(make(pl.col(column)).alias(column))


def _drop(column: str) -> Mutation:
    return lambda frame: frame.drop(column)


def _duplicate_hash(frame: pl.DataFrame) -> pl.DataFrame:
    first = frame["record_hash"][0]
    return frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 1).then(pl.lit(first)).otherwise(pl.col("record_hash"))
        .alias("record_hash")
    )


def _unknown_sex(frame: pl.DataFrame) -> pl.DataFrame:
    is_early = pl.int_range(pl.len()) < frame.height // 20  # 5 % > 1 %
    return frame.with_columns(pl.when(is_early).then(pl.lit("U")).otherwise(pl.col("sex")).alias("sex"))


AFTER_ASOF = ASOF + dt.timedelta(days=1)

BAD_BATCHES: dict[str, Mutation] = {
    "delivery.columns_present": _drop("birth_order"),
    "delivery.record_key_is_typed": _replace("record_hash", lambda c: pl.int_range(pl.len())),
    "delivery.birth_date_is_date": _replace("birth_date", lambda c: c.dt.strftime("%d.%m.%Y")),
    "delivery.sex_is_text": _replace("sex", lambda c: (c == "M").cast(pl.Int64) + 1),
    "delivery.birth_order_is_integer": _replace("birth_order", lambda c: c + 0.5),
    "delivery.area_code_is_text": _replace("area_code", lambda c: c.cast(pl.Int64)),
    "delivery.registered_date_is_date": _replace("registered_date", lambda c: c.dt.strftime("%Y%m%d")),
    "delivery.plurality_is_integer": _replace("plurality", lambda c: c.cast(pl.String)),
    "delivery.mother_age_is_number": _replace("mother_age", lambda c: c.cast(pl.String)),
    "delivery.record_hash_not_null": _set("record_hash", None),
    "delivery.birth_date_not_null": _set("birth_date", None),
    "delivery.sex_not_null": _set("sex", None),
    "delivery.birth_order_not_null": _set("birth_order", None),
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


def _check(batch: pl.DataFrame, known: set[str], quarantined: int = 0):
    return check_delivery(
        batch,
        known_area_codes=known,
        asof=ASOF,
        rows_read=batch.height + quarantined,
        rows_quarantined=quarantined,
    )


def test_every_critical_delivery_expectation_has_a_bad_batch():
    critical = {
        name
        for name, rule in CATALOGUE.items()
        if name.startswith("delivery.") and rule.is_critical
    }
    # quarantine_share has its own tests below; delivery.readable is the loader's verdict on a
    # file it cannot read (expectations/refusals.py, tests/expectations/test_dq_refusals.py)
    assert critical == set(BAD_BATCHES) | {"delivery.quarantine_share", "delivery.readable"}


def test_good_batch_passes_everything(good_batch, known_area_codes):
    outcomes = _check(good_batch, known_area_codes, quarantined=3)
    assert [o.expectation for o in outcomes if not o.success] == []
    assert gate_error_line(outcomes) is None
    # every delivery expectation but delivery.readable, which only the loader judges
    assert {o.expectation for o in outcomes} == {n for n in CATALOGUE if n.startswith("delivery.")} - {
        "delivery.readable"}
    assert len(outcomes) == len({o.expectation for o in outcomes})


@pytest.mark.parametrize("name", sorted(BAD_BATCHES))
def test_bad_batch_fails_its_expectation(name, good_batch, known_area_codes):
    batch = BAD_BATCHES[name](good_batch)
    outcomes = _check(batch, known_area_codes)
    failed = {o.expectation: o for o in blocking(outcomes)}
    assert name in failed, [o.one_line() for o in outcomes if not o.success]
    # the one-line error names this expectation first (a wrongly typed column may also fail
    # the value checks of that column, which come later in the catalogue)
    assert gate_error_line(outcomes).startswith(f"data-quality gate failed: {name} FAILED (critical): observed ")


def test_quarantine_share_over_two_percent_fails(good_batch, known_area_codes):
    quarantined = good_batch.height // 10
    outcomes = _check(good_batch, known_area_codes, quarantined=quarantined)
    assert [o.expectation for o in blocking(outcomes)] == ["delivery.quarantine_share"]
    outcome = outcomes[-1]
    assert outcome.observed_value == pytest.approx(quarantined / (good_batch.height + quarantined))
    assert "delivery.quarantine_share" in gate_error_line(outcomes)


def test_registration_before_birth_only_warns(good_batch, known_area_codes):
    batch = _set("registered_date", good_batch["birth_date"][0] - dt.timedelta(days=1))(good_batch)
    outcomes = _check(batch, known_area_codes)
    failed = [o for o in outcomes if not o.success]
    assert [(o.expectation, o.severity) for o in failed] == [
        ("delivery.registered_not_before_birth", "warning")
    ]
    assert gate_error_line(outcomes) is None


def test_duplicate_hash_shows_no_identifier(good_batch, known_area_codes):
    batch = _duplicate_hash(good_batch)
    outcome = next(
        o for o in _check(batch, known_area_codes) if o.expectation == "delivery.record_hash_unique"
    )
    assert not outcome.success
    assert outcome.sample == ()
    assert outcome.observed_value == 1
    assert batch["record_hash"][0] not in outcome.observed


def test_offending_values_are_sampled_with_suppressed_counts(good_batch, known_area_codes):
    batch = _set("mother_age", 75)(good_batch)
    outcome = next(
        o for o in _check(batch, known_area_codes) if o.expectation == "delivery.mother_age_in_range"
    )
    assert outcome.sample == ("75 (<5 records)",)
    assert outcome.observed.startswith("<5 of ")


def test_duckdb_arrow_and_loader_key_layouts_pass(registry_template, known_area_codes):
    """The same rows through DuckDB's Polars and Arrow exports, and with the record key as
    the loader's two UInt64 halves of the hash (record_hash_hi, record_hash_lo), pass."""
    relation = registry_template.sql("select * exclude (delivery_id) from births where delivery_id = 2")
    halves = relation.pl().with_columns(
        pl.col("record_hash").str.slice(start, 16).str.to_integer(base=16, dtype=pl.UInt64).alias(name)
        for start, name in ((0, "record_hash_hi"), (16, "record_hash_lo"))
    ).drop("record_hash")
    for batch in (relation.pl(), pl.from_arrow(relation.to_arrow_table()), halves):
        outcomes = _check(batch, known_area_codes)
        assert [o.one_line() for o in outcomes if not o.success] == []


def test_wrong_key_layout_fails_the_key_type(good_batch, known_area_codes):
    batch = good_batch.with_columns(record_hash_hi=pl.lit(1, dtype=pl.UInt64)).drop("record_hash")
    failed = {o.expectation: o for o in blocking(_check(batch, known_area_codes))}
    assert set(failed) == {"delivery.record_key_is_typed", "delivery.record_hash_unique"}
    assert failed["delivery.record_key_is_typed"].observed == "type record_hash_hi: UInt64"
