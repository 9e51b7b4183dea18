"""`surveil email` against a real SMTP server (aiosmtpd on 127.0.0.1, a free port).

The outbox makes delivery idempotent (a re-run sends nothing twice) and resumable (a
message the server refused goes out on a later run, after a backoff); STARTTLS and implicit
TLS are verified against a CA made here, with a login from environment variables.
"""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import subprocess
import sys

import duckdb
import pytest

from pipeline import db
from pipeline.config import load_settings
from pipeline.email_stage import deliver
from pipeline.report_stage import parse_iso_week
from tests.reports.conftest import REPORT_WEEK, SMTP_PASSWORD, SMTP_USER, Mailbox, free_port, smtp_server

USER_ENV, PASSWORD_ENV = "SRB_TEST_SMTP_USER", "SRB_TEST_SMTP_PASSWORD"
MESSAGE_ID = f"<srb-report-{REPORT_WEEK}-D1@example.org>"


def outbox(registry) -> list[tuple]:
    return registry.query("select status, attempts from outbox order by district_code")


def test_sends_once_with_html_text_and_pdf(email_config, surveil_cli):
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        config = email_config(port)
        first = surveil_cli("email", "--config", config, "--week", REPORT_WEEK)
        again = surveil_cli("email", "--config", config, "--week", REPORT_WEEK)
    assert first.exit_code == 0, first.output + first.stderr
    assert again.exit_code == 0 and "already_sent" in again.output
    assert len(mailbox.messages) == 1, "a re-run sends nothing twice"
    recipients, message = mailbox.messages[0]
    assert recipients == ["east.officer@example.org", "east.deputy@example.org"]
    assert message["Message-ID"] == MESSAGE_ID
    assert "东区" in message["Subject"] and REPORT_WEEK in message["Subject"]
    assert message.get_content_type() == "multipart/mixed"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "出生人口性别比周报" in text and "<html" in html
    assert "data:image" not in html and 'src="cid:' in html
    related = message.get_body(preferencelist=("related",))
    assert sum(part.get_content_type() == "image/png" for part in related.iter_parts()) >= 3
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"srb-{REPORT_WEEK}-D1.pdf"
    assert attachment.get_content().startswith(b"%PDF")
    # the district without recipients is reported, not silently skipped
    assert "D2" in first.output and "no_recipients" in first.output
    assert "no recipients configured for district D2" in first.stderr


def test_a_refused_message_goes_out_on_the_next_run(email_config, surveil_cli, report_registry):
    mailbox = Mailbox(refuse_data=1)
    with smtp_server(mailbox) as port:
        config = email_config(port)
        refused = surveil_cli("email", "--config", config, "--week", REPORT_WEEK)
        assert refused.exit_code == 1 and "451" in refused.output
        assert outbox(report_registry) == [("failed", 1)]
        retried = surveil_cli("email", "--config", config, "--week", REPORT_WEEK)
    assert retried.exit_code == 0, retried.output
    assert len(mailbox.messages) == 1
    assert outbox(report_registry) == [("sent", 2)]


def test_backoff_doubles_and_gives_up_after_max_attempts(email_config, report_registry):
    """A server that always answers DATA with 451, judged by a clock set by hand.

    With backoff b = 30 min the wait after the n-th failed attempt is b·2^(n-1): 30 min after
    the first, 60 after the second; the third of max_attempts = 3 abandons the message. A run
    before the wait is over only reports `waiting` and never connects (DATA count unchanged).
    """
    mailbox = Mailbox(refuse_data=99)
    t0 = dt.datetime(2025, 1, 6, 8, 0)
    minutes = dt.timedelta(minutes=1)
    plan = [  # (clock, outcome, DATA commands the server has seen, next_attempt_at)
        (t0, "failed", 1, t0 + 30 * minutes),
        (t0 + 29 * minutes, "waiting", 1, t0 + 30 * minutes),
        (t0 + 30 * minutes, "failed", 2, t0 + 90 * minutes),
        (t0 + 89 * minutes, "waiting", 2, t0 + 90 * minutes),
        (t0 + 90 * minutes, "abandoned", 3, None),
        (t0 + 24 * 60 * minutes, "abandoned", 3, None),
    ]
    with smtp_server(mailbox) as port:
        settings = load_settings(email_config(port, retry_backoff_minutes=30, max_attempts=3))
        with db.connect(report_registry.database) as con:
            for now, outcome, data_commands, next_attempt_at in plan:
                (delivery,) = deliver(con, settings, parse_iso_week(REPORT_WEEK), now=now, district_code="D1")
                assert (delivery.outcome, mailbox.data_commands) == (outcome, data_commands), now
                assert con.execute("select next_attempt_at from outbox").fetchall() == [(next_attempt_at,)]
    assert outbox(report_registry) == [("abandoned", 3)]
    assert mailbox.messages == []


