"""Logical <-> visual order of one right-to-left line, for readers that scan an image
left to right.

strtool stores every label in logical order (the order it is typed and read). A CTC
recogniser emits its characters in the order of its frames, left to right across the
image, and the CTC alignment is monotonic: frame order must follow target order. An
Arabic word in logical order runs right to left on the image, so its CTC target is
backwards to the frames, and the model has to learn to mirror it. The CTC family
therefore trains on labels in **visual** order (`data.ctc_order: visual`) and turns its
readings back into logical order; `display_order` does both, as it is its own inverse.

The levels follow the Unicode bidi algorithm for a single line whose paragraph
direction is right to left (any Arabic or Hebrew letter present): RTL letters take
level 1, left-to-right runs (Latin letters and digits, with `.`/`,`/`:`/`/` between
digits and `%`/currency signs next to them joining the number) level 2, and neutrals
(spaces, punctuation) level 2 only between two left-to-right neighbours, else level 1.
Display reverses each level-2 run in place, then the whole line, and mirrors brackets
at level 1. The rules are symmetric left/right, so applying the reordering to the
visual string gives the logical one back for lines of words, numbers and punctuation
(tested); as with the bidi algorithm itself, a few mixed runs have two logical forms
with one display (a separator between a digit and a Latin letter, `a5.b`), and there
the way back may differ. Lines without an RTL letter are unchanged.

`display_order` moves whole grapheme clusters (a base with its marks), so harakat stay
after their letter in both orders; `reorder_units` works on any unit list (the CLL-STR
importer uses code points, a mark taking the class of the code point before it).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from strtool.text.normalize import split_units

_MIRROR = dict(zip("()[]{}<>«»", ")(][}{><»«", strict=True))
_NUM_SEP = frozenset(".,:/")
_NUM_TERM = frozenset("%‰$€£¥٪")
RUN_JOINERS = _NUM_SEP | _NUM_TERM  # neutrals that a number's left-to-right run can hold


def is_presentation_form(ch: str) -> bool:
    """True for Arabic presentation forms A (U+FB50-FDFF) and B (U+FE70-FEFF)."""
    cp = ord(ch)
    return 0xFB50 <= cp <= 0xFDFF or 0xFE70 <= cp <= 0xFEFF


def strong_class(ch: str) -> str:
    """'R', 'L', 'D' (digit) or 'N' (neutral) for one code point."""
    bc = unicodedata.bidirectional(ch)
    if bc in ("R", "AL"):
        return "R"
    if bc == "L":
        return "L"
    if bc in ("EN", "AN"):
        return "D"
    return "N"


def unit_classes(units: Sequence[str]) -> list[str]:
    """The bidi class of each unit (from its first code point; a unit that starts with
    a mark takes the class of the unit before it). Then, as the bidi algorithm's rules
    W4 and W5 do, a single separator between two digits joins the number, and so does
    every terminator of a run of them that touches a digit ('D')."""
    base: list[str] = []
    for i, u in enumerate(units):
        if u and unicodedata.bidirectional(u[0]) == "NSM" and i > 0:
            base.append(base[i - 1])
        else:
            base.append(strong_class(u[0]) if u else "N")
    cls = list(base)
    n = len(units)
    for i in range(1, n - 1):
        if base[i] == "N" and units[i] in _NUM_SEP and base[i - 1] == base[i + 1] == "D":
            cls[i] = "D"
    i = 0
    while i < n:
        if cls[i] != "N" or units[i] not in _NUM_TERM:
            i += 1
            continue
        j = i
        while j < n and cls[j] == "N" and units[j] in _NUM_TERM:
            j += 1
        if (i > 0 and cls[i - 1] == "D") or (j < n and cls[j] == "D"):
            cls[i:j] = ["D"] * (j - i)
        i = j
    return cls


def unit_levels(cls: Sequence[str]) -> list[int]:
    """Bidi embedding levels (1 = RTL, 2 = LTR run) in an RTL paragraph."""
    levels = [1 if c == "R" else 2 if c in ("L", "D") else 0 for c in cls]
    i = 0
    while i < len(cls):
        if levels[i]:
            i += 1
            continue
        j = i
        while j < len(cls) and not levels[j]:
            j += 1
        before = cls[i - 1] if i > 0 else "R"
        after = cls[j] if j < len(cls) else "R"
        levels[i:j] = [2 if before == "L" and after == "L" else 1] * (j - i)
        i = j
    return levels


def is_rtl_line(text: str) -> bool:
    """True when `text` holds a right-to-left letter (or an Arabic presentation form)."""
    return any(strong_class(c) == "R" or is_presentation_form(c) for c in text)


def reorder_units(units: Sequence[str]) -> list[str]:
    """Visual <-> logical order of one line given as units; unchanged without an RTL
    letter. Level-1 brackets are mirrored."""
    if not any(is_rtl_line(u) for u in units):
        return list(units)
    levels = unit_levels(unit_classes(units))
    items = [(_MIRROR.get(u, u) if lv == 1 else u) for u, lv in zip(units, levels, strict=True)]
    out: list[str] = []
    i = 0
    while i < len(items):  # reverse each level-2 run in place
        j = i
        while j < len(items) and levels[j] == levels[i]:
            j += 1
        seg = items[i:j]
        out.extend(reversed(seg) if levels[i] == 2 else seg)
        i = j
    return out[::-1]


def display_order(text: str) -> str:
    """The other order of one line: logical -> visual (left to right on the image), or
    visual -> logical. Moves grapheme clusters, so harakat stay with their letter; text
    without an RTL letter is unchanged. Line breaks split the text into lines, each
    reordered on its own. Combining marks at the start of a line, with no base to
    belong to, stay at the start: moved behind a letter they would join its cluster,
    and the way back would differ."""
    if not is_rtl_line(text):
        return text
    return "\n".join(_display_line(line) for line in text.split("\n"))


def frame_order(text: str, order: str) -> str:
    """`text` as a CTC model's frames meet it when its targets are in `order`:
    `visual` = `display_order` (its own inverse, so it also turns a frame-order reading
    back into logical order), `logical` = unchanged."""
    return display_order(text) if order == "visual" else text


def _display_line(line: str) -> str:
    units = split_units(line, "grapheme")
    lead = 0
    while lead < len(units) and unicodedata.category(units[lead][0]).startswith("M"):
        lead += 1
    return "".join(units[:lead] + reorder_units(units[lead:]))


def reversed_frame_order(tokens: Sequence[str], after: str = "\u0627") -> list[tuple[int, bool]]:
    """The order in which a right-to-left reading of the image meets `tokens`, a
    logical-order stretch of a right-to-left line with right-to-left text before it and
    `after` (default a right-to-left letter) after it: (position in `tokens`,
    mirrored) pairs. That order is the reverse of the visual
    one (`display_order`): logical order, except that each left-to-right run (level 2)
    is reversed and each grapheme cluster meets its marks before its base; a bracket at
    level 1 is met as its mirror image. Tokens are code points or longer units; a token
    that starts with a mark joins the cluster before it. Joint CTC/attention decoding
    scores right-to-left lines in this order (`strtool.models.joint_ctc`)."""
    clusters: list[list[int]] = []
    for i, t in enumerate(tokens):
        if clusters and t and unicodedata.category(t[0]).startswith("M"):
            clusters[-1].append(i)
        else:
            clusters.append([i])
    units = ["\u0627", *("".join(tokens[i] for i in c) for c in clusters), after]
    levels = unit_levels(unit_classes(units))[1:-1]
    out: list[tuple[int, bool]] = []
    i = 0
    while i < len(clusters):
        j = i
        while j < len(clusters) and levels[j] == levels[i]:
            j += 1
        run = clusters[i:j][::-1] if levels[i] == 2 else clusters[i:j]
        for c in run:
            mirror = levels[i] == 1 and len(c) == 1 and tokens[c[0]] in _MIRROR
            out.extend((k, mirror) for k in reversed(c))
        i = j
    return out


def mirrored(token: str) -> str:
    """The mirror image of a bracket (itself for anything else)."""
    return _MIRROR.get(token, token)
