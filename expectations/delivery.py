"""Delivery suite: the new batch of clean records, validated in full with Great Expectations.

The loader has already quarantined rows that break a row rule; this suite looks at the
batch as a whole (shares, uniqueness, types) and re-checks the row rules as a guard against
a loader fault, since a wrong row here would reach the estimates.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd

from expectations.outcome import ExpectationOutcome
from expectations.runner import Check, run_checks
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
DATE_COLUMNS = frozenset({"birth_date", "registered_date"})

# Type names GX 1.24 understands for pandas columns (see _as_gx_frame for why text and
# dates are re-expressed first).
TEXT_TYPES = ["str"]
DATE_TYPES = ["datetime64[s]", "datetime64[ms]", "datetime64[us]", "datetime64[ns]"]
INTEGER_TYPES = ["int8", "int16", "int32", "int64", "Int8Dtype", "Int16Dtype", "Int32Dtype",
                 "Int64Dtype"]
NUMBER_TYPES = [*INTEGER_TYPES, "float32", "float64", "Float32Dtype", "Float64Dtype"]

COLUMN_TYPES: dict[str, tuple[str, list[str]]] = {
    "record_hash": ("delivery.record_hash_is_text", TEXT_TYPES),
    "birth_date": ("delivery.birth_date_is_date", DATE_TYPES),
    "sex": ("delivery.sex_is_text", TEXT_TYPES),
    "birth_order": ("delivery.birth_order_is_integer", INTEGER_TYPES),
    "area_code": ("delivery.area_code_is_text", TEXT_TYPES),
    "registered_date": ("delivery.registered_date_is_date", DATE_TYPES),
    "plurality": ("delivery.plurality_is_integer", INTEGER_TYPES),
    # A nullable integer column arrives as float64 through Polars' to_pandas.
    "mother_age": ("delivery.mother_age_is_number", NUMBER_TYPES),
}


def check_delivery(
    batch: pd.DataFrame,
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
    batch : the delivery's loaded rows with the columns of the ``births`` table
        (record_hash, birth_date, sex, birth_order, area_code; optional columns are
        checked when present). Not modified.
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
    >>> frame = pd.DataFrame({"record_hash": ["a1", "b2"], "area_code": ["110101", "110101"],
    ...     "birth_date": pd.to_datetime(["2024-01-02", "2024-01-03"]), "sex": ["M", "F"],
    ...     "birth_order": [1, 2]})
    >>> outcomes = check_delivery(frame, known_area_codes={"110101"},
    ...     asof=dt.date(2024, 2, 1), rows_read=2, rows_quarantined=0)
    >>> all(outcome.success for outcome in outcomes)
    True
    """
    frame = _as_gx_frame(batch)
    present = set(frame.columns)
    checks = [
        check
        for needed, check in _batch_checks(known_area_codes, asof, thresholds)
        if needed is None or needed <= present
    ]
    outcomes = run_checks(
        "delivery_batch", frame, checks, suppression_size=thresholds.suppression_size
    )
    share = rows_quarantined / rows_read if rows_read > 0 else 0.0
    load = pd.DataFrame(
        {
            "rows_read": [rows_read],
            "rows_quarantined": [rows_quarantined],
            "quarantine_share": [share],
        }
    )
    quarantine = Check(
        "delivery.quarantine_share",
        lambda E: E.ExpectColumnValuesToBeBetween(
            column="quarantine_share", min_value=0.0, max_value=thresholds.quarantine_max_share
        ),
        unit="deliveries",
        summarise=lambda f: (
            f"{share:.2%} ({rows_quarantined:,} of {rows_read:,} rows read)",
            share,
        ),
    )
    return outcomes + run_checks(
        "delivery_load", load, [quarantine], suppression_size=thresholds.suppression_size
    )


