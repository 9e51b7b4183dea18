"""E-mail the weekly district reports through SMTP, once per district and week.

The ``outbox`` table (sql/schema/060_outbox.sql) makes delivery idempotent and resumable.
One attempt moves a row through these states::

    connect (and log in) ──► sending ──► MAIL, RCPT ──► unconfirmed ──► DATA ──► sent
       │ fails                  │ refused / lost            │ refused with a reply
       ▼                        ▼                           ▼
     failed ◄───────────────────┴───────────────────────────┘   (retried after a backoff)

- ``failed``: the server answered with a refusal, or the network failed, before it accepted the
  DATA: it does not hold the message. Retried on a later run once ``next_attempt_at`` has
  passed; the wait doubles with every attempt (``email.retry_backoff_minutes`` · 2^(attempts - 1)),
  and after ``email.max_attempts`` the message is ``abandoned`` and reported.
- ``sending`` found at the start of a run: the process that wrote it died before issuing DATA,
  so the server cannot hold the message; it is resent (the dead attempt counts). DuckDB lets
  one process at a time write the database, so no live run can own such a row.
- ``unconfirmed``: DATA was issued and no reply recorded (a lost connection, a timeout, a
  killed process). The server may have accepted it. Delivery is **at most once**: a duplicate
  weekly report would teach officers to ignore duplicates, and the stable Message-ID lets a
  person find the message in the relay's log; the run reports it and ``--resend-unconfirmed``
  sends it again once checked.
- ``sent``: never sent again. Recipients the server refused at RCPT are kept in
  ``refused_recipients`` and reported (the message reached the others).

Credentials come from the environment variables named in the config; they are read before
any connection, and refused over ``security = "none"``. Reports are rendered afresh for the
messages due (never a stale file or another language's), and ``--dry-run`` writes each message
as ``<outbox_dir>/<YYYY-Www>/<district>.eml`` and leaves the outbox alone. A district without
recipients is reported, never silently skipped.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.message import EmailMessage
from pathlib import Path

import duckdb

from pipeline import db
from pipeline.config import EmailSettings, Settings
from pipeline.errors import ConfigError
from pipeline.report_stage import ReportFiles, districts, iso_week_label, write_reports
from reports.email_message import build_message, message_id
from reports.i18n import label

# outcomes after which `surveil email` still succeeds
FINE_OUTCOMES = frozenset({"sent", "written", "already_sent", "waiting"})


@dataclass(frozen=True)
class Delivery:
    """What happened to one district's message on this run."""

    district_code: str
    # sent | sent_partly | written | already_sent | waiting | failed | abandoned | unconfirmed | no_recipients
    outcome: str
    detail: str = ""


def retry_after(attempts: int, backoff_minutes: float) -> dt.timedelta:
    """The wait before the next attempt after ``attempts`` failed ones (exponential backoff).

    >>> [retry_after(n, 30).total_seconds() / 60 for n in (1, 2, 3)]
    [30.0, 60.0, 120.0]
    """
    return dt.timedelta(minutes=backoff_minutes * 2 ** max(attempts - 1, 0))


def smtp_credentials(settings: EmailSettings) -> tuple[str, str] | None:
    """(username, password) from the environment variables the config names, or None.

    Raises ConfigError when a named variable is unset, when only one of the two is named, or
    when credentials would cross the network in clear (``security = "none"``).
    """
    names = {"username_env": settings.username_env, "password_env": settings.password_env}
    if not any(names.values()):
        return None
    if not all(names.values()):
        unset = next(key for key, name in names.items() if not name)
        raise ConfigError(f"[email] {unset}: set both username_env and password_env, or neither")
    if settings.security == "none":
        raise ConfigError('[email] security = "none" would send the SMTP password in clear: '
                          'use "starttls" or "tls", or drop username_env / password_env')
    missing = [name for name in names.values() if not os.environ.get(name)]
    if missing:
        raise ConfigError(f"[email] credentials: environment variable {', '.join(missing)} is not set")
    return os.environ[settings.username_env], os.environ[settings.password_env]


def _flatten(message: EmailMessage) -> bytes:
    """The message as it goes over the wire (as ``smtplib.SMTP.send_message`` flattens it)."""
    with io.BytesIO() as buffer:
        BytesGenerator(buffer).flatten(message, linesep="\r\n")
        return buffer.getvalue()


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:300] or type(error).__name__


