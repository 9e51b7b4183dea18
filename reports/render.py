"""Render a laid-out report as self-contained HTML, plain text and PDF (WeasyPrint).

Without a CJK font (``reports.fonts``) area names are printed by their Latin part, so a
document never shows boxes; the caller has already switched the labels to English.
"""
from __future__ import annotations

import logging
from functools import cache, partial
from pathlib import Path

import jinja2

from reports.fonts import cjk_family
from reports.i18n import label, latin_only
from reports.layout import Layout

TEMPLATES = Path(__file__).resolve().parent / "templates"


@cache
def _environment(autoescape: bool) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=autoescape,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True)


def _render(name: str, layout: Layout, *, autoescape: bool) -> str:
    template = _environment(autoescape).get_template(name)
    fields = layout.fields if cjk_family() else _latin_names(layout.fields)
    return template.render(t=partial(_translate, fields["language"]), **fields)


def _latin_names(fields: dict) -> dict:
    """The fields with every area name reduced to its Latin part (else its code)."""
    def alert(view: dict) -> dict:
        return {**view, "area": latin_only(view["area"], f"({view['area_code']})")}

    return {**fields, "district_name": latin_only(fields["district_name"], fields["district_code"]),
            "towns": [{**town, "name": latin_only(town["name"], town["code"])} for town in fields["towns"]],
            "alerts_new": [alert(view) for view in fields["alerts_new"]],
            "alerts_ongoing": [alert(view) for view in fields["alerts_ongoing"]]}


def _translate(language: str, key: str, **values: object) -> str:
    return label(key, language, **values)


def render_html(layout: Layout) -> str:
    """The report as one HTML document: inline CSS, charts as data URIs, no external fetches."""
    return _render("report.html.j2", layout, autoescape=True)


def render_text(layout: Layout) -> str:
    """The report's plain-text summary: the e-mail's text alternative."""
    return _render("report.txt.j2", layout, autoescape=False)


# Printing only: WeasyPrint lays out CSS grid slowly (half the print time of a report with many
# alerts, each with its grid of key and value); floats print the same two columns far faster.
# (These are user stylesheets for WeasyPrint: only !important overrides the document's own CSS.)
PDF_CSS = """
.alert dl { display: block !important; overflow: hidden; }
.alert dt { float: left; clear: left; width: 8.5em; }
.alert dd { margin-left: 9.2em !important; }
"""


def render_pdf(html: str, font_css: str = "") -> bytes:
    """The HTML printed to PDF (A4) by WeasyPrint.

    ``font_css`` is the ``@font-face`` of a CJK font cut to the documents' characters
    (``reports.pdf_fonts.font_face_css``); without it fonts come from fontconfig, slowly.
    """
    import weasyprint  # slow to import: only when a PDF is wanted

    # WeasyPrint logs every CSS property it ignores (e.g. -webkit-overflow-scrolling) as a warning
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    # @font-face rules take effect only through the FontConfiguration the document is written with
    font_config = weasyprint.text.fonts.FontConfiguration()
    stylesheets = [weasyprint.CSS(string=PDF_CSS + font_css, font_config=font_config)]
    return weasyprint.HTML(string=html, base_url=str(TEMPLATES)).write_pdf(stylesheets=stylesheets,
                                                                          font_config=font_config)
