"""The ``surveil`` command line. Every failure prints one line and exits with the
status of CONTRACT §3: 0 published, 3 gate failed, 2 bad command line or
configuration, 1 anything else."""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.console import Console

from pipeline import db
from pipeline.config import Settings, load_settings
from pipeline.errors import ConfigError, SurveilError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Sex-ratio-at-birth surveillance: load, gate, estimate, alert, publish.")
console = Console(width=None if Console().is_terminal else 120)
errors = Console(stderr=True)

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="TOML configuration file")]


def fail(error: BaseException, exit_code: int = 1) -> typer.Exit:
    """Print one line on stderr and return the Exit to raise."""
    text = " ".join(str(error).split()) or type(error).__name__
    errors.print(f"surveil: error: {text}", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(exit_code)


def _settings(config: Path) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as error:
        raise fail(error, error.exit_code) from None


def _parse_asof(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise fail(ConfigError(f"--asof {value!r}: expected a date YYYY-MM-DD"), 2) from None


def open_database(settings: Settings, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    path = settings.resolve(settings.data.database)
    if read_only and not path.exists():
        raise fail(ConfigError(f"{path}: no database yet; run `surveil run` first"), 2)
    try:
        return db.connect(path, read_only=read_only)
    except duckdb.IOException as error:
        raise fail(SurveilError(f"{path}: cannot open the database ({error})"), 1) from None


@app.command()
def run(config: ConfigOption,
        asof: Annotated[str | None, typer.Option(help="run as if on this date, YYYY-MM-DD")] = None) -> None:
    """Load new deliveries, gate them, recompute estimates and alerts, publish."""
    from pipeline.nightly import nightly

    settings = _settings(config)
    asof_date = _parse_asof(asof)
    con = open_database(settings)
    try:
        exit_code, message = nightly(settings, con, asof_date, console)
    finally:
        con.close()
    if exit_code:
        raise fail(SurveilError(message), exit_code)


@app.command()
def demo(config: ConfigOption,
         force: Annotated[bool, typer.Option(help="rewrite the demo files even if present")] = False) -> None:
    """Write the embedded demo registry where the configuration expects it."""
    from pipeline.demo import write_demo

    settings = _settings(config)
    folder = settings.resolve(settings.data.areas).parent
    if (folder / "areas.csv").exists() and not force:
        console.print(f"demo registry already in {folder} (use --force to rewrite)")
        return
    files = write_demo(folder)
    console.print(f"demo registry written to {folder}: areas, adjacency and {files} monthly deliveries")


@app.command()
def sql(config: ConfigOption,
        query: Annotated[str | None, typer.Argument(help="SQL; omit for an interactive prompt")] = None,
        csv: Annotated[bool, typer.Option("--csv", help="print CSV instead of a table")] = False) -> None:
    """Run a query on the database (read-only); without a query, open a prompt."""
    from pipeline.sql_shell import run_query, shell

    settings = _settings(config)
    con = open_database(settings, read_only=True)
    try:
        if query is None:
            shell(con, console)
        else:
            try:
                run_query(con, query, console, as_csv=csv)
            except duckdb.Error as error:
                raise fail(error, 1) from None
    finally:
        con.close()


def main() -> None:  # pragma: no cover - the console-script entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