class Relay:
    """One SMTP connection for the run, opened on first use (STARTTLS, implicit TLS or plain).

    The certificate is always verified (against ``ca_file`` when set, else the system's CAs).
    A connection that failed once is not retried within the run: every later message gets
    the same error, and waits for the next run.
    """

    def __init__(self, settings: EmailSettings, base: Callable[[Path], Path],
                 credentials: tuple[str, str] | None) -> None:
        self.settings = settings
        self.credentials = credentials
        self.context = ssl.create_default_context(
            cafile=str(base(settings.ca_file)) if settings.ca_file else None)
        self.connection: smtplib.SMTP | None = None
        self.error: BaseException | None = None

    def connect(self) -> None:
        """Open the connection (TLS, login) unless open; raises SMTPException or OSError."""
        if self.connection is not None:
            return
        if self.error is not None:
            raise self.error
        s = self.settings
        try:
            if s.security == "tls":
                connection = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.timeout_seconds,
                                              context=self.context)
            else:
                connection = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.timeout_seconds)
                if s.security == "starttls":
                    connection.starttls(context=self.context)
            if self.credentials:
                connection.login(*self.credentials)
        except (smtplib.SMTPException, OSError) as error:
            self.error = error
            raise
        self.connection = connection

    def envelope(self, sender: str, recipients: tuple[str, ...], size: int) -> dict[str, str]:
        """MAIL FROM and RCPT TO; returns the refused recipients (address -> reply).

        Raises SMTPSenderRefused, or SMTPRecipientsRefused when every recipient is refused.
        """
        connection = self.connection
        connection.ehlo_or_helo_if_needed()
        options = [f"size={size}"] if connection.does_esmtp and connection.has_extn("size") else []
        code, reply = connection.mail(sender, options)
        if code != 250:
            self.reset()
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        refused = {}
        for address in recipients:
            code, reply = connection.rcpt(address)
            if code not in (250, 251):
                refused[address] = f"{code} {reply.decode(errors='replace')}"
        if len(refused) == len(recipients):
            self.reset()
            raise smtplib.SMTPRecipientsRefused(refused)
        return refused

    def data(self, content: bytes) -> None:
        """DATA; raises SMTPDataError when the server refuses it with a reply."""
        code, reply = self.connection.data(content)
        if code != 250:
            self.reset()
            raise smtplib.SMTPDataError(code, reply)

    def reset(self) -> None:
        """End the current mail transaction, or drop the connection if that fails too."""
        try:
            self.connection.rset()
        except (smtplib.SMTPException, OSError):
            self.drop()

    def drop(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(OSError):
                self.connection.close()
        self.connection = None

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


@dataclass(frozen=True)
class _Attempt:
    """One message on its way: the outbox key, what was tried before, the clock."""

    keys: dict
    message: EmailMessage
    recipients: tuple[str, ...]
    attempts: int          # this attempt included
    now: dt.datetime

    def record(self, con, query: str, **values) -> None:
        db.run(con, f"reports/{query}", **self.keys, message_id=self.message["Message-ID"],
               recipients=", ".join(self.recipients), attempts=self.attempts, now=self.now, **values)


def _failed(con, email: EmailSettings, attempt: _Attempt, error: BaseException) -> Delivery:
    text = _one_line(error)
    give_up = attempt.attempts >= email.max_attempts
    retry_at = None if give_up else attempt.now + retry_after(attempt.attempts, email.retry_backoff_minutes)
    attempt.record(con, "outbox_failed", status="abandoned" if give_up else "failed", last_error=text,
                   next_attempt_at=retry_at)
    detail = f"attempt {attempt.attempts}: {text}" + ("" if give_up else f"; retry after {retry_at:%Y-%m-%d %H:%M}")
    return Delivery(attempt.keys["district_code"], "abandoned" if give_up else "failed", detail)


def _send_one(con, relay: Relay, email: EmailSettings, attempt: _Attempt) -> Delivery:
    code = attempt.keys["district_code"]
    try:
        relay.connect()
    except (smtplib.SMTPException, OSError) as error:
        return _failed(con, email, attempt, error)
    content = _flatten(attempt.message)
    attempt.record(con, "outbox_begin")
    try:
        refused = relay.envelope(email.sender, attempt.recipients, len(content))
    except (smtplib.SMTPException, OSError) as error:
        if not isinstance(error, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused):
            relay.drop()
        return _failed(con, email, attempt, error)
    refused_text = "; ".join(f"{address} ({reply})" for address, reply in refused.items()) or None
    attempt.record(con, "outbox_data_started", refused_recipients=refused_text)
    try:
        relay.data(content)
    except smtplib.SMTPResponseException as error:     # a refusal with a reply: the server does not hold it
        return _failed(con, email, attempt, error)
    except (smtplib.SMTPException, OSError) as error:  # no reply: it may hold it (at most once)
        relay.drop()
        attempt.record(con, "outbox_unanswered", last_error=_one_line(error))
        return Delivery(code, "unconfirmed", f"{attempt.message['Message-ID']}: {_one_line(error)}; "
                                             "check the relay, then --resend-unconfirmed")
    attempt.record(con, "outbox_sent")
    if refused_text:
        return Delivery(code, "sent_partly", f"refused: {refused_text}")
    return Delivery(code, "sent", ", ".join(attempt.recipients))


def _due(entry: tuple | None, now: dt.datetime, code: str, resend_unconfirmed: bool) -> Delivery | None:
    """None when the message should be attempted now, else why not."""
    if entry is None:
        return None
    status, attempts, next_attempt_at, sent_at, last_error, refused, msg_id = entry
    if status == "sent":
        refused_text = f"; refused: {refused}" if refused else ""
        return Delivery(code, "already_sent", f"at {sent_at:%Y-%m-%d %H:%M}{refused_text}")
    if status == "unconfirmed" and not resend_unconfirmed:
        return Delivery(code, "unconfirmed", f"{msg_id}: a run lost the server's reply to DATA "
                                             f"({last_error or 'killed'}); check the relay, then --resend-unconfirmed")
    if status == "abandoned":
        return Delivery(code, "abandoned", f"after {attempts} attempts: {last_error}")
    if status == "failed" and next_attempt_at is not None and next_attempt_at > now:
        return Delivery(code, "waiting", f"attempt {attempts} failed ({last_error}); retry after "
                                         f"{next_attempt_at:%Y-%m-%d %H:%M}")
    return None   # never tried, failed and due, or `sending` left by a dead run (DATA never issued)


def _fresh_reports(con, settings: Settings, week_start: dt.date, due: list[str], every: list[str],
                   language: str) -> dict[str, ReportFiles]:
    """The due districts' reports rendered afresh from the latest run, in the language asked for.

    A file left in the reports folder may be from an older run or in the other language. All
    districts render in one batch (in parallel); a few left over from an earlier run, one by one.
    """
    batches = [None if len(every) > 1 else every[0]] if due == every else due
    return {files.district_code: files for code in batches
            for files in write_reports(con, settings, week_start, district_code=code, language=language)}


def deliver(con: duckdb.DuckDBPyConnection, settings: Settings, week_start: dt.date, *, now: dt.datetime,
            dry_run: bool = False, district_code: str | None = None, language: str | None = None,
            resend_unconfirmed: bool = False) -> list[Delivery]:
    """Send (or with ``dry_run`` write as .eml) each due district's report for the week.

    ``now`` is the clock the outbox's backoff is judged by. Raises ConfigError (before any
    connection or outbox write) when the credentials are not usable.
    """
    language = language or settings.report.language
    week_label = iso_week_label(week_start)
    credentials = None if dry_run else smtp_credentials(settings.email)
    deliveries, due = [], []
    order = [code for code, _ in districts(con, district_code)]
    for code in order:
        recipients = tuple(settings.email.recipients.get(code, ()))
        if not recipients:
            deliveries.append(Delivery(code, "no_recipients", "no address under email.recipients"))
            continue
        keys = {"week_label": week_label, "district_code": code}
        entry = None if dry_run else db.row(con, "reports/outbox_entry", **keys)
        skipped = _due(entry, now, code, resend_unconfirmed)
        if skipped:
            deliveries.append(skipped)
        else:
            due.append((keys, recipients, entry[1] if entry else 0))
    if not due:
        return deliveries
    files = _fresh_reports(con, settings, week_start, [keys["district_code"] for keys, _, _ in due], order, language)
    relay = Relay(settings.email, settings.resolve, credentials)
    try:
        for keys, recipients, attempts_before in due:
            code = keys["district_code"]
            message = _message(settings, files[code], week_label, recipients, now, language)
            if dry_run:
                path = settings.resolve(settings.email.outbox_dir) / week_label / f"{code}.eml"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(bytes(message))
                deliveries.append(Delivery(code, "written", str(path)))
                continue
            attempt = _Attempt(keys, message, recipients, attempts_before + 1, now)
            deliveries.append(_send_one(con, relay, settings.email, attempt))
    finally:
        relay.close()
    return sorted(deliveries, key=lambda d: order.index(d.district_code))
