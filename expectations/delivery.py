"""Delivery suite: every clean record of the new deliveries, checked through its distinct values.

The loader has already quarantined rows that break a row rule; this suite looks at each
batch as a whole (types, record keys, shares) and re-checks the row rules as a guard
against a loader fault, since a wrong row here would reach the estimates.

The row rules are zero-tolerance on one value or one pair of values, so checking the
distinct values present is the same as checking every row (expectations/domains.py says
why, and builds those frames in Polars). Great Expectations then validates four small
frames per chunk of deliveries, whatever its size, instead of every row:

* ``delivery_facts``: one row per delivery (types, missing columns, record keys, shares);
* ``delivery_attributes``: distinct sex, birth order, plurality, mother's age, residence
  and policy status;
* ``delivery_dates``: distinct (birth_date, registered_date) pairs;
* ``delivery_area_codes``: distinct area codes, flagged known or not.

Each row of the three value frames says how many ``records`` carry it and which
``delivery`` it came from, so every outcome can be told for the chunk or for one delivery,
with offending *records* counted, from the same GX run.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import polars as pl

from expectations.catalogue import CATALOGUE, suite_of
from expectations.domains import KEY_LAYOUTS, domain_frames
from expectations.outcome import ExpectationOutcome
from expectations.runner import (
    COMPLETE_RESULT_FORMAT,
    SAMPLE_SIZE,
    Check,
    _count,
    _exception_message,
    _format_value,
    _threshold,
    validate,
)
from expectations.thresholds import DEFAULT_THRESHOLDS, Thresholds
from models.constants import SEX_BOY, SEX_GIRL, SEX_UNKNOWN

REQUIRED_COLUMNS: tuple[str, ...] = (
    "record_hash",
    "birth_date",
    "sex",
    "birth_order",
    "area_code",
)
RESIDENCE_STATUSES: tuple[str, ...] = ("registered", "floating")
POLICY_STATUSES: tuple[str, ...] = ("within", "outside", "unknown")

# Polars dtype names a column may have.
TEXT_TYPES: tuple[str, ...] = ("String",)
DATE_TYPES: tuple[str, ...] = ("Date",)
INTEGER_TYPES: tuple[str, ...] = (
    "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64",
)
NUMBER_TYPES: tuple[str, ...] = (*INTEGER_TYPES, "Float32", "Float64")
# column: (expectation, accepted dtype names, the same in words)
COLUMN_TYPES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "birth_date": ("delivery.birth_date_is_date", DATE_TYPES, "of type Date"),
    "sex": ("delivery.sex_is_text", TEXT_TYPES, "of type String"),
    "birth_order": ("delivery.birth_order_is_integer", INTEGER_TYPES, "of an integer type"),
    "area_code": ("delivery.area_code_is_text", TEXT_TYPES, "of type String"),
    "registered_date": ("delivery.registered_date_is_date", DATE_TYPES, "of type Date"),
    "plurality": ("delivery.plurality_is_integer", INTEGER_TYPES, "of an integer type"),
    "mother_age": ("delivery.mother_age_is_number", NUMBER_TYPES, "of an integer or float type"),
}

# The four frames GX validates, in the order they are run.
FACTS = "delivery_facts"
ATTRIBUTES = "delivery_attributes"
DATES = "delivery_dates"
AREA_CODES = "delivery_area_codes"

# One delivery's row of the facts frame, and the suppression size -> (observed, value).
Describe = Callable[[Mapping[str, Any], int], tuple[str, float | None]]


@dataclass(frozen=True)
class _Rule:
    """One expectation of the suite: the GX check, the frame it runs on, and how to tell it.

    needs : columns that must be present in some delivery, else the check is skipped.
    columns : for the value frames, the checked columns shown in a sample.
    describe : for the facts frame, one delivery's (observed text, observed value).
    combine : for the facts frame, how the chunk's observed value is made from the
        deliveries': "sum", "max", or "count" (of offending deliveries).
    sample : for the facts frame, one delivery's sample (none by default).
    """

    check: Check
    frame: str
    needs: frozenset[str] = frozenset()
    columns: tuple[str, ...] = ()
    describe: Describe | None = None
    combine: str = "count"
    sample: Callable[[Mapping[str, Any]], tuple[str, ...]] = lambda row: ()


class DeliveryVerdicts:
    """The delivery suite's verdicts on a chunk: for the chunk as a whole, or per delivery.

    ``together`` holds one outcome per expectation over all deliveries (samples name the
    delivery); ``alone(name)`` tells the same GX results for one delivery, as
    ``check_delivery`` would on that batch alone. Both come from one GX run.

    ``is_traced`` is False when some check could not be evaluated (GX raised, e.g. on a
    column whose type differs between deliveries): that failure is every delivery's in
    ``alone``, so check each batch by itself to know which one caused it.
    """

    def __init__(self, names: tuple[str, ...], verdicts: list[_Verdict]) -> None:
        self.names = names
        self._verdicts = verdicts
        self.together = [verdict.together(names) for verdict in verdicts]
        self.is_traced = all(verdict.error is None for verdict in verdicts)

    def alone(self, name: str) -> list[ExpectationOutcome]:
        """The outcomes of delivery ``name``. Raises KeyError for a name not in the chunk."""
        if name not in self.names:
            raise KeyError(name)
        return [verdict.alone(name) for verdict in self._verdicts]


def check_delivery(
    batch: pl.DataFrame,
    *,
    known_area_codes: Iterable[str],
    asof: dt.date,
    rows_read: int,
    rows_quarantined: int,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> list[ExpectationOutcome]:
    """Validate one delivery's clean records (the delivery suite).

    Parameters
    ----------
    batch : the delivery's loaded rows with the columns of the ``births`` table (record key,
        birth_date, sex, birth_order, area_code; optional columns are checked when
        present). The record key is ``record_hash`` (64-hex String) or ``record_hash_hi``
        and ``record_hash_lo`` (UInt64). Not modified.
    known_area_codes : every area_code of the area reference.
    asof : the run's as-of date; no birth or registration may be later.
    rows_read, rows_quarantined : the delivery's counts from ``loads``.
    thresholds : the gate's numbers.

    Returns
    -------
    One outcome per expectation of the suite, in a fixed order. Checks of a column absent
    from the batch are skipped; a missing required column fails
    ``delivery.columns_present``.

    Example
    -------
    >>> frame = pl.DataFrame({"record_hash": ["a1", "b2"], "area_code": ["110101", "110101"],
    ...     "birth_date": [dt.date(2024, 1, 2), dt.date(2024, 1, 3)], "sex": ["M", "F"],
    ...     "birth_order": [1, 2]})
    >>> outcomes = check_delivery(frame, known_area_codes={"110101"},
    ...     asof=dt.date(2024, 2, 1), rows_read=2, rows_quarantined=0)
    >>> all(outcome.success for outcome in outcomes)
    True
    """
    verdicts = check_deliveries(
        {"batch": (batch, rows_read, rows_quarantined)},
        known_area_codes=known_area_codes, asof=asof, thresholds=thresholds,
    )
    return verdicts.alone("batch")


def check_deliveries(
    batches: Mapping[str, tuple[pl.DataFrame, int, int]],
    *,
    known_area_codes: Iterable[str],
    asof: dt.date,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> DeliveryVerdicts:
    """The delivery suite over several deliveries in one GX run, judged per delivery.

    ``batches`` maps a delivery's name to (clean records as in ``check_delivery``, rows
    read, rows quarantined). Every check is per delivery: record keys must be unique within
    a delivery, the unknown-sex and quarantine shares are each delivery's own, so a small
    bad file cannot hide among large good ones; and every offending value is traced to its
    delivery, so the verdicts name the file that broke a check.

    GX costs ~10-15 ms per expectation, ~0.35 s for the suite's 27, and the frames it
    validates grow with distinct values, not rows: about 1 s for a chunk of 10 million
    records (bench/gate.py), of which Polars ~0.5 s. Raises ValueError when ``batches`` is
    empty.
    """
    if not batches:
        raise ValueError("no delivery to check")
    known = list(known_area_codes)
    frames = domain_frames(batches, required_columns=REQUIRED_COLUMNS, known_area_codes=known)
    by_name = {FACTS: frames.deliveries, ATTRIBUTES: frames.attributes, DATES: frames.dates,
               AREA_CODES: frames.area_codes}
    rules = [
        rule for rule in _rules(asof, thresholds, len(known))
        if rule.needs <= frames.columns and by_name[rule.frame] is not None
    ]
    verdicts: dict[str, _Verdict] = {}
    for frame_name, frame in by_name.items():
        frame_rules = [rule for rule in rules if rule.frame == frame_name]
        if not frame_rules:
            continue
        results = validate(frame_name, frame, [rule.check for rule in frame_rules],
                           result_format=COMPLETE_RESULT_FORMAT)
        if frame_name == FACTS:  # one row per delivery, read by name
            per_delivery: Mapping[str, Any] = {row["delivery"]: row for row in frame.to_dict("records")}
        else:  # records per delivery
            per_delivery = frame.groupby("delivery", sort=False)["records"].sum().to_dict()
        for rule, result in zip(frame_rules, results, strict=True):
            verdicts[rule.check.name] = _Verdict(rule, result, frame, per_delivery, thresholds.suppression_size)
    return DeliveryVerdicts(tuple(batches), [verdicts[rule.check.name] for rule in rules])


class _Verdict:
    """One expectation's GX result on its frame, told for the chunk or for one delivery."""

    def __init__(self, rule: _Rule, result: Any, frame: pd.DataFrame, per_delivery: Mapping[str, Any],
                 suppression_size: int) -> None:
        self.rule = rule
        self.frame = frame
        self.per_delivery = per_delivery  # facts: each delivery's row; else its records
        self.suppression_size = suppression_size
        config = result.expectation_config
        self.gx_expectation = config.type
        self.threshold = rule.check.threshold or _threshold(config.type, dict(config.kwargs))
        self.error = _exception_message(result.exception_info)
        positions = (result.result or {}).get("unexpected_index_list") or []
        if self.error is None and not result.success and not positions:
            self.error = "GX failed the check without naming an offending row"  # fail closed
        self.success = bool(result.success) and self.error is None
        self.offending = frame.loc[list(positions)]
        self._by_delivery = {
            str(name): rows for name, rows in self.offending.groupby("delivery", sort=False, observed=True)
        }

    def alone(self, name: str) -> ExpectationOutcome:
        if self.error is not None:
            return self._not_evaluated()
        bad = self._by_delivery.get(name, self.offending.iloc[:0])
        if self.rule.frame == FACTS:
            row = self.per_delivery[name]
            observed, value = self.rule.describe(row, self.suppression_size)
            return self._outcome(bad.empty, observed, value, self.rule.sample(row))
        records, total = int(bad["records"].sum()), int(self.per_delivery.get(name, 0))
        observed = f"{_count(records, self.suppression_size)} of {total:,} records offending"
        return self._outcome(bad.empty, observed, float(records), self._sample(bad, False))

    def together(self, names: tuple[str, ...]) -> ExpectationOutcome:
        if len(names) == 1:
            return self.alone(names[0])
        if self.error is not None:
            return self._not_evaluated()
        offending = self.offending["delivery"].nunique()
        if self.rule.frame == FACTS:
            return self._facts_together(names, offending)
        records, total = int(self.offending["records"].sum()), int(self.frame["records"].sum())
        observed = f"{_count(records, self.suppression_size)} of {total:,} records offending"
        if offending:
            observed += f" in {offending} of {len(names)} deliveries"
        return self._outcome(self.success, observed, float(records), self._sample(self.offending, True))

    def _facts_together(self, names: tuple[str, ...], offending: int) -> ExpectationOutcome:
        told = {
            name: self.rule.describe(row, self.suppression_size)
            for name, row in self.per_delivery.items()
        }
        values = [value for _, value in told.values() if value is not None]
        observed = f"{offending} of {len(names)} deliveries offending"
        if self.rule.combine == "max" and values:
            worst = max(told, key=lambda name: told[name][1] if told[name][1] is not None else -1.0)
            observed += f"; highest {told[worst][0]} in {worst}"
            value: float | None = max(values)
        elif self.rule.combine == "sum":
            value = float(sum(values))
        else:
            value = float(offending)
        sample = tuple(
            f"{name}: {told[name][0]}" for name in self.offending["delivery"].head(SAMPLE_SIZE)
        )
        return self._outcome(self.success, observed, value, sample)

    def _sample(self, bad: pd.DataFrame, by_delivery: bool) -> tuple[str, ...]:
        """The most frequent offending values, each with its count of records."""
        if bad.empty:
            return ()
        keys = (["delivery"] if by_delivery else []) + list(self.rule.columns)
        groups = bad.groupby(keys, dropna=False, sort=False)["records"].sum().reset_index()
        texts = []
        for group in groups.to_dict("records"):
            if len(self.rule.columns) == 1:
                value = _format_value("", group[self.rule.columns[0]], self.suppression_size)
            else:
                value = ", ".join(f"{column}={_format_value('', group[column], self.suppression_size)}"
                                  for column in self.rule.columns)
            text = f"{value} ({_count(int(group['records']), self.suppression_size)} records)"
            texts.append((-int(group["records"]), f"{group['delivery']}: {text}" if by_delivery else text))
        return tuple(text for _, text in sorted(texts)[:SAMPLE_SIZE])

    def _not_evaluated(self) -> ExpectationOutcome:
        return self._outcome(False, f"not evaluated: {self.error}", None, ())

    def _outcome(self, success: bool, observed: str, value: float | None,
                 sample: tuple[str, ...]) -> ExpectationOutcome:
        name = self.rule.check.name
        return ExpectationOutcome(
            suite=suite_of(name),
            expectation=name,
            severity=CATALOGUE[name].severity,
            success=bool(success),
            observed=observed,
            threshold=self.threshold,
            sample=sample,
            gx_expectation=self.gx_expectation,
            observed_value=value,
        )