def _batch_checks(
    known_area_codes: Iterable[str], asof: dt.date, thresholds: Thresholds
) -> list[tuple[frozenset[str] | None, Check]]:
    """(columns the check needs, or None for a table check; the check), in report order."""
    t = thresholds
    asof_ts = pd.Timestamp(asof)
    floor_ts = pd.Timestamp(t.birth_date_floor)
    known = sorted(set(known_area_codes))

    def needs(*columns: str) -> frozenset[str]:
        return frozenset(columns)

    checks: list[tuple[frozenset[str] | None, Check]] = [
        (
            None,
            Check(
                "delivery.columns_present",
                lambda E: E.ExpectTableColumnsToMatchSet(
                    column_set=list(REQUIRED_COLUMNS), exact_match=False
                ),
            ),
        )
    ]
    for column, (name, types) in COLUMN_TYPES.items():
        checks.append(
            (
                needs(column),
                Check(
                    name,
                    lambda E, column=column, types=types: E.ExpectColumnValuesToBeInTypeList(
                        column=column, type_list=types
                    ),
                ),
            )
        )
    for column in REQUIRED_COLUMNS:
        checks.append(
            (
                needs(column),
                Check(
                    f"delivery.{column}_not_null",
                    lambda E, column=column: E.ExpectColumnValuesToNotBeNull(column=column),
                ),
            )
        )
    checks += [
        (needs("sex"), Check(
            "delivery.sex_in_codes",
            lambda E: E.ExpectColumnValuesToBeInSet(
                column="sex", value_set=[SEX_BOY, SEX_GIRL, SEX_UNKNOWN]
            ),
        )),
        (needs("residence_status"), Check(
            "delivery.residence_status_in_set",
            lambda E: E.ExpectColumnValuesToBeInSet(
                column="residence_status", value_set=list(RESIDENCE_STATUSES)
            ),
        )),
        (needs("policy_status"), Check(
            "delivery.policy_status_in_set",
            lambda E: E.ExpectColumnValuesToBeInSet(
                column="policy_status", value_set=list(POLICY_STATUSES)
            ),
        )),
        (needs("birth_order"), Check(
            "delivery.birth_order_in_range",
            lambda E: E.ExpectColumnValuesToBeBetween(
                column="birth_order", min_value=1, max_value=t.birth_order_max
            ),
        )),
        (needs("mother_age"), Check(
            "delivery.mother_age_in_range",
            lambda E: E.ExpectColumnValuesToBeBetween(
                column="mother_age", min_value=t.mother_age_min, max_value=t.mother_age_max
            ),
        )),
        (needs("plurality"), Check(
            "delivery.plurality_in_range",
            lambda E: E.ExpectColumnValuesToBeBetween(
                column="plurality", min_value=1, max_value=t.plurality_max
            ),
        )),
        # Timestamps, not dates: GX 1.24 compares a datetime64 column with a datetime.date
        # by raising, which would fail the check for the wrong reason.
        (needs("birth_date"), Check(
            "delivery.birth_date_in_range",
            lambda E: E.ExpectColumnValuesToBeBetween(
                column="birth_date", min_value=floor_ts, max_value=asof_ts
            ),
        )),
        (needs("registered_date"), Check(
            "delivery.registered_date_in_range",
            lambda E: E.ExpectColumnValuesToBeBetween(
                column="registered_date", min_value=floor_ts, max_value=asof_ts
            ),
        )),
        (needs("registered_date", "birth_date"), Check(
            "delivery.registered_not_before_birth",
            lambda E: E.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="registered_date", column_B="birth_date", or_equal=True,
                ignore_row_if="either_value_is_missing",
            ),
        )),
        (needs("record_hash"), Check(
            "delivery.record_hash_unique",
            lambda E: E.ExpectColumnValuesToBeUnique(column="record_hash"),
        )),
        # Unknown sex is a share, not a row rule: at most 1 % of records may be U.
        (needs("sex"), Check(
            "delivery.sex_unknown_share",
            lambda E: E.ExpectColumnValuesToBeInSet(
                column="sex", value_set=[SEX_BOY, SEX_GIRL],
                mostly=1.0 - t.unknown_sex_max_share,
            ),
        )),
        (needs("area_code"), Check(
            "delivery.area_code_known",
            lambda E: E.ExpectColumnValuesToBeInSet(column="area_code", value_set=known),
        )),
    ]
    return checks


def _as_gx_frame(batch: pd.DataFrame) -> pd.DataFrame:
    """The batch with text, date and Arrow-backed integer columns in dtypes GX 1.24 reads.

    Values are unchanged; only their pandas representation moves:

    * pandas 3's default text dtype (``StringDtype(na_value=nan)``) and Arrow strings cannot
      be named in GX's type list, so text becomes ``object`` (GX then checks each value);
    * Arrow ``date32`` columns, and date columns of ``object`` dtype holding only
      ``datetime.date`` values, become ``datetime64[us]``, which the range checks can
      compare with a timestamp;
    * Arrow integers become pandas nullable integers.

    A column of mixed or unexpected values is left alone, so its type check fails.
    """
    converted: dict[str, pd.Series] = {}
    for name, column in batch.items():
        dtype = column.dtype
        arrow_type = getattr(dtype, "pyarrow_dtype", None)
        if isinstance(dtype, pd.StringDtype) or (
            arrow_type is not None and str(arrow_type) in {"string", "large_string"}
        ):
            converted[name] = column.astype(object).where(column.notna(), None)
        elif arrow_type is not None and str(arrow_type).startswith("date32"):
            converted[name] = column.astype("datetime64[us]")
        elif arrow_type is not None and str(arrow_type).startswith(("int", "uint")):
            converted[name] = column.astype("Int64")
        elif name in DATE_COLUMNS and pd.api.types.is_object_dtype(dtype) and _holds_only_dates(column):
            converted[name] = pd.to_datetime(column).astype("datetime64[us]")
    return batch.assign(**converted) if converted else batch


def _holds_only_dates(column: pd.Series) -> bool:
    values = column.dropna()
    return all(isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in values)
