"""``surveil alerts``: list alerts and record what people do with them.

Statuses move forward only: new -> acknowledged -> investigating -> closed (closing
is possible from any open status). Every action is kept in ``alert_events`` with who,
what, when and a note; the pipeline never changes a status.
"""
from __future__ import annotations

import datetime as dt
import getpass
from typing import Annotated

import typer
from rich.table import Table

from pipeline import db
from pipeline.cli_common import ConfigOption, console, fail, open_database, settings_from
from pipeline.errors import SurveilError

alerts_app = typer.Typer(no_args_is_help=True, help="List alerts and record acknowledgement, investigation, closure.")

# action -> (statuses it may start from, status it sets)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "ack": (("new",), "acknowledged"),
    "investigate": (("new", "acknowledged"), "investigating"),
    "close": (("new", "acknowledged", "investigating"), "closed"),
}

NoteOption = Annotated[str, typer.Option("--note", help="why: what was checked or decided")]
ActorOption = Annotated[str | None, typer.Option("--by", help="who acts (default: the login name)")]


@alerts_app.command("list")
def list_alerts(config: ConfigOption,
                status: Annotated[str | None, typer.Option(help="only this status")] = None,
                closed: Annotated[bool, typer.Option("--closed", help="include closed alerts")] = False) -> None:
    """Open alerts (second births within policy first)."""
    with open_database(settings_from(config), read_only=True) as con:
        rows = db.relation(con, "alerts/list", status=status, include_closed=closed or status == "closed").pl()
    table = Table()
    table.add_column("alert_id", no_wrap=True)
    for heading in ("status", "stratum", "method", "area", "detected", "onset", "boys", "girls", "SRB"):
        table.add_column(heading)
    for r in rows.iter_rows(named=True):
        srb = "-" if r["srb_observed"] is None else f"{r['srb_observed']:.1f}"
        table.add_row(r["alert_id"], r["status"], r["stratum"], r["method"], f"{r['area_name']} ({r['area_code']})",
                      str(r["detected_period"]), str(r["onset_period"] or "-"), str(r["boys"]), str(r["girls"]), srb)
    console.print(table)
    console.print(f"{rows.height} alerts")


@alerts_app.command("show")
def show_alert(alert_id: str, config: ConfigOption) -> None:
    """One alert's evidence and history."""
    with open_database(settings_from(config), read_only=True) as con:
        found = db.relation(con, "alerts/show", alert_id=alert_id).pl()
        events = db.run(con, "alerts/events", alert_id=alert_id)
    if found.height == 0:
        raise fail(SurveilError(f"no alert {alert_id}"), 1)
    for key, value in found.row(0, named=True).items():
        console.print(f"{key:16} {value}", highlight=False)
    for acted_at, actor, action, status_from, status_to, note in events:
        console.print(f"{acted_at:%Y-%m-%d %H:%M}  {actor}: {action} ({status_from} -> {status_to}) {note or ''}",
                      highlight=False)


def _act(action: str, alert_id: str, config, note: str, actor: str | None) -> None:
    allowed_from, status_to = TRANSITIONS[action]
    with open_database(settings_from(config)) as con:
        row = db.row(con, "alerts/show", alert_id=alert_id)
        if row is None:
            raise fail(SurveilError(f"no alert {alert_id}"), 1)
        status_from = row[3]
        if status_from not in allowed_from:
            raise fail(SurveilError(f"alert {alert_id} is {status_from}; '{action}' applies to "
                                    f"{' or '.join(allowed_from)} alerts"), 1)
        con.begin()
        db.run(con, "alerts/set_status", alert_id=alert_id, action=action, status_from=status_from,
               status_to=status_to, note=note, actor=actor or getpass.getuser(), acted_at=dt.datetime.now())
        con.commit()
    console.print(f"{alert_id}: {status_from} -> {status_to}")


@alerts_app.command("ack")
def acknowledge(alert_id: str, config: ConfigOption, note: NoteOption = "", by: ActorOption = None) -> None:
    """Acknowledge: someone has seen the alert."""
    _act("ack", alert_id, config, note, by)


@alerts_app.command("investigate")
def investigate(alert_id: str, config: ConfigOption, note: NoteOption = "", by: ActorOption = None) -> None:
    """Mark the alert as under investigation."""
    _act("investigate", alert_id, config, note, by)


@alerts_app.command("close")
def close(alert_id: str, config: ConfigOption, note: NoteOption = "", by: ActorOption = None) -> None:
    """Close the alert; the episode will not re-fire (a new onset raises a new alert)."""
    _act("close", alert_id, config, note, by)
