"""What every ``surveil`` subcommand shares: the console, one-line failures, settings, the database."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.console import Console

from pipeline import db
from pipeline.config import Settings, load_settings
from pipeline.errors import ConfigError, SurveilError

console = Console(width=None if Console().is_terminal else 120)
errors = Console(stderr=True)

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="TOML configuration file")]


def fail(error: BaseException, exit_code: int = 1) -> typer.Exit:
    """Print one line on stderr and return the Exit to raise."""
    text = " ".join(str(error).split()) or type(error).__name__
    errors.print(f"surveil: error: {text}", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(exit_code)


def settings_from(config: Path) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as error:
        raise fail(error, error.exit_code) from None


def parse_date(option: str, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise fail(ConfigError(f"{option} {value!r}: expected a date YYYY-MM-DD"), 2) from None


def open_database(settings: Settings, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    path = settings.resolve(settings.data.database)
    if read_only and not path.exists():
        raise fail(ConfigError(f"{path}: no database yet; run `surveil run` first"), 2)
    try:
        return db.connect(path, read_only=read_only)
    except duckdb.IOException as error:
        raise fail(SurveilError(f"{path}: cannot open the database ({error})"), 1) from None
