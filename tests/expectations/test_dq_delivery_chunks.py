"""Delivery suite on large chunks: one bad value among 420,000 records is found and placed.

The suite checks distinct values, not rows (expectations/domains.py); these tests hold it to
what a row-by-row check would report: the right expectation fails, the right delivery is
named, and the offending *records* are counted (small counts suppressed). Real GX runs.

The chunk is made here, seeded: three deliveries of 200,000, 200,000 and 20,000 births of
February 2024 over the 12 villages of the test registry, typed as the loader's clean batch
with the record key as two UInt64 halves (unique by construction: the row number times an
odd constant, modulo 2^64, is a permutation).
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from dq_fixtures import ASOF

from expectations import blocking, check_deliveries

SIZES = {"births_a.csv": 200_000, "births_b.csv": 200_000, "births_c.csv": 20_000}
BAD = "births_b.csv"
HIDDEN_ROW = 123_456
GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _batch(rows: int, seed: int, villages: list[str]) -> pl.DataFrame:
    """``rows`` clean births of February 2024, registered 0-14 days later (by ASOF)."""
    rng = np.random.default_rng(seed)
    birth = np.datetime64("2024-02-01") + rng.integers(0, 29, rows).astype("timedelta64[D]")
    registered = birth + rng.integers(0, 15, rows).astype("timedelta64[D]")
    with np.errstate(over="ignore"):
        hi = (np.arange(rows, dtype=np.uint64) + np.uint64(seed << 40)) * GOLDEN
    return pl.DataFrame({
        "record_hash_hi": hi,
        "record_hash_lo": rng.integers(0, 2**63, rows).astype(np.uint64),
        "birth_date": birth,
        "sex": np.where(rng.random(rows) < 0.515, "M", "F"),
        "birth_order": rng.integers(1, 4, rows),
        "area_code": np.array(villages)[rng.integers(0, len(villages), rows)],
        "plurality": np.where(rng.random(rows) < 0.012, 2, 1),
        "registered_date": registered,
        "mother_age": rng.integers(18, 45, rows),
        "residence_status": np.where(rng.random(rows) < 0.37, "floating", "registered"),
        "policy_status": np.where(rng.random(rows) < 0.9, "within", "outside"),
        "facility_code": np.char.add("H", rng.integers(0, 17, rows).astype(str)),
        "source_line": np.arange(2, rows + 2),
    }).with_columns(
        pl.col("birth_date", "registered_date").cast(pl.Date),
        pl.col("birth_order", "plurality", "mother_age").cast(pl.Int32),
    )


@pytest.fixture(scope="module")
def chunk(registry_template) -> dict[str, pl.DataFrame]:
    villages = [row[0] for row in registry_template.execute(
        "select area_code from areas where level = 'village' order by area_code").fetchall()]
    assert dt.date(2024, 3, 14) <= ASOF  # the chunk's last registration: all are in range
    return {name: _batch(rows, seed, villages) for seed, (name, rows) in enumerate(SIZES.items(), 1)}


def _set_rows(frame: pl.DataFrame, rows: list[int], column: str, value: pl.Expr | object) -> pl.DataFrame:
    expression = value if isinstance(value, pl.Expr) else pl.lit(value)
    is_chosen = pl.int_range(pl.len()).is_in(rows)
    return frame.with_columns(pl.when(is_chosen).then(expression).otherwise(pl.col(column)).alias(column))


def _verdicts(chunk: dict[str, pl.DataFrame], known: set[str]):
    batches = {name: (frame, frame.height, 0) for name, frame in chunk.items()}
    return check_deliveries(batches, known_area_codes=known, asof=ASOF)


def _failed(outcomes) -> dict[str, object]:
    return {o.expectation: o for o in outcomes if not o.success}


def test_clean_chunk_of_420_000_records_passes(chunk, known_area_codes):
    verdicts = _verdicts(chunk, known_area_codes)
    assert [o.one_line() for o in verdicts.together if not o.success] == []
    assert all(o.success for name in SIZES for o in verdicts.alone(name))
    area = next(o for o in verdicts.together if o.expectation == "delivery.area_code_known")
    assert area.observed == "0 of 420,000 records offending"


HIDDEN_FAULTS = {
    "delivery.birth_order_in_range": (lambda f: _set_rows(f, [HIDDEN_ROW], "birth_order", 0), "0"),
    "delivery.sex_not_null": (lambda f: _set_rows(f, [HIDDEN_ROW], "sex", None), "missing"),
    "delivery.registered_not_before_birth": (
        lambda f: _set_rows(f, [HIDDEN_ROW], "registered_date", pl.col("birth_date") - dt.timedelta(days=1)),
        "registered_date="),
    "delivery.record_hash_unique": (
        lambda f: _set_rows(_set_rows(f, [HIDDEN_ROW], "record_hash_hi", f["record_hash_hi"][7]),
                            [HIDDEN_ROW], "record_hash_lo", f["record_hash_lo"][7]),
        None),
}


@pytest.mark.parametrize("expectation", sorted(HIDDEN_FAULTS))
def test_one_bad_record_among_420_000_is_found_and_placed(expectation, chunk, known_area_codes):
    spoil, value = HIDDEN_FAULTS[expectation]
    verdicts = _verdicts({**chunk, BAD: spoil(chunk[BAD])}, known_area_codes)

    failed = _failed(verdicts.together)
    assert list(failed) == [expectation]
    outcome = failed[expectation]
    assert outcome.observed_value == 1
    (sample,) = outcome.sample
    assert sample.startswith(f"{BAD}: ")
    if value is not None:  # a record key is never shown
        assert value in sample and sample.endswith("(<5 records)")
        assert outcome.observed == "<5 of 420,000 records offending in 1 of 3 deliveries"

    alone = _failed(verdicts.alone(BAD))
    assert list(alone) == [expectation]
    assert alone[expectation].observed.startswith("<5 of 200,000 records")
    assert alone[expectation].observed_value == 1
    assert [o.expectation for name in SIZES if name != BAD for o in verdicts.alone(name) if not o.success] == []


def test_offending_records_are_counted_and_small_counts_suppressed(chunk, known_area_codes):
    """3 records with birth order 0 (in 3 distinct value combinations) read "<5"; 7 with
    mother's age 75 are counted in full."""
    three = [10, 20_000, 150_000]
    spoiled = _set_rows(chunk[BAD], three, "birth_order", 0)
    for row, age in zip(three, (19, 30, 41), strict=True):  # three distinct value rows
        spoiled = _set_rows(spoiled, [row], "mother_age", age)
    seven = list(range(1_000, 1_007))
    other = _set_rows(chunk["births_c.csv"], seven, "mother_age", 75)
    verdicts = _verdicts({**chunk, BAD: spoiled, "births_c.csv": other}, known_area_codes)

    failed = _failed(verdicts.together)
    assert set(failed) == {"delivery.birth_order_in_range", "delivery.mother_age_in_range"}
    order = failed["delivery.birth_order_in_range"]
    assert order.observed_value == 3
    assert order.observed == "<5 of 420,000 records offending in 1 of 3 deliveries"
    assert order.sample == (f"{BAD}: 0 (<5 records)",)
    age = failed["delivery.mother_age_in_range"]
    assert age.observed_value == 7
    assert age.observed == "7 of 420,000 records offending in 1 of 3 deliveries"
    assert age.sample == ("births_c.csv: 75 (7 records)",)
    alone = _failed(verdicts.alone(BAD))
    assert alone["delivery.birth_order_in_range"].observed == "<5 of 200,000 records offending"
    assert alone["delivery.birth_order_in_range"].sample == ("0 (<5 records)",)


