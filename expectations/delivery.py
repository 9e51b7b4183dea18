"""Delivery suite: the new batch of clean records, validated in full with Great Expectations.

The loader has already quarantined rows that break a row rule; this suite looks at the
batch as a whole (shares, uniqueness, types) and re-checks the row rules as a guard against
a loader fault, since a wrong row here would reach the estimates.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import pandas as pd

from expectations.outcome import ExpectationOutcome
from expectations.runner import Check, _count, run_checks
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
        for needed, check in _batch_checks(asof, thresholds)
        if needed is None or needed <= present
    ]
    outcomes = run_checks(
        "delivery_batch", frame, checks, suppression_size=thresholds.suppression_size
    )
    if "area_code" in present:
        outcomes += _check_area_codes(frame["area_code"], known_area_codes, thresholds)
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
            f"{share:.2%} ({_count(rows_quarantined, thresholds.suppression_size)} of "
            f"{rows_read:,} rows read quarantined)",
            share,
        ),
    )
    return outcomes + run_checks(
        "delivery_load", load, [quarantine], suppression_size=thresholds.suppression_size
    )


def check_deliveries(
    batches: Mapping[str, tuple[pd.DataFrame, int, int]],
    *,
    known_area_codes: Iterable[str],
    asof: dt.date,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> list[ExpectationOutcome]:
    """The delivery suite over several deliveries in one GX pass, judged per delivery.

    ``batches`` maps a delivery's name to (clean records, rows read, rows quarantined).
    Row checks are the same on the stacked records as on each batch; the checks whose
    meaning is per delivery are made so: record_hash must be unique within a delivery
    (``delivery`` + ``record_hash``), and the unknown-sex and quarantine shares are
    computed for each delivery, so a small bad file cannot hide among large good ones.
    A failure's sample names the offending delivery where the check is per delivery;
    to know which file broke a row check, run ``check_delivery`` on each batch.

    GX costs a fixed half second or so per validation, so one pass over a night's
    deliveries is what keeps the gate fast when a backlog of files arrives at once.
    """
    names = list(batches)
    stacked = pd.concat(
        [_as_gx_frame(batches[name][0]).assign(delivery=name) for name in names], ignore_index=True
    )
    present = set(stacked.columns)
    per_delivery_names = {"delivery.record_hash_unique", "delivery.sex_unknown_share"}
    checks = [
        check
        for needed, check in _batch_checks(asof, thresholds)
        if (needed is None or needed <= present) and check.name not in per_delivery_names
    ]
    if "record_hash" in present:
        checks.append(Check(
            "delivery.record_hash_unique",
            lambda E: E.ExpectCompoundColumnsToBeUnique(column_list=["delivery", "record_hash"]),
        ))
    outcomes = run_checks("delivery_batches", stacked, checks, suppression_size=thresholds.suppression_size)
    if "area_code" in present:
        outcomes += _check_area_codes(stacked["area_code"], known_area_codes, thresholds)
    unknown_sex = (stacked["sex"] != SEX_BOY) & (stacked["sex"] != SEX_GIRL) if "sex" in present else None
    shares = pd.DataFrame({
        "delivery": names,
        "rows_read": [batches[n][1] for n in names],
        "rows_quarantined": [batches[n][2] for n in names],
    })
    shares["quarantine_share"] = shares["rows_quarantined"] / shares["rows_read"].clip(lower=1)
    shares["unknown_sex_share"] = (
        unknown_sex.groupby(stacked["delivery"]).mean().reindex(names).fillna(0.0).to_numpy()
        if unknown_sex is not None else 0.0
    )
    share_checks = [
        Check("delivery.quarantine_share",
              lambda E: E.ExpectColumnValuesToBeBetween(
                  column="quarantine_share", min_value=0.0, max_value=thresholds.quarantine_max_share),
              unit="deliveries", sample_columns=("delivery", "quarantine_share")),
        Check("delivery.sex_unknown_share",
              lambda E: E.ExpectColumnValuesToBeBetween(
                  column="unknown_sex_share", min_value=0.0, max_value=thresholds.unknown_sex_max_share),
              unit="deliveries", sample_columns=("delivery", "unknown_sex_share")),
    ]
    return outcomes + run_checks("delivery_shares", shares, share_checks,
                                 suppression_size=thresholds.suppression_size)


def _check_area_codes(
    area_codes: pd.Series, known_area_codes: Iterable[str], thresholds: Thresholds
) -> list[ExpectationOutcome]:
    """Every area code known, validated on the batch's distinct codes.

    GX's own ``expect_column_values_to_be_in_set`` copies its value set each time it reads
    its configuration: with the 2,700 codes of a city's area tree that costs a second per
    run. So pandas flags each distinct code (``is_known_area``) and GX checks the flags;
    the sample still names the unknown codes.
    """
    known = set(known_area_codes)
    counts = area_codes.value_counts(dropna=True)
    codes = pd.DataFrame(
        {"area_code": counts.index.astype(object), "records": counts.to_numpy()}
    )
    codes["is_known_area"] = codes["area_code"].isin(known)
    check = Check(
        "delivery.area_code_known",
        lambda E: E.ExpectColumnValuesToBeInSet(column="is_known_area", value_set=[True]),
        unit="distinct area codes",
        sample_columns=("area_code", "records"),
        threshold=f"area_code one of the {len(known):,} codes of the area reference",
    )
    return run_checks(
        "delivery_area_codes", codes, [check], suppression_size=thresholds.suppression_size
    )


def _batch_checks(
    asof: dt.date, thresholds: Thresholds
) -> list[tuple[frozenset[str] | None, Check]]:
    """(columns the check needs, or None for a table check; the check), in report order."""
    t = thresholds
    asof_ts = pd.Timestamp(asof)
    floor_ts = pd.Timestamp(t.birth_date_floor)

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
    ]
    return checks


def _as_gx_frame(batch: pd.DataFrame) -> pd.DataFrame:
    """The batch with its columns in the pandas dtypes GX 1.24 reads well.

    Values are unchanged; only their pandas representation moves:

    * pandas 3's default text dtype (``StringDtype(na_value=nan)``) and Arrow strings cannot
      be named in GX's type list, so text becomes ``object`` (GX then checks each value);
    * dates become ``datetime64[ns]`` (from other units, Arrow ``date32``, or ``object``
      date columns holding only ``datetime.date``): GX compares only that unit vectorised,
      and every other one value by value in Python (5 s for 5 columns of 100,000 rows);
    * integers without missing values become ``int64`` for the same reason; integers with
      missing values become pandas ``Int64``.

    A column of mixed or unexpected values is left alone, so its type check fails; so is a
    date beyond the ``datetime64[ns]`` range (years 1678-2261), which the range check
    then fails value by value.
    """
    converted: dict[str, pd.Series] = {}
    for name, column in batch.items():
        dtype = column.dtype
        arrow_type = str(getattr(dtype, "pyarrow_dtype", ""))
        if isinstance(dtype, pd.StringDtype) or arrow_type in {"string", "large_string"}:
            converted[name] = column.astype(object).where(column.notna(), None)
        elif pd.api.types.is_integer_dtype(dtype):
            converted[name] = column.astype("Int64" if column.hasnans else "int64")
        elif name in DATE_COLUMNS and _is_date_like(column):
            try:
                converted[name] = pd.to_datetime(column).astype("datetime64[ns]")
            except (OverflowError, ValueError):
                continue
    return batch.assign(**converted) if converted else batch


def _is_date_like(column: pd.Series) -> bool:
    if pd.api.types.is_datetime64_dtype(column.dtype) or str(column.dtype).startswith("date32"):
        return True
    if not pd.api.types.is_object_dtype(column.dtype):
        return False
    values = column.dropna()
    return all(isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in values)
