"""One district's weekly e-mail as a MIME message: text and HTML alternatives, the PDF attached.

Structure (RFC 2046)::

    multipart/mixed
      multipart/alternative
        text/plain                 the plain-text summary
        multipart/related
          text/html                the report, charts referenced as cid:
          image/png ...            one part per chart
      application/pdf              the full report

Charts are data URIs in the report's HTML (self-contained for a browser); many mail
clients block data URIs, so here they become related parts referenced by Content-ID.
"""
from __future__ import annotations

import base64
import datetime as dt
import re
from email.message import EmailMessage
from email.utils import format_datetime

_DATA_URI = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def message_id(week_label: str, district_code: str, sender: str) -> str:
    """A Message-ID fixed by district and week, so a receiving server can drop a duplicate.

    >>> message_id("2025-W52", "440604", "srb@example.org")
    '<srb-report-2025-W52-440604@example.org>'
    """
    domain = sender.rpartition("@")[2] or "localhost"
    return f"<srb-report-{week_label}-{district_code}@{domain}>"


def _charts_as_related(html: str, stem: str) -> tuple[str, list[tuple[str, bytes]]]:
    images: list[tuple[str, bytes]] = []

    def to_cid(match: re.Match) -> str:
        cid = f"chart{len(images) + 1}.{stem}"
        images.append((cid, base64.b64decode(match[1])))
        return f'src="cid:{cid}"'

    return _DATA_URI.sub(to_cid, html), images


def build_message(*, sender: str, recipients: tuple[str, ...], subject: str, html: str, text: str, pdf: bytes,
                  pdf_name: str, msg_id: str, date: dt.datetime) -> EmailMessage:
    """The MIME message for one district and week.

    Parameters
    ----------
    sender, recipients : addresses (``recipients`` must not be empty).
    subject : the subject line (UTF-8 is encoded per RFC 2047 by the library).
    html, text : the report and its plain-text summary.
    pdf, pdf_name : the PDF's bytes and the attachment's file name.
    msg_id : from :func:`message_id`.
    date : the Date header (timezone-aware).
    """
    if not recipients:
        raise ValueError("a message needs at least one recipient")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Message-ID"] = msg_id
    message["Date"] = format_datetime(date)
    message.set_content(text, subtype="plain", charset="utf-8")
    stem = msg_id.strip("<>")
    html_with_cids, images = _charts_as_related(html, stem)
    message.add_alternative(html_with_cids, subtype="html", charset="utf-8")
    html_part = message.get_payload()[1]
    for cid, png in images:
        html_part.add_related(png, maintype="image", subtype="png", cid=f"<{cid}>")
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=pdf_name)
    return message
