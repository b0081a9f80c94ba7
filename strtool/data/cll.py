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

from strtool.text.bidi import is_presentation_form, reorder_units


def reorder_line(text: str) -> str:
    """Visual <-> logical order of one RTL line of code points (self-inverse; a mark
    takes the class of the code point before it); LTR lines unchanged."""
    return "".join(reorder_units(list(text)))


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
