"""Compatibility with the CLL-STR benchmark LMDBs (`--compat cll`).

CLL-STR stores Bengali, Devanagari and Arabic labels as tab-separated units (each
grapheme or character followed by `\\t`), and Arabic in **visual** order written with
Arabic presentation forms (U+FB50-U+FDFF, U+FE70-U+FEFF). `cll_to_logical` turns such a
label into strtool's storage form, NFC in logical order:

1. remove the tabs;
2. undo the visual ordering of a single line (`visual_to_logical`, below);
3. map each presentation form back to its base letters with NFKC applied to **that code
   point only** (`ﻻ` -> `ل` + `ا`; never NFKC on the whole string, which would fold
   other compatibility characters);
4. NFC.

Step 3 runs after step 2 so that a ligature, one unit in visual order, expands to its
letters in logical order. Labels without tabs, presentation forms or right-to-left
letters come out unchanged (apart from NFC).

Single-line bidi un-reordering. For a line whose paragraph direction is right-to-left
(any Arabic/Hebrew letter present), the Unicode bidi algorithm gives level 1 to RTL
letters and level 2 to left-to-right runs (Latin letters and digits, with `.`/`,`/`:`
between digits and `%`/currency next to them joining the number). Neutrals (spaces,
punctuation) take level 2 only between two left-to-right neighbours, else level 1.
Display reverses the level-2 runs and then the whole line; that operation is its own
inverse for these levels, so applying it to the visual string restores the logical one.
Characters at level 1 are also mirrored back (`(` <-> `)`), as display mirrors them.
Lines with no RTL letter are left-to-right and unchanged.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

_MIRROR = dict(zip("()[]{}<>«»", ")(][}{><»«", strict=True))
_NUM_SEP = frozenset(".,:/")
_NUM_TERM = frozenset("%‰$€£¥٪")


def is_presentation_form(ch: str) -> bool:
    """True for Arabic presentation forms A (U+FB50-FDFF) and B (U+FE70-FEFF)."""
    cp = ord(ch)
    return 0xFB50 <= cp <= 0xFDFF or 0xFE70 <= cp <= 0xFEFF


def _strong(ch: str) -> str:
    """'R', 'L', 'D' (digit) or 'N' (neutral) for one code point."""
    bc = unicodedata.bidirectional(ch)
    if bc in ("R", "AL"):
        return "R"
    if bc == "L":
        return "L"
    if bc in ("EN", "AN"):
        return "D"
    return "N"


def _classes(text: str) -> list[str]:
    cls = [_strong(c) for c in text]
    for i, c in enumerate(text):  # marks take the class of their base
        if unicodedata.bidirectional(c) == "NSM" and i > 0:
            cls[i] = cls[i - 1]
    for i, c in enumerate(text):  # separators between digits, terminators beside them
        if cls[i] != "N":
            continue
        left = cls[i - 1] if i > 0 else "N"
        right = cls[i + 1] if i + 1 < len(text) else "N"
        if c in _NUM_SEP and left == "D" and right == "D":
            cls[i] = "D"
        elif c in _NUM_TERM and "D" in (left, right):
            cls[i] = "D"
    return cls


def _levels(text: str) -> list[int]:
    """Bidi embedding levels (1 = RTL, 2 = LTR run) in an RTL paragraph."""
    cls = _classes(text)
    levels = [1 if c == "R" else 2 if c in "LD" else 0 for c in cls]
    i = 0
    while i < len(text):
        if levels[i]:
            i += 1
            continue
        j = i
        while j < len(text) and not levels[j]:
            j += 1
        before = cls[i - 1] if i > 0 else "R"
        after = cls[j] if j < len(text) else "R"
        lvl = 2 if before == "L" and after == "L" else 1
        levels[i:j] = [lvl] * (j - i)
        i = j
    return levels


def reorder_line(text: str) -> str:
    """Visual <-> logical order of one RTL line (self-inverse); LTR lines unchanged."""
    if not any(_strong(c) == "R" or is_presentation_form(c) for c in text):
        return text
    levels = _levels(text)
    chars = [(_MIRROR.get(c, c) if lv == 1 else c) for c, lv in zip(text, levels, strict=True)]
    out: list[str] = []
    i = 0
    while i < len(chars):  # reverse each level-2 run in place
        j = i
        while j < len(chars) and levels[j] == levels[i]:
            j += 1
        seg = chars[i:j]
        out.extend(reversed(seg) if levels[i] == 2 else seg)
        i = j
    return "".join(reversed(out))


def visual_to_logical(text: str) -> str:
    """Logical order of a visually ordered single line (see module docstring)."""
    return reorder_line(text)


def unshape(text: str) -> str:
    """Replace each Arabic presentation form by its NFKC letters, nothing else."""
    return "".join(unicodedata.normalize("NFKC", c) if is_presentation_form(c) else c for c in text)


def cll_to_logical(label: str) -> str:
    """A CLL-STR label (tab-separated units, Arabic visual + presentation forms) as an
    NFC label in logical order."""
    text = label.replace("\t", "")
    text = visual_to_logical(text)
    return unicodedata.normalize("NFC", unshape(text))


COMPAT: dict[str, Callable[[str], str]] = {"cll": cll_to_logical}
