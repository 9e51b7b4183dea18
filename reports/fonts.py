"""A CJK font for the reports, found once among the fonts matplotlib sees.

Debian's ``fonts-noto-cjk`` (installed by ``tools/system-deps.sh``) provides Noto Sans CJK.
Without any CJK font the whole report falls back to English (labels, charts, and area names
reduced to their Latin part), so a reader never sees empty boxes in place of characters;
``surveil report`` and ``surveil email`` say so in one warning.

``SURVEIL_FONT_DIRS`` (folders separated by ``os.pathsep``) limits the search to the fonts
in those folders: for a machine whose CJK font lives outside the system's font folders, and
to check the fallback on a machine that has one (an empty folder finds none).
"""
from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from matplotlib import font_manager

FONT_DIRS_ENV = "SURVEIL_FONT_DIRS"
# Preferred first; any family whose name holds "CJK" is accepted after these.
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Serif CJK SC", "Source Han Sans SC",
                "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback", "AR PL UMing CN")
NO_CJK_FONT_WARNING = ("no CJK font found (Debian package: fonts-noto-cjk); the reports are in English, "
                       "area names in their Latin part")


def _available_families() -> set[str]:
    folders = [folder for folder in os.environ.get(FONT_DIRS_ENV, "").split(os.pathsep) if folder]
    if not folders:
        return {entry.name for entry in font_manager.fontManager.ttflist}
    files = {str(Path(path).resolve()) for path in font_manager.findSystemFonts(fontpaths=folders)}
    known = {str(Path(entry.fname).resolve()) for entry in font_manager.fontManager.ttflist}
    for path in sorted(files - known):
        font_manager.fontManager.addfont(path)   # so charts and the PDF font cut can use it
    return {entry.name for entry in font_manager.fontManager.ttflist if str(Path(entry.fname).resolve()) in files}


@cache
def cjk_family() -> str | None:
    """The family name of an installed CJK font, or None when there is none."""
    available = _available_families()
    for family in CJK_FAMILIES:
        if family in available:
            return family
    return next((name for name in sorted(available) if "CJK" in name), None)


def chart_language(language: str) -> str:
    """The language charts can be labelled in: the report's, or English without a CJK font."""
    return language if language == "en" or cjk_family() else "en"


def report_language(language: str) -> str:
    """The language a whole report can be printed in: as asked, or English without a CJK font.

    >>> report_language("en")
    'en'
    """
    return chart_language(language)
