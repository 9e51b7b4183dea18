"""A CJK font for chart labels, found once among the fonts matplotlib sees.

Debian's ``fonts-noto-cjk`` (installed by ``tools/system-deps.sh``) provides Noto Sans CJK.
Without any CJK font, charts fall back to English labels (and Latin area names), so a
reader never sees empty boxes in place of characters.
"""
from __future__ import annotations

from functools import cache

from matplotlib import font_manager

# Preferred first; any family whose name holds "CJK" is accepted after these.
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Serif CJK SC", "Source Han Sans SC",
                "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback", "AR PL UMing CN")


@cache
def cjk_family() -> str | None:
    """The family name of an installed CJK font, or None when there is none."""
    available = {entry.name for entry in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in available:
            return family
    return next((name for name in sorted(available) if "CJK" in name), None)


def chart_language(language: str) -> str:
    """The language charts can be labelled in: the report's, or English without a CJK font."""
    return language if language == "en" or cjk_family() else "en"