def test_a_refused_recipient_is_recorded_and_reported(email_config, surveil_cli, report_registry):
    mailbox = Mailbox(refuse_rcpt=("east.deputy@example.org",))
    with smtp_server(mailbox) as port:
        config = email_config(port)
        first = surveil_cli("email", "--config", config, "--week", REPORT_WEEK)
        again = surveil_cli("email", "--config", config, "--week", REPORT_WEEK)
    assert first.exit_code == 1, "a refused recipient needs a person: the run says so"
    assert "sent_partly" in first.output
    assert "district D1: the server refused: east.deputy@example.org (550" in first.stderr
    assert [recipients for recipients, _ in mailbox.messages] == [["east.officer@example.org"]]
    ((status, refused),) = report_registry.query("select status, refused_recipients from outbox")
    assert status == "sent" and refused.startswith("east.deputy@example.org (550 5.1.1")
    assert again.exit_code == 0 and "already_sent" in again.output and "east.deputy" in again.output


def test_stale_and_other_language_reports_are_rendered_afresh(email_config, surveil_cli, report_registry):
    """Regression: the e-mail attached whatever files the reports folder held."""
    folder = report_registry.root / "var" / "reports" / REPORT_WEEK
    assert surveil_cli("report", "--config", report_registry.config, "--week", REPORT_WEEK, "--district", "D1",
                       "--language", "en").exit_code == 0
    (folder / "D1.txt").write_text("stale summary", encoding="utf-8")
    english_pdf = (folder / "D1.pdf").read_bytes()
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        result = surveil_cli("email", "--config", email_config(port), "--week", REPORT_WEEK)
    assert result.exit_code == 0, result.output + result.stderr
    ((_, message),) = mailbox.messages
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "stale" not in text and "出生人口性别比周报" in text and "出生人口性别比周报" in html
    assert "Weekly sex ratio at birth report" not in html
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content() != english_pdf
    assert attachment.get_content() == (folder / "D1.pdf").read_bytes(), "the folder holds what was sent"


def test_dry_run_writes_eml_and_leaves_the_outbox(email_config, surveil_cli, report_registry):
    config = email_config(1)
    result = surveil_cli("email", "--config", config, "--week", REPORT_WEEK, "--dry-run")
    assert result.exit_code == 0, result.output
    eml = report_registry.root / "var" / "outbox" / REPORT_WEEK / "D1.eml"
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["To"] == "east.officer@example.org, east.deputy@example.org"
    assert report_registry.query("select count(*) from outbox") == [(0,)]


def test_unreachable_server_is_a_failure_for_the_next_run(email_config, surveil_cli, report_registry):
    config = email_config(free_port())      # nothing listens there
    first = surveil_cli("email", "--config", config, "--week", REPORT_WEEK)
    second = surveil_cli("email", "--config", config, "--week", REPORT_WEEK)
    assert (first.exit_code, second.exit_code) == (1, 1)
    assert outbox(report_registry) == [("failed", 2)]
    ((error,),) = report_registry.query("select last_error from outbox")
    assert "refused" in error.lower()


# --- TLS and login ----------------------------------------------------------------------------


@pytest.fixture
def smtp_login(monkeypatch):
    monkeypatch.setenv(USER_ENV, SMTP_USER)
    monkeypatch.setenv(PASSWORD_ENV, SMTP_PASSWORD)


def test_starttls_with_login_and_missing_credentials(email_config, surveil_cli, report_registry, test_ca,
                                                     monkeypatch):
    """Regression: missing credentials left the outbox row `sending` for good (never resent).

    Now they stop the run before any connection (exit 2, nothing in the outbox), and the
    next run, with the variables set, sends over STARTTLS after logging in.
    """
    monkeypatch.delenv(USER_ENV, raising=False)
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    mailbox = Mailbox()
    with smtp_server(mailbox, "starttls", test_ca) as port:
        config = email_config(port, "starttls", ca_file=test_ca.ca_file, username_env=USER_ENV,
                              password_env=PASSWORD_ENV)
        missing = surveil_cli("email", "--config", config, "--week", REPORT_WEEK)
        assert missing.exit_code == 2
        assert f"environment variable {USER_ENV}, {PASSWORD_ENV} is not set" in missing.stderr
        assert outbox(report_registry) == [] and mailbox.data_commands == 0
        monkeypatch.setenv(USER_ENV, SMTP_USER)
        monkeypatch.setenv(PASSWORD_ENV, SMTP_PASSWORD)
        sent = surveil_cli("email", "--config", config, "--week", REPORT_WEEK)
    assert sent.exit_code == 0, sent.output + sent.stderr
    assert mailbox.logins == [SMTP_USER]
    assert len(mailbox.messages) == 1 and mailbox.tls_ciphers[0] is not None, "DATA went over TLS"
    assert outbox(report_registry) == [("sent", 1)]


