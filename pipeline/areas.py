"""The area reference (CONTRACT §2): areas.csv as a tree, adjacency.csv as neighbour pairs.

Any problem with these files is a configuration error (exit 2): a run cannot judge
area codes without them.
"""
from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline.errors import ConfigError, DeliveryRefused
from pipeline.readers import detect_encoding

log = logging.getLogger(__name__)

AREA_COLUMNS = ("area_code", "name", "parent_code", "level")
ADJACENCY_COLUMNS = ("area_code_a", "area_code_b")


@dataclass(frozen=True)
class AreaTree:
    areas: pl.DataFrame      # area_code, name, parent_code, level, depth, is_leaf
    ancestors: pl.DataFrame  # area_code, ancestor_code, ancestor_depth (self included)
    adjacency: pl.DataFrame  # area_code_a, area_code_b (a < b, unique)

    @property
    def leaf_codes(self) -> pl.Series:
        return self.areas.filter("is_leaf")["area_code"]

    @property
    def levels(self) -> list[str]:
        """Level names from the root down."""
        return self.areas.group_by("depth").agg(pl.col("level").first()).sort("depth")["level"].to_list()


def _read_table(path: Path, columns: tuple[str, ...]) -> pl.DataFrame:
    try:
        text, _ = detect_encoding(path.read_bytes())
        frame = pl.read_csv(io.StringIO(text), infer_schema=False)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except DeliveryRefused as refused:
        raise ConfigError(f"{path}:{refused.line}: {refused.detail}") from None
    except pl.exceptions.PolarsError as error:
        raise ConfigError(f"{path}: not a readable CSV table: {str(error).splitlines()[0]}") from None
    frame = frame.rename({c: c.strip().lower() for c in frame.columns})
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConfigError(f"{path}:1: missing column {', '.join(missing)}")
    return frame.select(pl.col(c).str.strip_chars() for c in columns).with_columns(
        (pl.int_range(pl.len()) + 2).alias("line")
    )


def read_area_tree(areas_path: Path, adjacency_path: Path | None) -> AreaTree:
    """Read and check the area tree and (optionally) the adjacency list."""
    raw = _read_table(areas_path, AREA_COLUMNS).with_columns(
        pl.col("parent_code").replace("", None)
    )
    _check_areas(areas_path, raw)
    areas, ancestors = _tree(areas_path, raw)
    adjacency = (
        _read_adjacency(adjacency_path, areas) if adjacency_path is not None
        else pl.DataFrame(schema={c: pl.String for c in ADJACENCY_COLUMNS})
    )
    return AreaTree(areas=areas, ancestors=ancestors, adjacency=adjacency)


def _fail_at(path: Path, frame: pl.DataFrame, bad: pl.Expr, what: str) -> None:
    offending = frame.filter(bad)
    if offending.height:
        row = offending.row(0, named=True)
        raise ConfigError(f"{path}:{row['line']}: {what.format(**row)}")


def _check_areas(path: Path, raw: pl.DataFrame) -> None:
    if raw.height == 0:
        raise ConfigError(f"{path}: no areas")
    _fail_at(path, raw, pl.col("area_code").is_null() | (pl.col("area_code") == ""), "empty area_code")
    _fail_at(path, raw, pl.col("name").is_null() | (pl.col("level").fill_null("") == ""),
             "area {area_code} lacks a name or level")
    is_repeat = pl.col("line") != pl.col("line").min().over("area_code")
    _fail_at(path, raw, is_repeat, "area_code {area_code} appears twice")
    _fail_at(path, raw, pl.col("parent_code").is_not_null() & ~pl.col("parent_code").is_in(raw["area_code"]),
             "parent_code {parent_code} of {area_code} is not an area")
    _fail_at(path, raw, pl.col("parent_code") == pl.col("area_code"), "area {area_code} is its own parent")


def _tree(path: Path, raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Depth of each area and the closure (area, ancestor) by repeated parent joins."""
    parent_of = raw.select("area_code", "parent_code")
    pairs = raw.select(
        pl.col("area_code"), pl.col("area_code").alias("ancestor_code"), pl.lit(0).alias("steps")
    )
    frontier = pairs
    for step in range(1, raw.height + 1):
        frontier = (
            frontier.join(parent_of, left_on="ancestor_code", right_on="area_code")
            .filter(pl.col("parent_code").is_not_null())
            .select("area_code", pl.col("parent_code").alias("ancestor_code"), pl.lit(step).alias("steps"))
        )
        if frontier.height == 0:
            break
        pairs = pl.concat([pairs, frontier])
    else:
        cyclic = frontier["area_code"][0]
        raise ConfigError(f"{path}: the parent chain of area {cyclic} loops back on itself")
    depth = pairs.group_by("area_code").agg(pl.col("steps").max().alias("depth"))
    parents = set(raw["parent_code"].drop_nulls().to_list())
    areas = raw.join(depth, on="area_code").with_columns(
        pl.col("depth").cast(pl.Int32), (~pl.col("area_code").is_in(list(parents))).alias("is_leaf")
    )
    mixed = areas.group_by("depth").agg(pl.col("level").n_unique().alias("n"), pl.col("level").first())
    if (mixed["n"] > 1).any():
        bad_depth = mixed.filter(pl.col("n") > 1)["depth"][0]
        raise ConfigError(f"{path}: areas at depth {bad_depth} carry different level names")
    ancestors = pairs.join(depth.rename({"area_code": "ancestor_code", "depth": "ancestor_depth"}),
                           on="ancestor_code").select(
        "area_code", "ancestor_code", pl.col("ancestor_depth").cast(pl.Int32)
    )
    return areas.sort("line").drop("line"), ancestors


def _read_adjacency(path: Path, areas: pl.DataFrame) -> pl.DataFrame:
    if not path.exists():
        raise ConfigError(f"{path}: adjacency file not found (remove the key if there is none)")
    pairs = _read_table(path, ADJACENCY_COLUMNS)
    level = areas.select("area_code", "level")
    known = areas["area_code"]
    for column in ADJACENCY_COLUMNS:
        _fail_at(path, pairs, ~pl.col(column).is_in(known), f"{column} {{{column}}} is not an area")
    _fail_at(path, pairs, pl.col("area_code_a") == pl.col("area_code_b"),
             "area {area_code_a} is paired with itself")
    leveled = (pairs.join(level.rename({"area_code": "area_code_a", "level": "level_a"}), on="area_code_a")
               .join(level.rename({"area_code": "area_code_b", "level": "level_b"}), on="area_code_b"))
    _fail_at(path, leveled, pl.col("level_a") != pl.col("level_b"),
             "{area_code_a} ({level_a}) and {area_code_b} ({level_b}) are of different levels")
    ordered = pairs.select(
        pl.min_horizontal("area_code_a", "area_code_b").alias("area_code_a"),
        pl.max_horizontal("area_code_a", "area_code_b").alias("area_code_b"),
    )
    unique = ordered.unique(maintain_order=True)
    if unique.height < ordered.height:
        log.warning("%s: %d repeated neighbour pairs counted once", path, ordered.height - unique.height)
    return unique
