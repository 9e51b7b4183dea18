"""``surveil report``, ``surveil email`` and ``surveil alerts export``: what leaves the database.

Exit status as everywhere: 0 done, 2 bad command line or configuration, 1 anything else
(including a send that failed and waits for the next run).
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

from pipeline.cli_common import ConfigOption, console, errors, fail, open_database, parse_date, settings_from
from pipeline.errors import ConfigError, SurveilError

WeekOption = Annotated[str | None, typer.Option("--week", help="ISO week YYYY-Www (default: last complete week)")]
DistrictOption = Annotated[str | None, typer.Option("--district", help="one district's area code")]
LanguageOption = Annotated[str | None, typer.Option("--language", help="zh or en (default: [report] language)")]


def _week(con, week: str | None) -> dt.date:
    from pipeline.report_stage import default_week, parse_iso_week

    try:
        return parse_iso_week(week) if week else default_week(con)
    except ConfigError as error:
        raise fail(error, 2) from None
    except SurveilError as error:
        raise fail(error, 1) from None


def _language(language: str | None, settings) -> str:
    """The report language: as asked (else the config's), English when no CJK font is found (one warning)."""
    from reports.fonts import NO_CJK_FONT_WARNING, report_language

    if language not in (None, "zh", "en"):
        raise fail(ConfigError(f"--language {language!r}: expected zh or en"), 2)
    asked = language or settings.report.language
    printable = report_language(asked)
    if printable != asked:
        errors.print(f"surveil: warning: {NO_CJK_FONT_WARNING}", markup=False, highlight=False, soft_wrap=True)
    return printable


def report(config: ConfigOption, week: WeekOption = None, district: DistrictOption = None,
           language: LanguageOption = None,
           pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="also print the PDF (slower)")] = True) -> None:
    """Write each district's weekly report (HTML, PDF and a text summary)."""
    from pipeline.report_stage import iso_week_label, write_reports

    settings = settings_from(config)
    language = _language(language, settings)
    with open_database(settings, read_only=True) as con:
        week_start = _week(con, week)
        try:
            written = write_reports(con, settings, week_start, district_code=district, language=language,
                                    with_pdf=pdf)
        except ConfigError as error:
            raise fail(error, 2) from None
        except SurveilError as error:
            raise fail(error, 1) from None
    for files in written:
        console.print(f"{files.district_code} {files.district_name}: {files.html} {files.pdf or ''}", highlight=False)
    console.print(f"{len(written)} district reports for {iso_week_label(week_start)}")


def email(config: ConfigOption, week: WeekOption = None, district: DistrictOption = None,
          dry_run: Annotated[bool, typer.Option("--dry-run", help="write .eml files instead of sending")] = False,
          language: LanguageOption = None,
          resend_unconfirmed: Annotated[bool, typer.Option(
              "--resend-unconfirmed", help="send again the messages whose DATA reply was lost (check the relay first)")
          ] = False) -> None:
    """E-mail each district's report for the week, at most once (the outbox remembers)."""
    from pipeline.email_stage import FINE_OUTCOMES, deliver
    from pipeline.report_stage import iso_week_label

    settings = settings_from(config)
    language = _language(language, settings)
    with open_database(settings) as con:
        week_start = _week(con, week)
        try:
            deliveries = deliver(con, settings, week_start, now=dt.datetime.now(), dry_run=dry_run,
                                 district_code=district, language=language, resend_unconfirmed=resend_unconfirmed)
        except ConfigError as error:
            raise fail(error, 2) from None
        except SurveilError as error:
            raise fail(error, 1) from None
    table = Table(title=f"e-mail {iso_week_label(week_start)}{' (dry run)' if dry_run else ''}")
    for heading in ("district", "outcome", "detail"):
        table.add_column(heading)
    for delivery in deliveries:
        table.add_row(delivery.district_code, delivery.outcome, delivery.detail)
    console.print(table)
    unreached = [d.district_code for d in deliveries if d.outcome == "no_recipients"]
    if unreached:
        errors.print(f"surveil: warning: no recipients configured for district {', '.join(unreached)}",
                     markup=False)
    for delivery in deliveries:
        if delivery.outcome == "sent_partly":
            errors.print(f"surveil: warning: district {delivery.district_code}: the server {delivery.detail}",
                         markup=False, highlight=False, soft_wrap=True)
    failed = [d for d in deliveries if d.outcome not in FINE_OUTCOMES | {"no_recipients"}]
    if failed:
        raise fail(SurveilError(f"{len(failed)} message(s) not delivered to every recipient: "
                                + "; ".join(f"{d.district_code} {d.outcome}" for d in failed)), 1)


def export(config: ConfigOption,
           file_format: Annotated[str, typer.Option("--format", help="csv, json or parquet")] = "csv",
           department: Annotated[str | None, typer.Option("--department", help="route by [export.departments]")] = None,
           since: Annotated[str | None, typer.Option("--since", help="alerts detected on or after YYYY-MM-DD")] = None,
           ) -> None:
    """Export alerts for the enforcement team, with a manifest (run id, rows, SHA-256)."""
    from pipeline.export_stage import export_alerts

    settings = settings_from(config)
    since_date = parse_date("--since", since)
    with open_database(settings, read_only=True) as con:
        try:
            written = export_alerts(con, settings, file_format=file_format, department=department, since=since_date,
                                    now=dt.datetime.now())
        except ConfigError as error:
            raise fail(error, 2) from None
        except SurveilError as error:
            raise fail(error, 1) from None
    console.print(f"{written.rows} alerts -> {written.path} (manifest {written.manifest.name}, sha256 "
                  f"{written.sha256[:12]}…)", highlight=False)


def register(app: typer.Typer, alerts_app: typer.Typer) -> None:
    """Add ``report`` and ``email`` to the main command and ``export`` to ``surveil alerts``."""
    app.command("report")(report)
    app.command("email")(email)
    alerts_app.command("export")(export)
