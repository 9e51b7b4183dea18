"""The MIME shape of one district's message, built without a server."""
from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy

import pytest

from reports.email_message import build_message, message_id

PNG = base64.b64encode(b"\x89PNG fake").decode()


def test_charts_become_related_parts_and_the_pdf_an_attachment():
    html = f'<html><body><img src="data:image/png;base64,{PNG}"><img src="data:image/png;base64,{PNG}"></body></html>'
    msg = build_message(sender="a@example.org", recipients=("b@example.org",), subject="周报 · 2025-W52", html=html,
                        text="plain", pdf=b"%PDF-1.7", pdf_name="r.pdf",
                        msg_id=message_id("2025-W52", "440604", "a@example.org"),
                        date=dt.datetime(2025, 12, 29, 8, tzinfo=dt.UTC))
    parsed = email.message_from_bytes(bytes(msg), policy=email.policy.default)
    assert parsed["Subject"] == "周报 · 2025-W52"
    assert [p.get_content_type() for p in parsed.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "multipart/related", "text/html",
        "image/png", "image/png", "application/pdf"]
    html_part = parsed.get_body(preferencelist=("html",)).get_content()
    assert html_part.count('src="cid:') == 2 and "data:image" not in html_part


def test_a_message_needs_a_recipient():
    with pytest.raises(ValueError):
        build_message(sender="a@example.org", recipients=(), subject="s", html="", text="", pdf=b"", pdf_name="r.pdf",
                      msg_id="<x@y>", date=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
