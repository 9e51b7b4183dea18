"""Model stage: raw SRB with exact intervals and small-area smoothed SRB per cell.

Each cell is an area x stratum x period, estimated over its trailing window. Cells of
the same level, stratum and period share a prior (one pool each); the hierarchical
method shrinks each cell toward its parent area's cell; the spatial one borrows from
neighbours in ``adjacency.csv``. The statistics are in ``models/``; this module only
lays the cells out as arrays.
"""
from __future__ import annotations

import dataclasses
import logging

import numpy as np
import polars as pl

from models.smoothing import Note, SmoothedSRB, smooth_srb
from models.srb import clopper_pearson_srb, srb_raw
from pipeline.areas import AreaTree
from pipeline.config import SurveillanceSettings

log = logging.getLogger(__name__)

ESTIMATE_COLUMNS = (
    "area_code", "level", "stratum", "period_start", "window_start", "births", "boys", "girls",
    "srb_raw", "srb_raw_lo", "srb_raw_hi", "srb_smoothed", "srb_lo", "srb_hi", "prob_above",
)
ESTIMATE_SCHEMA = {
    "area_code": pl.String, "level": pl.String, "stratum": pl.String, "period_start": pl.Date,
    "window_start": pl.Date, "births": pl.Int64, "boys": pl.Int64, "girls": pl.Int64,
    **{c: pl.Float64 for c in ESTIMATE_COLUMNS[8:]},
}


def empty_estimates() -> pl.DataFrame:
    return pl.DataFrame(schema=ESTIMATE_SCHEMA)


def estimate_srb(
    counts: pl.DataFrame, tree: AreaTree, settings: SurveillanceSettings
) -> tuple[pl.DataFrame, SmoothedSRB]:
    """srb_estimates rows (CONTRACT §4) from the dense window counts, and the smoother's
    output with its messages naming area_code (or level), stratum and period_start."""
    boys = counts["boys"].to_numpy()
    girls = counts["girls"].to_numpy()
    raw_lo, raw_hi = clopper_pearson_srb(boys, girls)
    smoothed = smooth_cells(counts, tree, settings)
    rows = counts.with_columns(
        pl.Series("srb_raw", srb_raw(boys, girls)).fill_nan(None),
        pl.Series("srb_raw_lo", raw_lo).fill_nan(None),
        pl.Series("srb_raw_hi", np.where(np.isinf(raw_hi), np.nan, raw_hi)).fill_nan(None),
        pl.Series("srb_smoothed", smoothed.srb_smoothed),
        pl.Series("srb_lo", smoothed.srb_lo),
        pl.Series("srb_hi", smoothed.srb_hi),
        pl.Series("prob_above", smoothed.prob_above),
    ).select(ESTIMATE_COLUMNS)
    return rows, dataclasses.replace(smoothed, messages=describe_notes(smoothed.notes, counts))


def describe_notes(notes: tuple[Note, ...], counts: pl.DataFrame) -> tuple[str, ...]:
    """The smoother's corner cases in the domain's words, one line each: how many cells
    (or pools of one level, stratum and period) and the first, named by area_code or level,
    stratum and period_start, e.g. ``smoothing: 12 cells: no pooling (...), e.g. area
    440604001 parity_2 2025-12-22``."""
    lines: list[str] = []
    for note in sorted(notes, key=lambda n: n.per != "cell"):  # cell fallbacks first
        if note.cells.size == 0:  # a note of the spatial fit, already in words
            lines.append(f"smoothing: {note.text}")
            continue
        first = counts.row(int(note.cells[0]), named=True)
        count = note.cells.size
        if note.per == "pool":
            what = "pool" if count == 1 else "pools"
            example = f"level {first['level']} {first['stratum']} {first['period_start']}"
        else:
            what = "cell" if count == 1 else "cells"
            example = f"area {first['area_code']} {first['stratum']} {first['period_start']}"
        lines.append(f"smoothing: {count:,} {what}: {note.text}, e.g. {example}")
    return tuple(lines)


def smooth_cells(counts: pl.DataFrame, tree: AreaTree, settings: SurveillanceSettings) -> SmoothedSRB:
    """Lay the cells out as arrays and call the configured smoother."""
    boys = counts["boys"].to_numpy()
    girls = counts["girls"].to_numpy()
    method = settings.smoothing
    cells = counts.select("area_code", "stratum", "period_start", "depth").with_row_index("cell")
    pool = cells.select(pl.struct("depth", "stratum", "period_start").rank("dense")).to_series().to_numpy()
    options: dict[str, np.ndarray] = {}
    if method == "hierarchical":
        options["parent"] = _parent_cells(cells, tree)
    elif method == "spatial":
        options["area"], options["edges"] = _area_graph(counts, tree)
    return smooth_srb(boys, girls, pool=pool.astype(np.int64), method=method,
                      alert_level=settings.alert_level, **options)


def _parent_cells(cells: pl.DataFrame, tree: AreaTree) -> np.ndarray:
    """Index of each cell's parent-area cell in the same stratum and period; -1 at the root."""
    parents = tree.areas.select("area_code", "parent_code")
    keyed = cells.join(parents, on="area_code", how="left")
    lookup = cells.select(pl.col("area_code").alias("parent_code"), "stratum", "period_start",
                          pl.col("cell").alias("parent_cell"))
    joined = keyed.join(lookup, on=["parent_code", "stratum", "period_start"], how="left").sort("cell")
    return joined["parent_cell"].fill_null(-1).cast(pl.Int64).to_numpy()


def _area_graph(counts: pl.DataFrame, tree: AreaTree) -> tuple[np.ndarray, np.ndarray]:
    """Area index per cell and the neighbour pairs as index pairs."""
    index = {code: i for i, code in enumerate(tree.areas["area_code"].to_list())}
    area = counts["area_code"].replace_strict(index, return_dtype=pl.Int64).to_numpy()
    pairs = tree.adjacency
    edges = np.column_stack([
        pairs["area_code_a"].replace_strict(index, return_dtype=pl.Int64).to_numpy(),
        pairs["area_code_b"].replace_strict(index, return_dtype=pl.Int64).to_numpy(),
    ]) if pairs.height else np.empty((0, 2), dtype=np.int64)
    return area, edges
