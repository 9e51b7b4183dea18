"""``surveil sql``: the analysts' read-only window on the database."""
from __future__ import annotations

import sys

import duckdb
from rich.console import Console
from rich.table import Table

MAX_ROWS_SHOWN = 200


def run_query(con: duckdb.DuckDBPyConnection, query: str, console: Console, *, as_csv: bool = False) -> None:
    """Print the result of one query as a table, or as CSV on stdout."""
    result = con.sql(query)
    if result is None:
        return
    if as_csv:
        result.pl().write_csv(sys.stdout)
        return
    frame = result.pl()
    table = Table(*frame.columns, show_lines=False)
    for row in frame.head(MAX_ROWS_SHOWN).iter_rows():
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)
    more = f", first {MAX_ROWS_SHOWN} shown" if frame.height > MAX_ROWS_SHOWN else ""
    console.print(f"{frame.height} rows{more}")


def shell(con: duckdb.DuckDBPyConnection, console: Console) -> None:
    """A small prompt: one statement per line; end a line with a backslash to continue it."""
    console.print("surveil sql: read-only; views start with v_ (try: select * from v_srb_yearly limit 5). "
                  "Empty line or .quit to leave.")
    buffer = ""
    while True:
        try:
            line = input("sql> " if not buffer else "...> ")
        except EOFError:
            break
        if not buffer and line.strip() in ("", ".quit", ".exit"):
            break
        continues = line.rstrip().endswith("\\")
        line = line.rstrip().removesuffix("\\")
        buffer = f"{buffer}\n{line}" if buffer else line
        if not continues:
            try:
                run_query(con, buffer, console)
            except duckdb.Error as error:
                console.print(f"error: {error}", markup=False)
            buffer = ""
