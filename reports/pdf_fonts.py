"""A small CJK font for the PDFs, cut once per set of characters from Noto Sans CJK.

Why: WeasyPrint subsets every font it embeds while keeping glyph ids, which on a full
CJK font (65,535 CFF glyphs) costs ~20 s per face and per document. Cutting the font
first down to the characters the reports use (labels, area names, digits) costs under a
second, is cached on disk by the characters' digest, and leaves WeasyPrint a font of a
few hundred glyphs. Characters outside the cut still render through fontconfig.
"""
from __future__ import annotations

import hashlib
import multiprocessing
import os
import string
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont
from matplotlib import font_manager

from reports.fonts import cjk_family

FAMILY = "Report CJK"
# Always in the cut, whatever the documents hold: digits, Latin and the punctuation of the templates.
BASE_CHARACTERS = string.printable + "–—−≥≤·•…（）：，。；、“”‘’《》％°×"


@cache
def _faces(family: str) -> dict[int, tuple[str, int]]:
    """weight (400, 700) -> (font file, index in the collection) of the family's faces."""
    faces: dict[int, tuple[str, int]] = {}
    for entry in font_manager.fontManager.ttflist:
        if entry.name != family or entry.style != "normal":
            continue
        weight = 700 if int(entry.weight) >= 600 else 400
        if weight in faces or int(entry.weight) not in (400, 700):
            continue
        faces[weight] = (entry.fname, _index_in_collection(entry.fname, family))
    return faces


def _index_in_collection(path: str, family: str) -> int:
    if not path.lower().endswith((".ttc", ".otc")):
        return 0
    collection = TTCollection(path, lazy=True)
    for index, font in enumerate(collection.fonts):
        if font["name"].getDebugName(1) == family:
            return index
    return 0


def _cut(source: tuple[str, int], characters: str, target: Path) -> None:
    options = subset.Options()
    options.notdef_outline = True
    # done here once, so WeasyPrint's own per-document subsetting has less left to do
    options.hinting = False
    options.desubroutinize = True
    font = TTFont(source[0], fontNumber=source[1], lazy=True)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=characters)
    subsetter.subset(font)
    # a name of its own, so fontconfig never confuses the cut with the full system font
    for record in font["name"].names:
        if record.nameID in (1, 4, 16):
            record.string = FAMILY
        elif record.nameID == 6:
            record.string = FAMILY.replace(" ", "") + ("-Bold" if "Bold" in str(record.toUnicode()) else "")
    partial = target.with_suffix(".partial")
    font.save(partial)
    partial.replace(target)   # another process never reads a half-written font


def _cut_all(jobs: list[tuple[tuple[str, int], str, Path]]) -> None:
    """Cut the faces (regular, bold), in parallel when there are two and two cores (CPU-bound)."""
    if len(jobs) > 1 and (os.cpu_count() or 1) > 1:
        with ProcessPoolExecutor(len(jobs), mp_context=multiprocessing.get_context("fork")) as pool:
            list(pool.map(_cut, *zip(*jobs, strict=True)))
    else:
        for job in jobs:
            _cut(*job)


def font_face_css(characters: str, folder: Path) -> str:
    """CSS ``@font-face`` rules for a CJK font cut to ``characters`` (cached in ``folder``).

    Returns an empty string when no CJK font is found: the report is then printed in English
    with area names reduced to their Latin part (``reports.fonts``), which any font can draw.
    """
    family = cjk_family()
    faces = _faces(family) if family else {}
    if not faces:
        return ""
    wanted = "".join(sorted(set(characters) | set(BASE_CHARACTERS)))
    digest = hashlib.sha256(f"{family}\n{wanted}".encode()).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    targets = {weight: folder / f"report-cjk-{weight}-{digest}.otf" for weight in faces}
    _cut_all([(faces[weight], wanted, target) for weight, target in targets.items() if not target.exists()])
    rules = []
    for weight, target in sorted(targets.items()):
        rules.append(f'@font-face {{ font-family: "{FAMILY}"; font-weight: {weight}; '
                     f'src: url("{target.as_uri()}"); }}')
    rules.append(f'html, body {{ font-family: "{FAMILY}", sans-serif !important; }}')
    return "\n".join(rules)
