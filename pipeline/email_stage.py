"""E-mail the weekly district reports through SMTP, once per district and week.

The ``outbox`` table (sql/schema/060_outbox.sql) makes delivery idempotent and resumable:

- ``sent``: never sent again;
- ``failed``: retried on a later run once ``next_attempt_at`` has passed; the wait doubles
  with every attempt (``email.retry_backoff_minutes`` · 2^(attempts - 1)), and after
  ``email.max_attempts`` the message is ``abandoned`` and reported;
- ``sending``: a run stopped during the SMTP conversation, so whether the server took the
  message is unknown; it is reported and not resent (at most once), for a person to check.

``--dry-run`` writes each message as ``<outbox_dir>/<YYYY-Www>/<district>.eml`` and leaves
the outbox alone. A district without recipients is reported, never silently skipped.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import duckdb

from pipeline import db
from pipeline.config import EmailSettings, Settings
from pipeline.errors import ConfigError
from pipeline.report_stage import ReportFiles, districts, iso_week_label, report_folder, write_reports
from reports.email_message import build_message, message_id
from reports.i18n import label


@dataclass(frozen=True)
class Delivery:
    """What happened to one district's message on this run."""

    district_code: str
    outcome: str          # sent | written | already_sent | waiting | failed | abandoned | interrupted | no_recipients
    detail: str = ""


def retry_after(attempts: int, backoff_minutes: float) -> dt.timedelta:
    """The wait before the next attempt after ``attempts`` failed ones (exponential backoff).

    >>> [retry_after(n, 30).total_seconds() / 60 for n in (1, 2, 3)]
    [30.0, 60.0, 120.0]
    """
    return dt.timedelta(minutes=backoff_minutes * 2 ** max(attempts - 1, 0))


class Relay:
    """One SMTP connection for the run, opened on first use (STARTTLS, implicit TLS or plain)."""

    def __init__(self, settings: EmailSettings, base: Callable[[Path], Path]) -> None:
        self.settings = settings
        self.context = ssl.create_default_context(
            cafile=str(base(settings.ca_file)) if settings.ca_file else None)
        self.connection: smtplib.SMTP | None = None

    def _credentials(self) -> tuple[str, str] | None:
        names = (self.settings.username_env, self.settings.password_env)
        if not all(names):
            return None
        missing = [name for name in names if not os.environ.get(name)]
        if missing:
            raise ConfigError(f"[email] credentials: environment variable {', '.join(missing)} is not set")
        return os.environ[names[0]], os.environ[names[1]]

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.security == "tls":
            connection = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.timeout_seconds, context=self.context)
        else:
            connection = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.timeout_seconds)
            if s.security == "starttls":
                connection.starttls(context=self.context)
        credentials = self._credentials()
        if credentials:
            connection.login(*credentials)
        return connection

    def send(self, message: EmailMessage) -> None:
        if self.connection is None:
            self.connection = self._connect()
        try:
            self.connection.send_message(message)
        except smtplib.SMTPServerDisconnected:
            self.connection = None
            raise

    def close(self) -> None:
        if self.connection is not None:
            # the messages are already accepted; a failing goodbye changes nothing
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.connection.quit()
            self.connection = None


def _message(settings: Settings, files: ReportFiles, week_label: str, recipients: tuple[str, ...],
             now: dt.datetime, language: str) -> EmailMessage:
    subject = f"{label('subject', language)} · {files.district_name} · {week_label}"
    return build_message(
        sender=settings.email.sender, recipients=recipients, subject=subject,
        html=files.html.read_text(encoding="utf-8"), text=files.text.read_text(encoding="utf-8"),
        pdf=files.pdf.read_bytes(), pdf_name=f"srb-{week_label}-{files.district_code}.pdf",
        msg_id=message_id(week_label, files.district_code, settings.email.sender), date=now)


