"""Invisible or broken characters that do not belong in an STR label.

A label is what a model must read from pixels, so characters that draw nothing, or
that stand for text lost upstream, become classes no image can teach. Flagged
(`find_suspicious`), with the reason used in reports:

- `control character`: Unicode category Cc (C0/C1 controls, DEL) or a lone surrogate;
  except the line break `\\n` of a multi-line (line or page) label when it separates
  two non-blank lines (`strtool.text.normalize.normalize_lines`); a leading, trailing
  or doubled one, or one next to a space, is still flagged;
- `replacement character`: U+FFFD (text was mis-decoded before it reached us);
- `bidi control`: embeddings and overrides U+202A-U+202E, isolates U+2066-U+2069, and
  the marks LRM U+200E, RLM U+200F, ALM U+061C (labels are stored in logical order,
  so no bidi control is ever needed);
- `byte order mark`: U+FEFF anywhere in a label (a BOM of a concatenated file);
- `zero-width space`: U+200B and the word joiner U+2060;
- `zero-width joiner outside a word`: ZWNJ U+200C / ZWJ U+200D, except between two
  letters or marks of a script that uses them to choose a form (Arabic, Syriac, N'Ko,
  Mongolian and the Brahmic scripts, e.g. Devanagari `क्‍ष`, Bengali, Persian
  `می‌خواهم`), where they are legitimate spelling;
- `line separator`: U+2028 / U+2029;
- `noncharacter`: U+FDD0-U+FDEF and U+xFFFE / U+xFFFF;
- `invisible format character`: any other category Cf character (soft hyphen, invisible
  operators, tag characters, ...), except the visible Arabic number signs
  U+0600-U+0605, U+06DD, U+0890-U+0891, U+08E2 and U+070F, U+110BD, U+110CD.

Ordinary spaces, private-use and unassigned code points are not flagged. The check is
pure Python; the common case (a printable label) costs one `str.isprintable` call.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import regex

_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_ZW_SPACE = frozenset("\u200b\u2060")
_JOINERS = frozenset("\u200c\u200d")
_VISIBLE_CF = frozenset(
    "\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890\u0891\u08e2\U000110bd\U000110cd"
)
#: Scripts in which ZWNJ / ZWJ between letters select a letter form or conjunct.
JOINING_SCRIPTS: tuple[str, ...] = (
    "Arabic", "Syriac", "Nko", "Mongolian", "Devanagari", "Bengali", "Gurmukhi",
    "Gujarati", "Oriya", "Tamil", "Telugu", "Kannada", "Malayalam", "Sinhala",
)  # fmt: skip
_JOINING_LETTER = regex.compile(
    "[[" + "".join(rf"\p{{scx={s}}}" for s in JOINING_SCRIPTS) + r"]&&[\p{L}\p{M}]]",
    regex.V1,
)


@dataclass(frozen=True)
class Suspicious:
    """One flagged character: 0-based position, the character, and why."""

    index: int
    char: str
    reason: str

    def __str__(self) -> str:
        return f"U+{ord(self.char):04X} ({self.reason}) at {self.index}"


def _noncharacter(cp: int) -> bool:
    return 0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE


def _joiner_ok(text: str, i: int) -> bool:
    """A ZWNJ/ZWJ at `i` is legitimate between two letters/marks of a joining script."""
    if i == 0 or i + 1 >= len(text):
        return False
    return bool(_JOINING_LETTER.match(text[i - 1]) and _JOINING_LETTER.match(text[i + 1]))


def _line_break_ok(text: str, i: int) -> bool:
    """A `\\n` at `i` separates two non-blank lines (no space or break beside it)."""
    return 0 < i < len(text) - 1 and not text[i - 1].isspace() and not text[i + 1].isspace()


def char_reason(text: str, i: int) -> str | None:
    """Why `text[i]` is suspicious in a label, or None (see the module docstring)."""
    ch = text[i]
    cat = unicodedata.category(ch)
    if ch == "\n" and _line_break_ok(text, i):
        return None
    if cat in ("Cc", "Cs"):
        return "control character"
    if ch == "\ufffd":
        return "replacement character"
    if ch in _BIDI:
        return "bidi control"
    if ch == "\ufeff":
        return "byte order mark"
    if ch in _ZW_SPACE:
        return "zero-width space"
    if ch in _JOINERS:
        return None if _joiner_ok(text, i) else "zero-width joiner outside a word"
    if cat in ("Zl", "Zp"):
        return "line separator"
    if _noncharacter(ord(ch)):
        return "noncharacter"
    if cat == "Cf" and ch not in _VISIBLE_CF:
        return "invisible format character"
    return None


def find_suspicious(text: str) -> list[Suspicious]:
    """Every suspicious character of `text`, in order (empty for a clean label)."""
    if text.isprintable() and "\ufffd" not in text:
        return []  # no Cc/Cf/Cs/Zl/Zp/Cn character: nothing below can match
    found = []
    for i in range(len(text)):
        why = char_reason(text, i)
        if why is not None:
            found.append(Suspicious(i, text[i], why))
    return found


def describe(found: list[Suspicious], limit: int = 3) -> str:
    """One line for reports: `U+202E (bidi control) at 0, ...`."""
    shown = ", ".join(str(s) for s in found[:limit])
    return shown + (f" and {len(found) - limit} more" if len(found) > limit else "")
