"""Checking distinct values is checking every row: the domain frames against row counts.

The reference here is the rule itself, applied row by row in Polars; the suite must report
the same offending records for every expectation (expectations/domains.py says why it can).
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from dq_fixtures import ASOF

from expectations import DEFAULT_THRESHOLDS, check_delivery
from expectations.domains import _as_gx_frame, _date_pairs, _key_counts, _probe

ROWS = 50_000


@pytest.fixture(scope="module")
def spoiled(registry_template) -> pl.DataFrame:
    """50,000 rows drawn (seed 5) from delivery 2, then about 1 % of several columns
    overwritten with values that break a rule, NULL included."""
    rng = np.random.default_rng(5)
    good = registry_template.sql("select * exclude (delivery_id) from births where delivery_id = 2").pl()
    frame = good[rng.integers(0, good.height, ROWS)].with_columns(
        record_hash=pl.Series([f"{i:064x}" for i in range(ROWS)]))

    def spoil(column: str, values: list[object]) -> pl.Expr:
        chosen = pl.Series(rng.random(ROWS) < 0.01)
        bad = pl.Series(column, [values[i % len(values)] for i in range(ROWS)])
        return pl.when(chosen).then(bad).otherwise(pl.col(column)).alias(column)

    return frame.with_columns(
        spoil("sex", ["X", None, "U"]),
        spoil("birth_order", [0, 25, None]),
        spoil("mother_age", [9, 75]),
        spoil("plurality", [0, 9]),
        spoil("residence_status", ["migrant", None]),
        spoil("policy_status", ["maybe"]),
        spoil("birth_date", [ASOF + dt.timedelta(days=3), dt.date(1899, 12, 31), None]),
        spoil("registered_date", [ASOF + dt.timedelta(days=1), dt.date(2000, 1, 1)]),
        spoil("area_code", ["999999999999", None]),
    )


def _row_counts(frame: pl.DataFrame, known: set[str]) -> dict[str, int]:
    """Offending rows of each expectation, the rule applied to every row."""
    t = DEFAULT_THRESHOLDS

    def outside(column: str, low: object, high: object) -> pl.Expr:
        return pl.col(column).is_not_null() & ~pl.col(column).is_between(low, high)

    def not_in(column: str, values: list[str]) -> pl.Expr:
        return pl.col(column).is_not_null() & ~pl.col(column).is_in(values)

    rules = {
        "delivery.birth_date_not_null": pl.col("birth_date").is_null(),
        "delivery.sex_not_null": pl.col("sex").is_null(),
        "delivery.birth_order_not_null": pl.col("birth_order").is_null(),
        "delivery.area_code_not_null": pl.col("area_code").is_null(),
        "delivery.sex_in_codes": not_in("sex", ["M", "F", "U"]),
        "delivery.residence_status_in_set": not_in("residence_status", ["registered", "floating"]),
        "delivery.policy_status_in_set": not_in("policy_status", ["within", "outside", "unknown"]),
        "delivery.birth_order_in_range": outside("birth_order", 1, t.birth_order_max),
        "delivery.mother_age_in_range": outside("mother_age", t.mother_age_min, t.mother_age_max),
        "delivery.plurality_in_range": outside("plurality", 1, t.plurality_max),
        "delivery.birth_date_in_range": outside("birth_date", t.birth_date_floor, ASOF),
        "delivery.registered_date_in_range": outside("registered_date", t.birth_date_floor, ASOF),
        "delivery.registered_not_before_birth": pl.col("registered_date") < pl.col("birth_date"),
        "delivery.area_code_known": not_in("area_code", sorted(known)),
    }
    return frame.select(**{name: rule.fill_null(False).sum() for name, rule in rules.items()}).row(0, named=True)


def test_offending_records_equal_a_row_by_row_count(spoiled, known_area_codes):
    expected = _row_counts(spoiled, known_area_codes)
    assert all(count > 0 for count in expected.values()), expected
    outcomes = {o.expectation: o for o in check_delivery(
        spoiled, known_area_codes=known_area_codes, asof=ASOF, rows_read=ROWS, rows_quarantined=0)}
    assert {name: outcomes[name].observed_value for name in expected} == expected
    assert not any(outcomes[name].success for name in expected)


def test_date_pairs_packed_in_one_integer_come_back_whole():
    """Every Int32 day number, the extremes included, survives the packing exactly."""
    rng = np.random.default_rng(11)
    days = np.concatenate([rng.integers(-2**31, 2**31, 5_000), [-2**31, 2**31 - 1, 0, -1]])
    frame = pl.DataFrame({"birth_date": days.astype(np.int32), "registered_date": np.roll(days, 3).astype(np.int32)})
    frame = pl.concat([frame, frame.head(50)]).with_columns(pl.all().cast(pl.Date))
    packed = _date_pairs(frame.lazy(), []).collect().sort(pl.all())
    plain = frame.group_by("birth_date", "registered_date").agg(records=pl.len()).sort(pl.all())
    assert packed.equals(plain)


@pytest.mark.parametrize(("hi", "lo", "duplicates"), [
    ([1, 2, 3], [7, 7, 7], 0),          # distinct probes: no second look
    ([5, 5, 6], [1, 2, 3], 0),          # a repeated probe, distinct keys
    ([5, 5, 6], [1, 1, 3], 1),          # a repeated key
    ([5, 5, 5], [1, 1, 1], 2),
])
def test_duplicate_keys_are_exact_when_probes_collide(hi, lo, duplicates):
    batch = pl.DataFrame({"record_hash_hi": hi, "record_hash_lo": lo}, schema={
        "record_hash_hi": pl.UInt64, "record_hash_lo": pl.UInt64})
    text = batch.select(record_hash=pl.format("{}-{}", "record_hash_hi", "record_hash_lo"))
    for layout in (batch, text):
        assert _key_counts(layout, layout.select(probe=_probe(layout))["probe"]) == (0, duplicates)


def test_rows_without_a_complete_key_are_counted_apart(good_batch, known_area_codes):
    halves = good_batch.select(
        pl.col("record_hash").str.slice(0, 16).str.to_integer(base=16, dtype=pl.UInt64).alias("record_hash_hi"),
        pl.when(pl.int_range(pl.len()) < 2).then(None).otherwise(
            pl.col("record_hash").str.slice(16, 16).str.to_integer(base=16, dtype=pl.UInt64)).alias("record_hash_lo"),
        pl.exclude("record_hash"),
    )
    failed = {o.expectation: o for o in check_delivery(
        halves, known_area_codes=known_area_codes, asof=ASOF, rows_read=halves.height, rows_quarantined=0)
        if not o.success}
    assert list(failed) == ["delivery.record_hash_not_null"]
    assert failed["delivery.record_hash_not_null"].observed == f"<5 of {halves.height:,} records without a record key"


def test_a_date_beyond_the_nanosecond_range_is_still_checked(good_batch, known_area_codes):
    far = good_batch.with_columns(
        birth_date=pl.when(pl.int_range(pl.len()) == 0).then(dt.date(3000, 1, 1)).otherwise(pl.col("birth_date")))
    assert str(_as_gx_frame(far.select("birth_date"))["birth_date"].dtype) == "datetime64[us]"
    outcome = next(o for o in check_delivery(far, known_area_codes=known_area_codes, asof=ASOF,
                                             rows_read=far.height, rows_quarantined=0)
                   if o.expectation == "delivery.birth_date_in_range")
    assert not outcome.success
    assert outcome.sample == ("3000-01-01 (<5 records)",)


def test_an_empty_batch_passes_its_row_checks(good_batch, known_area_codes):
    outcomes = check_delivery(good_batch.head(0), known_area_codes=known_area_codes, asof=ASOF,
                              rows_read=0, rows_quarantined=0)
    assert [o.one_line() for o in outcomes if not o.success] == []


def test_small_deliveries_grouped_together_are_judged_each_alone(good_batch, known_area_codes):
    """Thirty deliveries of ~26 records are stacked and grouped at once (domains._groups):
    every verdict must equal the delivery's own, checked alone."""
    from expectations import check_deliveries

    parts = {f"births_{i:02d}.csv": good_batch[i::30] for i in range(30)}
    parts["births_07.csv"] = parts["births_07.csv"].with_columns(
        birth_order=pl.when(pl.int_range(pl.len()) == 2).then(25).otherwise(pl.col("birth_order")))
    parts["births_21.csv"] = parts["births_21.csv"].drop("mother_age", "plurality")
    verdicts = check_deliveries({name: (frame, frame.height, 0) for name, frame in parts.items()},
                                known_area_codes=known_area_codes, asof=ASOF)
    failed = {o.expectation: o for o in verdicts.together if not o.success}
    assert list(failed) == ["delivery.birth_order_in_range"]
    assert failed["delivery.birth_order_in_range"].sample == ("births_07.csv: 25 (<5 records)",)
    for name in ("births_07.csv", "births_21.csv", "births_29.csv"):
        alone = check_delivery(parts[name], known_area_codes=known_area_codes, asof=ASOF,
                               rows_read=parts[name].height, rows_quarantined=0)
        in_chunk = {o.expectation: o for o in verdicts.alone(name)}
        # the chunk also checks columns other deliveries have: absent here, they pass
        assert [in_chunk[o.expectation] for o in alone] == alone
        assert all(o.success for key, o in in_chunk.items() if key not in {a.expectation for a in alone})


def test_a_check_gx_cannot_evaluate_on_the_chunk_is_not_traced(good_batch, known_area_codes):
    """Deliveries disagreeing on birth_date's type: the range check raises on the mixed
    column, fails closed for every delivery, and the verdicts say they are not traced."""
    from expectations import check_deliveries

    texts = good_batch.with_columns(pl.col("birth_date").dt.strftime("%d.%m.%Y"))
    verdicts = check_deliveries({"good.csv": (good_batch, good_batch.height, 0),
                                 "texts.csv": (texts, texts.height, 0)},
                                known_area_codes=known_area_codes, asof=ASOF)
    assert not verdicts.is_traced
    failed = {o.expectation: o for o in verdicts.together if not o.success}
    assert failed["delivery.birth_date_is_date"].sample == ("texts.csv: type String",)
    assert failed["delivery.birth_date_in_range"].observed.startswith("not evaluated")
    assert "delivery.birth_date_in_range" in {o.expectation for o in verdicts.alone("good.csv") if not o.success}
