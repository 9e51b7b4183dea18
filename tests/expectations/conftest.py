"""Shared fixtures of the data-quality tests (the data are made in dq_fixtures.py)."""
from __future__ import annotations

import os

import duckdb
import polars as pl
import pytest
from dq_fixtures import build_registry

from expectations.runner import gx_handle


@pytest.fixture(scope="session")
def gx_context(tmp_path_factory: pytest.TempPathFactory):
    """Create the process's GX context once, from an empty directory, and hand back that
    directory so a test can assert nothing was written there."""
    workdir = tmp_path_factory.mktemp("gx_cwd")
    previous = os.getcwd()
    os.chdir(workdir)
    try:
        handle = gx_handle()
    finally:
        os.chdir(previous)
    return handle, workdir


@pytest.fixture(scope="session")
def registry_template(gx_context) -> duckdb.DuckDBPyConnection:
    """The good registry, built once; tests that change data use ``registry``."""
    return build_registry()


@pytest.fixture()
def registry(gx_context) -> duckdb.DuckDBPyConnection:
    """A fresh good registry that a test may change."""
    connection = build_registry()
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def good_batch(registry_template: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Delivery 2 as a Polars frame, typed as the loader hands it over (record_hash String,
    dates Date, counts Int32). Polars frames are immutable: tests derive new ones."""
    return registry_template.sql(
        "select * exclude (delivery_id) from births where delivery_id = 2 "
        "order by source_line, area_code"
    ).pl()


@pytest.fixture(scope="session")
def known_area_codes(registry_template: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in registry_template.execute("select area_code from areas").fetchall()}
