"""Row rules of CONTRACT §1: parse each text value, or name the rule it breaks.

Each rule is one small entry in ``ROW_RULES``: the rule's name, the column it judges,
and a Polars expression that is true where a row breaks it. A row is quarantined under
the first rule it breaks, in table order, with the offending value. Nothing is coerced:
a value that is not exactly one of the accepted forms breaks its rule.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from models.constants import SEX_BOY, SEX_GIRL, SEX_UNKNOWN
from pipeline.readers import LINE

MIN_BIRTH_DATE = dt.date(1900, 1, 1)
# Higher birth orders exist but are too rare to be anything but a keying error in a city
# registry (the Taiwanese and US registries in shared/data top-code at 8).
MAX_BIRTH_ORDER = 20
MAX_PLURALITY = 8  # octuplets are the highest recorded live-born set
MOTHER_AGE_RANGE = (12, 60)

SEX_CODES: dict[str, str] = {
    "m": SEX_BOY, "male": SEX_BOY, "男": SEX_BOY, "1": SEX_BOY,
    "f": SEX_GIRL, "female": SEX_GIRL, "女": SEX_GIRL, "2": SEX_GIRL,
    "u": SEX_UNKNOWN, "unknown": SEX_UNKNOWN, "0": SEX_UNKNOWN, "9": SEX_UNKNOWN,
}
RESIDENCE_CODES: dict[str, str] = {
    "registered": "registered", "户籍": "registered",
    "floating": "floating", "流动": "floating",
}
POLICY_CODES: dict[str, str] = {
    "within": "within", "政策内": "within",
    "outside": "outside", "政策外": "outside",
    "unknown": "unknown",
}


TYPED_COLUMNS = (
    "record_id", "birth_date", "sex", "birth_order", "area_code", "plurality",
    "registered_date", "mother_age", "residence_status", "policy_status", "facility_code",
)


def _trimmed(value: pl.Expr) -> pl.Expr:
    """The trimmed text; NULL when blank."""
    value = value.str.strip_chars()
    return pl.when(value == "").then(None).otherwise(value)


def _date(value: pl.Expr) -> pl.Expr:
    """ISO YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD (an Excel date-time at midnight too).

    Each form is tried only on values of its exact length, so "2024-3-5" is no date;
    an impossible calendar date (31 February) parses to NULL.
    """
    length = value.str.len_bytes()
    midnight = value.str.ends_with(" 00:00:00") & (length == 19)
    return pl.coalesce(
        pl.when(length == 10).then(value).str.to_date("%Y-%m-%d", strict=False),
        pl.when(length == 10).then(value).str.to_date("%Y/%m/%d", strict=False),
        pl.when(length == 8).then(value).str.to_date("%Y%m%d", strict=False),
        pl.when(midnight).then(value.str.slice(0, 10)).str.to_date("%Y-%m-%d", strict=False),
    )


def _integer(value: pl.Expr) -> pl.Expr:
    """A whole number written with digits only ("3"; "3.0" as spreadsheets write it)."""
    digits_only = value.str.contains(r"^\d+(\.0+)?$")
    return pl.when(digits_only).then(value.str.replace(r"\.0+$", "")).cast(pl.Int64, strict=False)


def _coded(codes: dict[str, str]) -> Callable[[pl.Expr], pl.Expr]:
    def decode(value: pl.Expr) -> pl.Expr:
        return value.str.to_lowercase().replace_strict(codes, default=None, return_dtype=pl.String)
    return decode


def _typed_date(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A Parquet date column as it is; a date-time only at midnight."""
    if dtype == pl.Date:
        return value
    if isinstance(dtype, pl.Datetime):
        return pl.when(value.dt.time() == dt.time(0)).then(value.dt.date())
    return pl.lit(None, pl.Date)


