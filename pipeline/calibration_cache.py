"""Calibration caches in the database: look keys up, compute the missing ones, keep them.

Thresholds (CUSUM by Brook-Evans, GLR by simulation) and detectable SRBs depend only on a
few numbers each; computed once, they are kept in a table (``sql/schema/070_cusum.sql``),
so a warm run computes nothing. Each cache has a pair of query files: ``<name>_cached``
(the rows of ``wanted_keys`` already known) and ``<name>_insert`` (add ``new_keys``).
"""
from __future__ import annotations

from collections.abc import Callable

import duckdb
import polars as pl
from threadpoolctl import threadpool_limits

from pipeline import db


def cached_values(con: duckdb.DuckDBPyConnection, name: str, wanted: pl.DataFrame, keys: list[str],
                  compute: Callable[[pl.DataFrame], pl.DataFrame]) -> tuple[pl.DataFrame, int]:
    """``wanted`` joined with the cached values of its keys, computing the missing ones.

    ``compute`` gets the missing keys and returns them with their value columns; it runs
    with one BLAS thread (small factorisations gain nothing from threads on a busy box).
    Returns the table in ``wanted``'s order and how many keys were computed.
    """
    distinct = wanted.unique(subset=keys, maintain_order=True)
    found = _read(con, f"{name}_cached", distinct)
    missing = distinct.join(found, on=keys, how="anti")
    if missing.height:
        with threadpool_limits(1):
            new = compute(missing)
        _write(con, f"{name}_insert", new)
        found = pl.concat([found, new], how="diagonal_relaxed")
    return wanted.join(found, on=keys, how="left", maintain_order="left"), missing.height


def _read(con: duckdb.DuckDBPyConnection, query: str, wanted: pl.DataFrame) -> pl.DataFrame:
    con.register("wanted_keys", wanted.to_arrow())
    try:
        return pl.from_arrow(db.relation(con, query).to_arrow_table())
    finally:
        con.unregister("wanted_keys")


def _write(con: duckdb.DuckDBPyConnection, query: str, new: pl.DataFrame) -> None:
    con.register("new_keys", new.to_arrow())
    try:
        db.run(con, query)
    finally:
        con.unregister("new_keys")