def test_implicit_tls_with_login(email_config, surveil_cli, report_registry, test_ca, smtp_login):
    mailbox = Mailbox()
    with smtp_server(mailbox, "tls", test_ca) as port:
        config = email_config(port, "tls", ca_file=test_ca.ca_file, username_env=USER_ENV, password_env=PASSWORD_ENV)
        result = surveil_cli("email", "--config", config, "--week", REPORT_WEEK)
    assert result.exit_code == 0, result.output + result.stderr
    assert mailbox.logins == [SMTP_USER] and mailbox.tls_ciphers[0] is not None
    assert [recipients for recipients, _ in mailbox.messages] == [["east.officer@example.org",
                                                                   "east.deputy@example.org"]]


def test_an_unknown_certificate_is_refused_before_login(email_config, surveil_cli, report_registry, test_ca,
                                                        smtp_login):
    mailbox = Mailbox()
    with smtp_server(mailbox, "starttls", test_ca) as port:
        # no ca_file: the system's CAs do not know the test CA
        config = email_config(port, "starttls", username_env=USER_ENV, password_env=PASSWORD_ENV)
        result = surveil_cli("email", "--config", config, "--week", REPORT_WEEK)
    assert result.exit_code == 1
    assert mailbox.logins == [] and mailbox.data_commands == 0, "the password never went to an unverified server"
    ((status, error),) = report_registry.query("select status, last_error from outbox")
    assert status == "failed" and "CERTIFICATE_VERIFY_FAILED" in error


def test_credentials_are_never_sent_in_clear(email_config, surveil_cli, report_registry, smtp_login):
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        config = email_config(port, "none", username_env=USER_ENV, password_env=PASSWORD_ENV)
        result = surveil_cli("email", "--config", config, "--week", REPORT_WEEK)
    assert result.exit_code == 2
    assert 'security = "none" would send the SMTP password in clear' in result.stderr
    assert outbox(report_registry) == [] and mailbox.data_commands == 0


# --- a run killed mid-conversation ------------------------------------------------------------


def _killed_at(command: str, email_config) -> None:
    """Run `surveil email` in a child process and kill it (SIGKILL) where the server hangs: at ``command``."""
    hanging = Mailbox(hang_at=command)
    with smtp_server(hanging) as port:
        child = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "email", "--config", str(email_config(port)),
                                  "--week", REPORT_WEEK, "--district", "D1"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, env={**os.environ})
        try:
            assert hanging.reached.wait(180), "the child never reached the server"
        finally:
            child.kill()
            child.wait()


def test_a_run_killed_before_data_is_resent(email_config, surveil_cli, report_registry):
    _killed_at("RCPT", email_config)
    assert outbox(report_registry) == [("sending", 1)]
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        result = surveil_cli("email", "--config", email_config(port, reset_outbox=False), "--week", REPORT_WEEK)
    assert result.exit_code == 0, result.output + result.stderr
    assert len(mailbox.messages) == 1, "DATA was never issued: the server cannot hold it, so it is resent"
    assert outbox(report_registry) == [("sent", 2)]


def test_a_run_killed_after_data_is_not_resent_unless_asked(email_config, surveil_cli, report_registry):
    _killed_at("DATA", email_config)
    assert outbox(report_registry) == [("unconfirmed", 1)]
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        config = email_config(port, reset_outbox=False)
        held = surveil_cli("email", "--config", config, "--week", REPORT_WEEK)
        assert held.exit_code == 1 and "unconfirmed" in held.output and MESSAGE_ID in held.output
        assert mailbox.data_commands == 0, "at most once: the server may hold the first copy"
        resent = surveil_cli("email", "--config", config, "--week", REPORT_WEEK, "--resend-unconfirmed")
    assert resent.exit_code == 0, resent.output + resent.stderr
    assert len(mailbox.messages) == 1
    assert outbox(report_registry) == [("sent", 2)]



def test_an_outbox_made_before_refused_recipients_gains_the_column(tmp_path):
    """The migration sql/migrations/outbox_refused_recipients.sql, run by db.connect on an older database."""
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table outbox (week_label varchar, district_code varchar, message_id varchar, "
                    "recipients varchar, status varchar, attempts integer, last_error varchar, "
                    "last_attempt_at timestamp, next_attempt_at timestamp, sent_at timestamp, "
                    "primary key (week_label, district_code))")
        con.execute("insert into outbox values ('2024-W52', 'D1', '<m@x>', 'a@x', 'sent', 1, null, "
                    "'2024-12-30 08:00', null, '2024-12-30 08:00')")
    with db.connect(path) as con:
        assert con.execute("select status, refused_recipients from outbox").fetchall() == [("sent", None)]
