"""The DuckDB database: opening it, applying the schema, running the query files in sql/.

Every query is a file under sql/; Python binds named parameters (``$name``) and never
pastes values into SQL text.
"""
from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import duckdb

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


@cache
def sql_text(name: str) -> str:
    """The text of ``sql/<name>.sql``, e.g. ``sql_text("transforms/births_current")``."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def connect(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the database file (creating its folder), with the schema applied when writable."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    if not read_only:
        apply_schema(con)
    return con


def apply_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Migrate an older database, create missing tables, (re)create the analyst views; idempotent."""
    for (migration,) in run(con, "migrations/needed"):
        run(con, f"migrations/{migration}")
    for folder in ("schema", "views"):
        for file in sorted((SQL_DIR / folder).glob("*.sql")):
            con.execute(file.read_text(encoding="utf-8"))


@cache
def statements(name: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """The statements of a query file, each with the parameter names it uses.

    DuckDB binds parameters to one statement at a time; files keep no ';' inside
    string literals, so splitting on ';' at line ends is exact for them.
    """
    parts = [p.strip() for p in re.split(r";\s*(?:\n|$)", sql_text(name))]
    return tuple((p, frozenset(_PARAM.findall(p))) for p in parts if _has_code(p))


def _has_code(statement: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in statement.splitlines())


_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def run(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> list[tuple[Any, ...]]:
    """Execute a query file with named parameters; returns the rows of its last statement.

    Every result is read to the end: DuckDB refuses new work on a connection while a
    result is pending.
    """
    rows: list[tuple[Any, ...]] = []
    for statement, used in statements(name):
        bound = {k: v for k, v in params.items() if k in used}
        rows = con.execute(statement, bound or None).fetchall()
    return rows


def row(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> tuple[Any, ...] | None:
    """The first row of a query file's result, or None."""
    rows = run(con, name, **params)
    return rows[0] if rows else None


def relation(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> duckdb.DuckDBPyRelation:
    """A single-statement query file as a relation (for Arrow or Polars results)."""
    ((statement, used),) = statements(name)
    return con.sql(statement, params={k: v for k, v in params.items() if k in used} or None)