def _typed_integer(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A Parquet number column: non-negative whole numbers only."""
    if dtype.is_integer():
        return pl.when(value >= 0).then(value.cast(pl.Int64, strict=False))
    if dtype.is_float():
        return pl.when((value >= 0) & (value == value.floor())).then(value.cast(pl.Int64, strict=False))
    return pl.lit(None, pl.Int64)


# How each column's text is parsed; the parsed value goes to column ``p_<name>``.
_PARSERS: dict[str, Callable[[pl.Expr], pl.Expr]] = {
    "birth_date": _date, "registered_date": _date,
    "sex": _coded(SEX_CODES), "residence_status": _coded(RESIDENCE_CODES), "policy_status": _coded(POLICY_CODES),
    "birth_order": _integer, "plurality": _integer, "mother_age": _integer,
}
_TYPED_PARSERS = {"birth_date": _typed_date, "registered_date": _typed_date,
                  "birth_order": _typed_integer, "plurality": _typed_integer, "mother_age": _typed_integer}
# A text column with at most this many distinct values is trimmed and parsed once per
# distinct value and looked up per row: one pass over a million rows instead of four to
# eight string passes (dates, codes, numbers all qualify; record_id does not).
_MAX_DISTINCT = 50_000
_MIN_ROWS_FOR_DISTINCT = 50_000  # a smaller file parses faster row by row than it plans the lookups


def _column_forms(frame: pl.DataFrame, column: str) -> list[pl.Expr]:
    """Expressions on the raw column: its judged text (``column``) and, when it is parsed,
    its parsed value (``p_<column>``)."""
    dtype = frame.schema.get(column)
    raw = pl.col(column)
    parse = _PARSERS.get(column)
    if dtype is None:
        return [pl.lit(None, pl.String).alias(column)] + ([parse(pl.lit(None, pl.String)).alias(f"p_{column}")]
                                                          if parse else [])
    if dtype != pl.String and column in _TYPED_PARSERS and (dtype.is_numeric() or dtype.is_temporal()):
        return [raw, _TYPED_PARSERS[column](raw, dtype).alias(f"p_{column}")]  # Parquet, typed
    text = raw if dtype == pl.String else raw.cast(pl.String)
    forms = [_trimmed(text).alias(column)] + ([parse(_trimmed(text)).alias(f"p_{column}")] if parse else [])
    if column == "record_id" or dtype != pl.String or frame.height < _MIN_ROWS_FOR_DISTINCT:
        return forms
    distinct = frame[column].drop_nulls().unique()
    if distinct.len() > _MAX_DISTINCT:
        return forms
    table = pl.DataFrame({column: distinct}).with_columns(forms)  # the forms of each distinct value
    return [_lookup(raw, distinct, table[form.meta.output_name()])
            .alias(form.meta.output_name()) for form in forms]


def _lookup(raw: pl.Expr, keys: pl.Series, values: pl.Series) -> pl.Expr:
    """``raw`` mapped through keys -> values (NULL stays NULL); ``raw`` itself when the
    mapping changes nothing."""
    if values.dtype == keys.dtype and keys.equals(values, null_equal=True):
        return raw
    return raw.replace_strict(keys, values, default=None, return_dtype=values.dtype)


@dataclass(frozen=True)
class RowRule:
    name: str
    column: str
    broken: pl.Expr  # true where the row breaks the rule (evaluated on parsed columns)


def row_rules(today: dt.date, leaf_areas: pl.Series, known_areas: pl.Series) -> tuple[RowRule, ...]:
    """The rules in the order they are judged.

    Rules see the trimmed text of each column (NULL when blank) and, in ``p_*`` columns,
    the parsed values.
    """
    def present(column: str) -> pl.Expr:
        return pl.col(column).is_not_null()

    def between(column: str, low: int, high: int) -> pl.Expr:
        return (pl.col(column) < low) | (pl.col(column) > high)

    return (
        RowRule("missing_record_id", "record_id", ~present("record_id")),
        RowRule("invalid_birth_date", "birth_date", pl.col("p_birth_date").is_null()),
        RowRule("birth_date_before_1900", "birth_date", pl.col("p_birth_date") < MIN_BIRTH_DATE),
        RowRule("birth_date_in_future", "birth_date", pl.col("p_birth_date") > today),
        RowRule("invalid_sex", "sex", pl.col("p_sex").is_null()),
        RowRule("invalid_birth_order", "birth_order",
                pl.col("p_birth_order").is_null() | between("p_birth_order", 1, MAX_BIRTH_ORDER)),
        RowRule("unknown_area", "area_code",
                ~pl.col("area_code").is_in(known_areas.implode()) | ~present("area_code")),
        RowRule("area_not_lowest_level", "area_code", ~pl.col("area_code").is_in(leaf_areas.implode())),
        RowRule("invalid_plurality", "plurality",
                present("plurality") & (pl.col("p_plurality").is_null()
                                        | between("p_plurality", 1, MAX_PLURALITY))),
        RowRule("invalid_registered_date", "registered_date",
                present("registered_date") & pl.col("p_registered_date").is_null()),
        RowRule("registered_before_birth", "registered_date",
                pl.col("p_registered_date") < pl.col("p_birth_date")),
        RowRule("registered_date_in_future", "registered_date", pl.col("p_registered_date") > today),
        RowRule("invalid_mother_age", "mother_age",
                present("mother_age") & (pl.col("p_mother_age").is_null()
                                         | between("p_mother_age", *MOTHER_AGE_RANGE))),
        RowRule("invalid_residence_status", "residence_status",
                present("residence_status") & pl.col("p_residence_status").is_null()),
        RowRule("invalid_policy_status", "policy_status",
                present("policy_status") & pl.col("p_policy_status").is_null()),
    )


@dataclass(frozen=True)
class JudgedRows:
    clean: pl.DataFrame        # TYPED_COLUMNS (record_id still in clear) + LINE
    quarantined: pl.DataFrame  # LINE, rule, column_name, value, record_id


def judge_rows(frame: pl.DataFrame, rules: tuple[RowRule, ...]) -> JudgedRows:
    """Split renamed text rows into clean typed rows and quarantined rows with reasons.

    ``frame`` has contract column names (optional ones may be absent) and LINE.
    A repeat of a record_id inside the file keeps the last line; earlier lines with
    identical values are merged silently, earlier lines that differ are quarantined
    as ``duplicate_in_file``. One lazy query parses and judges every column.
    """
    # index of the first broken rule, NULL for a clean row
    first_broken = pl.coalesce(
        pl.when(rule.broken.fill_null(False)).then(pl.lit(i, pl.UInt8)) for i, rule in enumerate(rules)
    )
    judged = (
        frame.lazy()
        .with_columns(form for column in TYPED_COLUMNS for form in _column_forms(frame, column))
        .with_columns(rule_index=first_broken)
        .collect()
    )
    broken = judged.filter(pl.col("rule_index").is_not_null())
    names = {i: rule.name for i, rule in enumerate(rules)}
    columns = {i: rule.column for i, rule in enumerate(rules)}
    broken_rows = broken.select(
        LINE,
        pl.col("rule_index").replace_strict(names, return_dtype=pl.String).alias("rule"),
        pl.col("rule_index").replace_strict(columns, return_dtype=pl.String).alias("column_name"),
        # the offending value: the judged column of the rule each row broke, as text
        pl.coalesce(pl.when(pl.col("rule_index") == i).then(pl.col(rule.column).cast(pl.String))
                    for i, rule in enumerate(rules)).alias("value"),
        "record_id",
    )
    clean = judged.filter(pl.col("rule_index").is_null()).select(
        "record_id",
        pl.col("p_birth_date").alias("birth_date"),
        pl.col("p_sex").alias("sex"),
        pl.col("p_birth_order").cast(pl.Int32).alias("birth_order"),
        "area_code",
        pl.col("p_plurality").fill_null(1).cast(pl.Int32).alias("plurality"),
        pl.col("p_registered_date").alias("registered_date"),
        pl.col("p_mother_age").cast(pl.Int32).alias("mother_age"),
        pl.col("p_residence_status").alias("residence_status"),
        pl.col("p_policy_status").alias("policy_status"),
        "facility_code",
        pl.col(LINE),
    )
    clean, duplicates = _resolve_repeats(clean)
    quarantined = pl.concat([broken_rows, duplicates], how="vertical_relaxed").sort(LINE)
    return JudgedRows(clean=clean, quarantined=quarantined)


def _resolve_repeats(clean: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    # a cheap 64-bit hash finds the candidates; only they are compared as text
    maybe_repeated = clean["record_id"].hash(seed=0).is_duplicated()
    if not maybe_repeated.any():  # the usual delivery: nothing to resolve
        return clean, _NO_DUPLICATES
    candidates = clean["record_id"].filter(maybe_repeated)
    is_repeated = maybe_repeated & clean["record_id"].is_in(candidates.filter(candidates.is_duplicated()).implode())
    values = [c for c in TYPED_COLUMNS if c != "record_id"]
    repeated = clean.filter(is_repeated).with_columns(content=pl.struct(values).hash(seed=0))
    last = repeated.group_by("record_id").agg(
        pl.col(LINE).max().alias("last_line"), pl.col("content").sort_by(LINE).last().alias("last_content"))
    judged = repeated.join(last, on="record_id")
    earlier = judged.filter(pl.col(LINE) != pl.col("last_line"))
    differing = earlier.filter(pl.col("content") != pl.col("last_content")).select(
        LINE,
        pl.lit("duplicate_in_file").alias("rule"),
        pl.lit("record_id").alias("column_name"),
        pl.lit(None, pl.String).alias("value"),  # the value is the identifier: never kept
        "record_id",
    )
    kept = clean.filter(~is_repeated | ~pl.col(LINE).is_in(earlier[LINE].implode()))
    return kept, differing


_NO_DUPLICATES = pl.DataFrame(schema={LINE: pl.Int64, "rule": pl.String, "column_name": pl.String,
                                      "value": pl.String, "record_id": pl.String})
