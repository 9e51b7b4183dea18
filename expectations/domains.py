"""The delivery suite's input: each batch reduced, in Polars, to the distinct values it holds.

Every row expectation of the delivery suite is zero-tolerance on one value or one pair of
values (in a set, between two bounds, not null, A >= B): a row breaks it exactly when its
value does. So the expectation holds on all rows exactly when it holds on the *distinct*
values present, and the rows that break it are the rows carrying an offending value. Each
batch is therefore grouped by its checked columns, one row per distinct value combination
with a ``records`` count (how many rows carry it) and a ``delivery`` name, and Great
Expectations validates these small frames: a few thousand rows for a million records.
NULL is kept as a value of its own, so not-null checks still see it. Offending records are
the sum of ``records`` over the offending rows, so counts stay counts of births.

What is not a row rule is computed per delivery here and checked by GX on a frame of one
row per delivery: the column types (Polars dtype names), the missing required columns, the
record-key counts and the unknown-sex and quarantine shares. Record keys never leave
Polars: a 64-hex ``record_hash`` String or the ``record_hash_hi`` / ``record_hash_lo``
UInt64 halves of it are only counted (rows without a key, rows repeating a key).

Costs, measured on 2 cores (bench/gate.py, 10 million records in 10 deliveries): Polars
spends ~1 CPU second (0.1 µs a record, half of it on the six-column grouping; ~0.5 s of wall
clock on two free cores), and the domain frames stay small (~25,000 attribute tuples,
~120,000 date pairs, 3,000 area codes), so GX's cost is its cost per expectation, ~0.35 s a
chunk, however many records the chunk holds.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import polars as pl

from models.constants import SEX_BOY, SEX_GIRL

KEY_PREFIX = "record_hash"
# Accepted record-key layouts, as ``key_layout`` names them.
KEY_LAYOUTS: tuple[str, ...] = (
    "record_hash: String",
    "record_hash_hi: UInt64, record_hash_lo: UInt64",
)
ATTRIBUTE_COLUMNS: tuple[str, ...] = (
    "sex", "birth_order", "plurality", "mother_age", "residence_status", "policy_status",
)
DATE_COLUMNS: tuple[str, ...] = ("birth_date", "registered_date")
AREA_COLUMN = "area_code"
TYPED_COLUMNS: tuple[str, ...] = (
    "birth_date", "sex", "birth_order", "area_code", "registered_date", "plurality", "mother_age",
)
# datetime64[ns] holds 1677-09-21 .. 2262-04-11; GX compares that unit vectorised.
NANOSECOND_RANGE = (dt.date(1678, 1, 1), dt.date(2261, 12, 31))


@dataclass(frozen=True)
class DomainFrames:
    """What GX validates for a chunk of deliveries; each frame has a ``delivery`` column.

    deliveries : one row per delivery, in the order given: records, rows_read,
        rows_quarantined, quarantine_share, missing_columns (text or None),
        null_record_keys, duplicate_record_keys, unknown_sex_records, unknown_sex_share,
        record_hash_type and
        ``<column>_type`` (Polars dtype names; None where the column is absent).
    attributes, dates, area_codes : distinct value combinations with ``records``; None when
        no delivery has any of their columns. area_codes also holds ``is_known_area``.
    columns : the columns present in at least one delivery (the record key as record_hash).
    """

    deliveries: pd.DataFrame
    attributes: pd.DataFrame | None
    dates: pd.DataFrame | None
    area_codes: pd.DataFrame | None
    columns: frozenset[str]


def key_columns(batch: pl.DataFrame) -> list[str]:
    """The record-key columns of a batch: those whose name starts with ``record_hash``."""
    return sorted(name for name in batch.columns if name.startswith(KEY_PREFIX))


def key_layout(batch: pl.DataFrame) -> str | None:
    """The batch's record-key columns and dtypes in one line, or None when it has none.

    >>> key_layout(pl.DataFrame({"record_hash_lo": [1], "record_hash_hi": [2]},
    ...     schema={"record_hash_lo": pl.UInt64, "record_hash_hi": pl.UInt64}))
    'record_hash_hi: UInt64, record_hash_lo: UInt64'
    """
    keys = key_columns(batch)
    return ", ".join(f"{name}: {batch.schema[name]}" for name in keys) or None


def domain_frames(
    batches: Mapping[str, tuple[pl.DataFrame, int, int]],
    *,
    required_columns: Sequence[str],
    known_area_codes: Iterable[str],
) -> DomainFrames:
    """Reduce each delivery to its per-delivery facts and distinct values (module doc).

    ``batches`` maps a delivery's name to (clean records, rows read, rows quarantined).
    The groupings of every delivery run in one ``collect_all``, on every core; small
    deliveries are stacked and grouped together (``_groups``).
    """
    names = list(batches)
    groups = _groups(batches)
    planned = [_queries(group, [batches[name][0] for name in group]) for group in groups]
    collected = iter(pl.collect_all([query for queries in planned for query in queries.values()]))
    results = [{part: next(collected) for part in queries} for queries in planned]
    stacked = {
        part: _stacked([result[part] for result in results if part in result])
        for part in ("attributes", "dates", "area_codes")
    }
    probes: dict[str, pl.Series] = {}
    for group, result in zip(groups, results, strict=True):
        offset = 0
        for name in group:  # the group's probes, delivery after delivery
            probes[name] = result["probes"]["probe"].slice(offset, batches[name][0].height)
            offset += batches[name][0].height
    # numpy's sort releases the GIL: the deliveries' key probes sort on every core at once.
    with ThreadPoolExecutor(max_workers=pl.thread_pool_size()) as pool:
        keys = dict(zip(names, pool.map(lambda name: _key_counts(batches[name][0], probes[name]), names),
                        strict=True))
    facts = [_facts(name, *batches[name], keys[name], required_columns) for name in names]
    columns = frozenset(
        KEY_PREFIX if column.startswith(KEY_PREFIX) else column
        for batch, _, _ in batches.values()
        for column in batch.columns
    )
    return DomainFrames(
        deliveries=_as_gx_frame(_with_unknown_sex(pl.DataFrame(facts, infer_schema_length=None),
                                                  stacked["attributes"])),
        attributes=_as_gx_frame(stacked["attributes"]),
        dates=_as_gx_frame(stacked["dates"]),
        area_codes=_as_gx_frame(_known_areas(stacked["area_codes"], known_area_codes)),
        columns=columns,
    )


# Deliveries smaller than this are stacked and grouped together, up to about this many rows:
# Polars spends ~4 ms planning and scheduling each query, which a thousand small files would
# pay thousands of times; a delivery of its own is grouped without a delivery key, which is
# cheaper per row (measured: 1.0 against 1.4 CPU seconds for 10 deliveries of a million).
GROUP_ROWS = 500_000


def _groups(batches: Mapping[str, tuple[pl.DataFrame, int, int]]) -> list[list[str]]:
    """The deliveries in order, cut into groups of about GROUP_ROWS rows (a larger delivery
    makes a group of its own)."""
    groups: list[list[str]] = []
    rows = 0
    for name, (batch, _, _) in batches.items():
        if not groups or rows + batch.height > GROUP_ROWS:
            groups.append([])
            rows = 0
        groups[-1].append(name)
        rows += batch.height
    return groups


def _queries(group: list[str], frames: list[pl.DataFrame]) -> dict[str, pl.LazyFrame]:
    """The lazy queries of a group of deliveries: each domain their columns reach, grouped,
    and the record-key probes of their rows, in order (``_probe``)."""
    if len(frames) == 1:
        lazy, by = frames[0].lazy(), []
    else:
        lazy = pl.concat(
            [frame.lazy().with_columns(delivery=pl.lit(name, dtype=pl.String))
             for name, frame in zip(group, frames, strict=True)],
            how="diagonal_relaxed",
        )
        by = ["delivery"]
    present_anywhere = {column for frame in frames for column in frame.columns}
    queries = {"probes": pl.concat([frame.lazy().select(probe=_probe(frame)) for frame in frames])}
    for part, columns in (("attributes", ATTRIBUTE_COLUMNS), ("dates", DATE_COLUMNS),
                          ("area_codes", (AREA_COLUMN,))):
        present = [column for column in columns if column in present_anywhere]
        if not present:
            continue
        if present == list(DATE_COLUMNS) and _are_whole_dates(frames):
            counted = _date_pairs(lazy, by)
        else:
            counted = lazy.group_by(by + present).agg(records=pl.len())
        queries[part] = counted if by else counted.with_columns(delivery=pl.lit(group[0], dtype=pl.String))
    return queries


def _probe(frame: pl.DataFrame) -> pl.Expr:
    """Each row's record-key *probe*: the first key column if it is UInt64, else its hash;
    NULL where the key is incomplete (or the frame has no key column)."""
    keys = key_columns(frame)
    if not keys:
        return pl.repeat(None, pl.len(), dtype=pl.UInt64)
    first = pl.col(keys[0])
    probe = first if frame.schema[keys[0]] == pl.UInt64 else first.hash()
    if any(frame[key].null_count() for key in keys):
        return pl.when(pl.all_horizontal(pl.col(keys).is_not_null())).then(probe)
    return probe


def _are_whole_dates(frames: list[pl.DataFrame]) -> bool:
    """Whether every frame has both date columns as Date without NULL (``_date_pairs``)."""
    return all(
        column in frame.columns and frame.schema[column] == pl.Date and not frame[column].null_count()
        for frame in frames for column in DATE_COLUMNS
    )


def _date_pairs(lazy: pl.LazyFrame, by: list[str]) -> pl.LazyFrame:
    """Distinct (birth_date, registered_date) pairs with their records, grouped on one Int64.

    Grouping on one integer costs half of grouping on two columns. A Date is an Int32 of
    days, so birth * 2^32 + (registered + 2^31) is a one-to-one Int64 code and floor
    division and remainder give both back. Only for Date columns without NULL
    (``_are_whole_dates``); otherwise the caller groups on the columns themselves.
    """
    birth, registered = DATE_COLUMNS
    pair = pl.col(birth).cast(pl.Int64) * 2**32 + pl.col(registered).cast(pl.Int64) + 2**31
    return (
        lazy.group_by(*by, pair.alias("pair"))
        .agg(records=pl.len())
        .select(
            *by,
            (pl.col("pair") // 2**32).cast(pl.Int32).cast(pl.Date).alias(birth),
            (pl.col("pair") % 2**32 - 2**31).cast(pl.Int32).cast(pl.Date).alias(registered),
            "records",
        )
    )


def _key_counts(batch: pl.DataFrame, probe: pl.Series) -> tuple[int | None, int | None]:
    """(rows without a complete record key, rows repeating an earlier key) of one batch, or
    (None, None) when it has no key column; ``probe`` holds its rows' probes (``_probe``).

    When no two rows share a probe, no two share a key: the usual answer, from one sort of
    a UInt64 column (numpy sorts a million in ~10 ms, a quarter of what counting distinct
    values in Polars costs). Only when probes repeat (a duplicate, or a 64-bit hash
    collision) are the keys themselves counted.
    """
    keys = key_columns(batch)
    if not keys:
        return None, None
    incomplete = probe.null_count()
    values = np.sort((probe.drop_nulls() if incomplete else probe).to_numpy())
    duplicates = 0
    if (values[1:] == values[:-1]).any():
        complete = batch.filter(pl.all_horizontal(pl.col(keys).is_not_null()))
        duplicates = complete.height - complete.select(pl.struct(keys).n_unique()).item()
    return incomplete, duplicates


def _facts(
    name: str,
    batch: pl.DataFrame,
    rows_read: int,
    rows_quarantined: int,
    keys: tuple[int | None, int | None],
    required_columns: Sequence[str],
) -> dict[str, object]:
    """The one-row-per-delivery facts of one batch but its unknown sex (``_with_unknown_sex``)."""
    present = {KEY_PREFIX if c.startswith(KEY_PREFIX) else c for c in batch.columns}
    missing = [column for column in required_columns if column not in present]
    null_keys, duplicate_keys = keys
    return {
        "delivery": name,
        "records": batch.height,
        "rows_read": rows_read,
        "rows_quarantined": rows_quarantined,
        "quarantine_share": rows_quarantined / rows_read if rows_read > 0 else 0.0,
        "has_sex": "sex" in batch.columns,
        "missing_columns": ", ".join(missing) or None,
        "null_record_keys": null_keys,
        "duplicate_record_keys": duplicate_keys,
        "record_hash_type": key_layout(batch),
        **{
            f"{column}_type": str(batch.schema[column]) if column in batch.columns else None
            for column in TYPED_COLUMNS
        },
    }


def _with_unknown_sex(facts: pl.DataFrame, attributes: pl.DataFrame | None) -> pl.DataFrame:
    """The facts with each delivery's records of unknown sex (U, another code, or NULL) and
    their share; NULL for a delivery without a sex column."""
    unknown = pl.DataFrame(schema={"delivery": pl.String, "unknown_sex_records": pl.Int64})
    if attributes is not None and "sex" in attributes.columns:
        is_known = pl.col("sex").cast(pl.String).is_in([SEX_BOY, SEX_GIRL]).fill_null(False)
        unknown = attributes.filter(~is_known).group_by(pl.col("delivery").cast(pl.String)).agg(
            unknown_sex_records=pl.col("records").sum().cast(pl.Int64))
    has_sex = pl.col("has_sex")
    records = pl.col("unknown_sex_records").fill_null(0)
    return facts.join(unknown, on="delivery", how="left", maintain_order="left").with_columns(
        unknown_sex_records=pl.when(has_sex).then(records),
        unknown_sex_share=pl.when(has_sex).then(records / pl.max_horizontal(pl.col("records"), 1)),
    ).drop("has_sex")


def _stacked(parts: list[pl.DataFrame]) -> pl.DataFrame | None:
    """The deliveries' domain rows in one frame, NULL where a delivery lacks a column.

    Deliveries that disagree on a column's type meet in the common supertype (text, at
    worst); their type checks name them, and value checks on the mixed column fail closed.
    ``delivery`` becomes categorical: GX fingerprints every frame it is given by hashing
    all its values, and hashing a repeated file name as text costs more than the checks.
    """
    if not parts:
        return None
    return pl.concat(parts, how="diagonal_relaxed").with_columns(pl.col("delivery").cast(pl.Categorical))


def _known_areas(codes: pl.DataFrame | None, known_area_codes: Iterable[str]) -> pl.DataFrame | None:
    """The distinct area codes with ``is_known_area`` (None for a NULL code).

    GX's own ``expect_column_values_to_be_in_set`` copies its value set each time it reads
    its configuration: with the 2,700 codes of a city's area tree that costs a second per
    run. So Polars flags each distinct code and GX checks the flags.
    """
    if codes is None:
        return None
    known = pl.Series(list(known_area_codes), dtype=pl.String)
    code = pl.col(AREA_COLUMN).cast(pl.String)
    return codes.with_columns(
        is_known_area=pl.when(code.is_null()).then(None).otherwise(code.is_in(known.implode()))
    )


def _as_gx_frame(frame: pl.DataFrame | None) -> pd.DataFrame | None:
    """A small Polars frame as the pandas frame GX 1.24 reads well, values unchanged.

    * text becomes ``object`` holding ``str`` and None: pandas 3's default text dtype and
      Arrow strings cannot be named in GX's type lists, and GX checks object values as such;
    * integers become ``int64``, or pandas ``Int64`` when they hold NULL (not float64);
    * dates become ``datetime64[ns]``, the one date unit GX compares vectorised, or
      ``datetime64[us]`` for a date beyond the nanosecond range (years 1678-2261), which GX
      then compares value by value (slow, but only for a broken batch);
    * booleans holding NULL become ``object`` (True, False, None);
    * categorical text stays ``category`` (only the ``delivery`` column, which no check reads).

    >>> _as_gx_frame(pl.DataFrame({"sex": ["M", None], "birth_order": [1, None]})).dtypes.tolist()
    [dtype('O'), Int64Dtype()]
    """
    if frame is None:
        return None
    return pd.DataFrame(
        {series.name: _as_gx_series(series) for series in frame.iter_columns()},
        index=pd.RangeIndex(frame.height),
    )


def _as_gx_series(series: pl.Series) -> pd.Series | np.ndarray:
    dtype = series.dtype
    has_nulls = series.null_count() > 0
    if dtype == pl.String or (dtype == pl.Boolean and has_nulls):
        return pd.Series(series.to_list(), dtype=object)
    if dtype.is_integer():
        wide = pl.UInt64 if dtype == pl.UInt64 else pl.Int64  # UInt64 would overflow Int64
        if has_nulls:
            return pd.Series(series.to_list(), dtype=str(wide))
        return series.cast(wide).to_numpy()
    if dtype == pl.Date or (dtype == pl.Datetime and getattr(dtype, "time_zone", None) is None):
        low, high = series.min(), series.max()
        first, last = NANOSECOND_RANGE
        in_range = low is None or (_as_date(low) >= first and _as_date(high) <= last)
        return series.cast(pl.Datetime("ns" if in_range else "us")).to_numpy()
    return series.to_pandas()


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value