def test_unknown_sex_share_is_each_deliverys_own(chunk, known_area_codes):
    """5 % unknown in the small delivery fails, though it is 0.24 % of the chunk."""
    small = "births_c.csv"
    spoiled = _set_rows(chunk[small], list(range(1_000)), "sex", "U")
    verdicts = _verdicts({**chunk, small: spoiled}, known_area_codes)
    (outcome,) = blocking(verdicts.together)
    assert outcome.expectation == "delivery.sex_unknown_share"
    assert outcome.observed_value == pytest.approx(0.05)
    assert outcome.sample == (f"{small}: 5.00% (1,000 of 20,000 records of unknown sex)",)
    assert [o.expectation for o in blocking(verdicts.alone(small))] == ["delivery.sex_unknown_share"]
    assert blocking(verdicts.alone(BAD)) == []


def test_a_delivery_without_a_required_column_is_named(chunk, known_area_codes):
    verdicts = _verdicts({**chunk, "births_c.csv": chunk["births_c.csv"].drop("birth_order")},
                         known_area_codes)
    failed = _failed(verdicts.together)
    assert failed["delivery.columns_present"].sample == ("births_c.csv: missing: birth_order",)
    assert [o.expectation for o in blocking(verdicts.alone("births_c.csv"))] == [
        "delivery.columns_present", "delivery.birth_order_not_null"]
    assert blocking(verdicts.alone(BAD)) == []


def test_text_record_keys_are_checked_alike(chunk, known_area_codes):
    """The 64-hex String layout of the record key: unique passes, one repeat fails."""
    def as_text(frame: pl.DataFrame) -> pl.DataFrame:
        text = np.char.add(np.char.mod("%016x", frame["record_hash_hi"].to_numpy()),
                           np.char.mod("%016x", frame["record_hash_lo"].to_numpy()))
        return frame.drop("record_hash_hi", "record_hash_lo").with_columns(
            record_hash=pl.Series(np.char.add(text, "0" * 32)))

    texts = {name: as_text(frame) for name, frame in chunk.items()}
    assert _failed(_verdicts(texts, known_area_codes).together) == {}
    repeated = _set_rows(texts[BAD], [HIDDEN_ROW], "record_hash", texts[BAD]["record_hash"][7])
    failed = _failed(_verdicts({**texts, BAD: repeated}, known_area_codes).together)
    assert list(failed) == ["delivery.record_hash_unique"]
    assert failed["delivery.record_hash_unique"].sample == (
        f"{BAD}: <5 of 200,000 records repeat a record key of their delivery",)