def optional_columns_needed() -> dict[str, tuple[str, ...]]:
    """For each delivery expectation, the optional columns without which it is skipped.

    >>> optional_columns_needed()["delivery.mother_age_in_range"]
    ('mother_age',)
    """
    rules = _rules(dt.date(2000, 1, 1), DEFAULT_THRESHOLDS, 0)  # the date only bounds checks not run here
    return {rule.check.name: tuple(sorted(rule.needs - set(REQUIRED_COLUMNS))) for rule in rules}


def _missing(row: Mapping[str, Any]) -> tuple[str, ...]:
    missing = row["missing_columns"]
    return tuple(missing.split(", ")) if isinstance(missing, str) else ()


# --- how one delivery's facts read ------------------------------------------------------


def _describe_missing(row: Mapping[str, Any], suppression_size: int) -> tuple[str, float | None]:
    missing = _missing(row)
    if missing:
        return "missing: " + ", ".join(missing), float(len(missing))
    return f"all {len(REQUIRED_COLUMNS)} required columns present", 0.0


def _describe_type(column: str) -> Describe:
    def describe(row: Mapping[str, Any], suppression_size: int) -> tuple[str, float | None]:
        value = row[column]
        return (f"type {value}" if isinstance(value, str) else "absent"), None

    return describe


