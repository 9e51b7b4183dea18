"""`surveil email` against a real SMTP server (aiosmtpd on 127.0.0.1, a free port).

The outbox makes delivery idempotent (a re-run sends nothing twice) and resumable (a
message the server refused once goes out on the next run).
"""
from __future__ import annotations

import email
import email.policy
import socket
from contextlib import contextmanager

import pytest
from aiosmtpd.controller import Controller

from tests.reports.conftest import REPORT_WEEK


class Mailbox:
    """An SMTP handler that keeps what it accepts; it refuses the first `refuse` DATA commands with 451."""

    def __init__(self, refuse: int = 0) -> None:
        self.refuse = refuse
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.refuse:
            self.refuse -= 1
            return "451 4.3.0 try again later"
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def smtp_server(mailbox: Mailbox):
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@pytest.fixture
def registry_with_port(report_registry):
    """Point the session registry's [email] at a port; restore the file afterwards."""
    original = report_registry.config.read_text(encoding="utf-8")

    def use(port: int, week_outbox_reset: bool = True):
        report_registry.config.write_text(original.replace("smtp_port = 1\n", f"smtp_port = {port}\n"),
                                          encoding="utf-8")
        if week_outbox_reset:
            import duckdb
            with duckdb.connect(str(report_registry.database)) as con:
                con.execute("delete from outbox")
        return report_registry.config

    yield use
    report_registry.config.write_text(original, encoding="utf-8")


def test_sends_once_with_html_text_and_pdf(registry_with_port, surveil_cli):
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        config = registry_with_port(port)
        first = surveil_cli("email", "--config", config, "--week", REPORT_WEEK)
        again = surveil_cli("email", "--config", config, "--week", REPORT_WEEK)
    assert first.exit_code == 0, first.output + first.stderr
    assert again.exit_code == 0 and "already_sent" in again.output
    assert len(mailbox.messages) == 1, "a re-run sends nothing twice"
    recipients, message = mailbox.messages[0]
    assert recipients == ["east.officer@example.org", "east.deputy@example.org"]
    assert message["Message-ID"] == f"<srb-report-{REPORT_WEEK}-D1@example.org>"
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


def test_a_refused_message_goes_out_on_the_next_run(registry_with_port, surveil_cli, report_registry):
    mailbox = Mailbox(refuse=1)
    with smtp_server(mailbox) as port:
        config = registry_with_port(port)
        refused = surveil_cli("email", "--config", config, "--week", REPORT_WEEK)
        assert refused.exit_code == 1 and "451" in refused.output
        assert report_registry.query("select status, attempts from outbox") == [("failed", 1)]
        retried = surveil_cli("email", "--config", config, "--week", REPORT_WEEK)
    assert retried.exit_code == 0, retried.output
    assert len(mailbox.messages) == 1
    assert report_registry.query("select status, attempts from outbox") == [("sent", 2)]


def test_dry_run_writes_eml_and_leaves_the_outbox(registry_with_port, surveil_cli, report_registry):
    config = registry_with_port(1)
    result = surveil_cli("email", "--config", config, "--week", REPORT_WEEK, "--dry-run")
    assert result.exit_code == 0, result.output
    eml = report_registry.root / "var" / "outbox" / REPORT_WEEK / "D1.eml"
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["To"] == "east.officer@example.org, east.deputy@example.org"
    assert report_registry.query("select count(*) from outbox") == [(0,)]


def test_unreachable_server_is_a_failure_for_the_next_run(registry_with_port, surveil_cli, report_registry):
    config = registry_with_port(free_port())      # nothing listens there
    result = surveil_cli("email", "--config", config, "--week", REPORT_WEEK)
    assert result.exit_code == 1
    assert report_registry.query("select status from outbox") == [("failed",)]
