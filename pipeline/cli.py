"""The ``surveil`` command line. Every failure prints one line and exits with the
status of CONTRACT §3: 0 published, 3 gate failed, 2 bad command line or
configuration, 1 anything else."""
from __future__ import annotations

import sys
from typing import Annotated

import duckdb
import typer

from pipeline.cli_alerts import alerts_app
from pipeline.cli_common import ConfigOption, console, fail, open_database, parse_date, settings_from
from pipeline.cli_reports import register as register_report_commands
from pipeline.errors import SurveilError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Sex-ratio-at-birth surveillance: load, gate, estimate, alert, publish.")
app.add_typer(alerts_app, name="alerts")
register_report_commands(app, alerts_app)


@app.command()
def run(config: ConfigOption,
        asof: Annotated[str | None, typer.Option(help="run as if on this date, YYYY-MM-DD")] = None) -> None:
    """Load new deliveries, gate them, recompute estimates and alerts, publish."""
    from pipeline.nightly import nightly

    settings = settings_from(config)
    asof_date = parse_date("--asof", asof) or settings.run.asof
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

    settings = settings_from(config)
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

    settings = settings_from(config)
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


def main() -> None:
    """Console-script entry point: anything unforeseen is one line and exit 1, never a traceback."""
    try:
        app()
    except Exception as error:  # noqa: BLE001 - the last line of defence for the one-line rule
        raise SystemExit(fail(error, 1).exit_code) from None


if __name__ == "__main__":
    sys.exit(main())