def _describe_keys(column: str, what: str) -> Describe:
    def describe(row: Mapping[str, Any], suppression_size: int) -> tuple[str, float | None]:
        count = row[column]
        if pd.isna(count):
            return "no record key", None
        return f"{_count(int(count), suppression_size)} of {int(row['records']):,} records {what}", float(count)

    return describe


def _describe_unknown_sex(row: Mapping[str, Any], suppression_size: int) -> tuple[str, float | None]:
    share, unknown = row["unknown_sex_share"], row["unknown_sex_records"]
    if pd.isna(share):
        return "no sex column", None
    return (f"{share:.2%} ({_count(int(unknown), suppression_size)} of {int(row['records']):,} "
            "records of unknown sex)"), float(share)


def _describe_quarantine(row: Mapping[str, Any], suppression_size: int) -> tuple[str, float | None]:
    share = float(row["quarantine_share"])
    return (f"{share:.2%} ({_count(int(row['rows_quarantined']), suppression_size)} of "
            f"{int(row['rows_read']):,} rows read quarantined)"), share


# --- the suite, in report order -----------------------------------------------------------


def _rules(asof: dt.date, thresholds: Thresholds, known_codes: int) -> list[_Rule]:
    """Every expectation of the delivery suite, in report order."""
    t = thresholds
    # Timestamps, not dates: GX 1.24 compares a datetime64 column with a datetime.date
    # by raising, which would fail the check for the wrong reason.
    asof_ts, floor_ts = pd.Timestamp(asof), pd.Timestamp(t.birth_date_floor)

    def values(frame: str, name: str, build: Callable[[Any], Any], *columns: str,
               threshold: str | None = None) -> _Rule:
        return _Rule(Check(name, build, threshold=threshold), frame, frozenset(columns), columns)

    def facts(name: str, build: Callable[[Any], Any], describe: Describe, *, needs: str | None = None,
              threshold: str | None = None, combine: str = "count", **more: Any) -> _Rule:
        return _Rule(Check(name, build, unit="deliveries", threshold=threshold), FACTS,
                     frozenset({needs} if needs else set()), describe=describe, combine=combine, **more)

    def between(column: str, low: object, high: object) -> Callable[[Any], Any]:
        return lambda E: E.ExpectColumnValuesToBeBetween(column=column, min_value=low, max_value=high)

    def in_set(column: str, value_set: Iterable[object]) -> Callable[[Any], Any]:
        return lambda E: E.ExpectColumnValuesToBeInSet(column=column, value_set=list(value_set))

    def not_null(column: str) -> Callable[[Any], Any]:
        return lambda E: E.ExpectColumnValuesToNotBeNull(column=column)

    key_layouts = " or ".join(f"({layout})" for layout in KEY_LAYOUTS)
    rules = [
        facts("delivery.columns_present", lambda E: E.ExpectColumnValuesToBeNull(column="missing_columns"),
              _describe_missing, combine="sum", sample=_missing,
              threshold="columns include " + ", ".join(REQUIRED_COLUMNS)
              + " (the record key as record_hash, or record_hash_hi and record_hash_lo)"),
        facts("delivery.record_key_is_typed", in_set("record_hash_type", KEY_LAYOUTS),
              _describe_type("record_hash_type"), needs="record_hash",
              threshold=f"record key of type {key_layouts}"),
    ]
    rules += [
        facts(name, in_set(f"{column}_type", types), _describe_type(f"{column}_type"), needs=column,
              threshold=f"{column} {wording}")
        for column, (name, types, wording) in COLUMN_TYPES.items()
    ]
    rules += [
        facts("delivery.record_hash_not_null", between("null_record_keys", 0, 0),
              _describe_keys("null_record_keys", "without a record key"), needs="record_hash",
              combine="sum", threshold="record key not null"),
        values(DATES, "delivery.birth_date_not_null", not_null("birth_date"), "birth_date"),
        values(ATTRIBUTES, "delivery.sex_not_null", not_null("sex"), "sex"),
        values(ATTRIBUTES, "delivery.birth_order_not_null", not_null("birth_order"), "birth_order"),
        values(AREA_CODES, "delivery.area_code_not_null", not_null("area_code"), "area_code"),
        values(ATTRIBUTES, "delivery.sex_in_codes", in_set("sex", [SEX_BOY, SEX_GIRL, SEX_UNKNOWN]), "sex"),
        values(ATTRIBUTES, "delivery.residence_status_in_set",
               in_set("residence_status", RESIDENCE_STATUSES), "residence_status"),
        values(ATTRIBUTES, "delivery.policy_status_in_set",
               in_set("policy_status", POLICY_STATUSES), "policy_status"),
        values(ATTRIBUTES, "delivery.birth_order_in_range",
               between("birth_order", 1, t.birth_order_max), "birth_order"),
        values(ATTRIBUTES, "delivery.mother_age_in_range",
               between("mother_age", t.mother_age_min, t.mother_age_max), "mother_age"),
        values(ATTRIBUTES, "delivery.plurality_in_range",
               between("plurality", 1, t.plurality_max), "plurality"),
        values(DATES, "delivery.birth_date_in_range", between("birth_date", floor_ts, asof_ts), "birth_date"),
        values(DATES, "delivery.registered_date_in_range",
               between("registered_date", floor_ts, asof_ts), "registered_date"),
        values(DATES, "delivery.registered_not_before_birth",
               lambda E: E.ExpectColumnPairValuesAToBeGreaterThanB(
                   column_A="registered_date", column_B="birth_date", or_equal=True,
                   ignore_row_if="either_value_is_missing"),
               "registered_date", "birth_date"),
        facts("delivery.record_hash_unique", between("duplicate_record_keys", 0, 0),
              _describe_keys("duplicate_record_keys", "repeat a record key of their delivery"),
              needs="record_hash", combine="sum", threshold="record key unique within its delivery"),
        # Unknown sex is a share, not a row rule: at most 1 % of a delivery's records may be U.
        facts("delivery.sex_unknown_share", between("unknown_sex_share", 0.0, t.unknown_sex_max_share),
              _describe_unknown_sex, needs="sex", combine="max"),
        values(AREA_CODES, "delivery.area_code_known", in_set("is_known_area", [True]), "area_code",
               threshold=f"area_code one of the {known_codes:,} codes of the area reference"),
        facts("delivery.quarantine_share", between("quarantine_share", 0.0, t.quarantine_max_share),
              _describe_quarantine, combine="max"),
    ]
    return rules