def _report_files(con, settings: Settings, week_start: dt.date, district: tuple[str, str],
                  language: str) -> ReportFiles:
    base = report_folder(settings, week_start) / district[0]
    files = ReportFiles(district[0], district[1], base.with_suffix(".html"), base.with_suffix(".txt"),
                        base.with_suffix(".pdf"))
    if all(path.exists() for path in (files.html, files.text, files.pdf)):
        return files
    return write_reports(con, settings, week_start, district_code=district[0], language=language)[0]


def _send_one(con, relay: Relay, settings: Settings, message: EmailMessage, keys: dict, attempts_before: int,
              now: dt.datetime) -> Delivery:
    code = keys["district_code"]
    db.run(con, "reports/outbox_begin", **keys, message_id=message["Message-ID"], recipients=message["To"], now=now)
    try:
        relay.send(message)
    except (smtplib.SMTPException, OSError) as error:
        attempts = attempts_before + 1
        text = " ".join(str(error).split())[:300] or type(error).__name__
        give_up = attempts >= settings.email.max_attempts
        retry_at = None if give_up else now + retry_after(attempts, settings.email.retry_backoff_minutes)
        db.run(con, "reports/outbox_failed", **keys, status="abandoned" if give_up else "failed",
               last_error=text, next_attempt_at=retry_at)
        detail = f"attempt {attempts}: {text}" + ("" if give_up else f"; retry after {retry_at:%Y-%m-%d %H:%M}")
        return Delivery(code, "abandoned" if give_up else "failed", detail)
    db.run(con, "reports/outbox_sent", **keys, now=now)
    return Delivery(code, "sent", message["To"])


def _due(entry: tuple | None, now: dt.datetime, code: str) -> Delivery | None:
    """None when the message should be attempted now, else why not."""
    if entry is None:
        return None
    status, attempts, next_attempt_at, sent_at, last_error = entry
    if status == "sent":
        return Delivery(code, "already_sent", f"at {sent_at:%Y-%m-%d %H:%M}")
    if status == "sending":
        return Delivery(code, "interrupted", "a run stopped while sending: check the mailbox; not resent")
    if status == "abandoned":
        return Delivery(code, "abandoned", f"after {attempts} attempts: {last_error}")
    if next_attempt_at is not None and next_attempt_at > now:
        return Delivery(code, "waiting", f"attempt {attempts} failed ({last_error}); retry after "
                                         f"{next_attempt_at:%Y-%m-%d %H:%M}")
    return None


def deliver(con: duckdb.DuckDBPyConnection, settings: Settings, week_start: dt.date, *, now: dt.datetime,
            dry_run: bool = False, district_code: str | None = None, language: str | None = None) -> list[Delivery]:
    """Send (or with ``dry_run`` write as .eml) each district's report for the week."""
    language = language or settings.report.language
    week_label = iso_week_label(week_start)
    outbox_folder = settings.resolve(settings.email.outbox_dir) / week_label
    relay = Relay(settings.email, settings.resolve)
    deliveries = []
    try:
        for district in districts(con, district_code):
            code = district[0]
            recipients = settings.email.recipients.get(code, ())
            if not recipients:
                deliveries.append(Delivery(code, "no_recipients", "no address under email.recipients"))
                continue
            keys = {"week_label": week_label, "district_code": code}
            entry = None if dry_run else db.row(con, "reports/outbox_entry", **keys)
            skipped = _due(entry, now, code)
            if skipped:
                deliveries.append(skipped)
                continue
            files = _report_files(con, settings, week_start, district, language)
            message = _message(settings, files, week_label, tuple(recipients), now, language)
            if dry_run:
                outbox_folder.mkdir(parents=True, exist_ok=True)
                path = outbox_folder / f"{code}.eml"
                path.write_bytes(bytes(message))
                deliveries.append(Delivery(code, "written", str(path)))
                continue
            deliveries.append(_send_one(con, relay, settings, message, keys, entry[1] if entry else 0, now))
    finally:
        relay.close()
    return deliveries
