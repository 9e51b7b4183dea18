"""Read and run the aggregate-metric queries of sql/quality/ (one query per file)."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

QUALITY_SQL_DIR = Path(__file__).resolve().parent.parent / "sql" / "quality"


def quality_sql(name: str) -> str:
    """Text of ``sql/quality/<name>.sql``.

    >>> "volume_ratio" in quality_sql("registry_district_month_volume")
    True
    """
    return (QUALITY_SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def run_quality_query(connection: Any, name: str, parameters: Mapping[str, Any]) -> pd.DataFrame:
    """Run one quality query on a DuckDB connection with bound ``$name`` parameters.

    Parameters
    ----------
    connection : a ``duckdb.DuckDBPyConnection``.
    name : the file stem under sql/quality/.
    parameters : exactly the query's ``$`` parameters (DuckDB refuses missing ones).

    Returns
    -------
    The result as a small pandas frame (the queries aggregate in DuckDB).
    """
    return connection.execute(quality_sql(name), dict(parameters)).df()
