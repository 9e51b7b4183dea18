"""Read one delivery file into a table of text columns with editor line numbers.

CSV encodings are detected, not configured: UTF-8 with BOM, UTF-8, then GB18030, each
tried strictly; anything else is refused. Every value is kept as text here so that the
row rules (pipeline/rules.py) see exactly what the file said; only Parquet dates and
numbers keep the type the file gave them.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline.errors import DeliveryRefused

LINE = "__line"  # editor line of each record: the header is line 1

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class RawDelivery:
    frame: pl.DataFrame  # every source column as String (Parquet: dates and numbers typed), plus LINE
    encoding: str


def read_delivery(path: Path, data: bytes) -> RawDelivery:
    """Parse a CSV, Parquet or XLSX delivery from its bytes (read once by the loader, which
    also hashes them); raise DeliveryRefused if it cannot be read. ``path`` names the format."""
    suffix = path.suffix.lower()
    reader = _READERS.get(suffix)
    if reader is None:
        raise DeliveryRefused("unsupported_format", f"file type {suffix or '(none)'} is not CSV, Parquet or XLSX")
    raw = reader(data)
    if raw.frame.height == 0:
        raise DeliveryRefused("empty_file", "the file holds no records", line=2)
    return raw


def detect_encoding(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes; return ``(text, encoding name)``.

    >>> detect_encoding("性别\\n男\\n".encode("gb18030"))[1]
    'gb18030'
    >>> detect_encoding(b"\\xef\\xbb\\xbfsex\\nM\\n")
    ('sex\\nM\\n', 'utf-8-sig')
    """
    if data.startswith(_UTF8_BOM):
        return _strict(data[len(_UTF8_BOM):], "utf-8"), "utf-8-sig"
    if data.startswith(_UTF16_BOMS) or b"\x00" in data[:4096]:
        raise DeliveryRefused("unknown_encoding", "UTF-16 or binary content; expected UTF-8 or GB18030", line=1)
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError:
            line = data.count(b"\n", 0, utf8_error.start) + 1
            raise DeliveryRefused(
                "unknown_encoding", "bytes that are neither UTF-8 nor GB18030", line=line
            ) from None


def _strict(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise DeliveryRefused("unknown_encoding", f"invalid {encoding} bytes", line=line) from None


def _read_csv(data: bytes) -> RawDelivery:
    if not data.strip():
        raise DeliveryRefused("empty_file", "the file is empty", line=1)
    text, encoding = detect_encoding(data)
    payload = data if encoding == "utf-8" else text.encode("utf-8")
    try:
        frame = pl.read_csv(
            io.BytesIO(payload),
            infer_schema=False,
            empty_string_is_null=True,
            raise_if_empty=True,
        )
    except (pl.exceptions.PolarsError, OSError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DeliveryRefused("unparseable", f"not a readable CSV table: {first}") from None
    return RawDelivery(_with_csv_lines(frame, may_quote_newlines=b'"' in payload), encoding)


def _with_csv_lines(frame: pl.DataFrame, *, may_quote_newlines: bool = True) -> pl.DataFrame:
    """Number records as an editor would, counting newlines inside quoted fields (a file
    without a quote character has none)."""
    if frame.width == 0:
        return frame.with_columns(pl.lit(None, pl.Int64).alias(LINE))
    if not may_quote_newlines:
        return frame.with_columns((pl.int_range(pl.len(), dtype=pl.Int64) + 2).alias(LINE))
    embedded = pl.sum_horizontal(
        pl.col(c).str.count_matches("\n", literal=True).fill_null(0) for c in frame.columns
    )
    line = pl.int_range(pl.len(), dtype=pl.Int64) + 2 + embedded.cum_sum().shift(1, fill_value=0)
    return frame.with_columns(line.alias(LINE))


def _read_parquet(data: bytes) -> RawDelivery:
    try:
        frame = pl.read_parquet(io.BytesIO(data))
    except (pl.exceptions.PolarsError, OSError) as error:
        raise DeliveryRefused("unparseable", f"not a readable Parquet file: {error}") from None
    return RawDelivery(_as_text_with_rows(frame, keep_types=True), "parquet")


def _read_xlsx(data: bytes) -> RawDelivery:
    try:
        frame = pl.read_excel(io.BytesIO(data), engine="calamine", infer_schema_length=0)
    except Exception as error:  # fastexcel raises its own exception types
        raise DeliveryRefused("unparseable", f"not a readable XLSX workbook: {error}") from None
    return RawDelivery(_as_text_with_rows(frame), "xlsx")


def _as_text_with_rows(frame: pl.DataFrame, *, keep_types: bool = False) -> pl.DataFrame:
    """Columns become text; the record in row r is on line r + 1.

    With ``keep_types`` (Parquet), dates and numbers keep their type: the row rules judge
    a typed value directly, and a million dates need not be written out and parsed back.
    """
    def keeps(dtype: pl.DataType) -> bool:
        return keep_types and (dtype.is_numeric() or dtype.is_temporal()) and dtype != pl.Time

    as_text = frame.with_columns(
        pl.col(name).dt.strftime("%Y-%m-%d" if dtype == pl.Date else "%Y-%m-%d %H:%M:%S")
        if dtype.is_temporal() and dtype != pl.Time else pl.col(name).cast(pl.String)
        for name, dtype in frame.schema.items() if not keeps(dtype) and dtype != pl.String
    )
    return as_text.with_columns((pl.int_range(pl.len(), dtype=pl.Int64) + 2).alias(LINE))


_READERS = {".csv": _read_csv, ".parquet": _read_parquet, ".xlsx": _read_xlsx}
