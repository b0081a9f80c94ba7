"""Unicode normalisation and token units.

Labels are stored **NFC, in logical order** (the order characters are typed, Arabic
right-to-left text included). Models split labels into tokens with one of two units:

- `codepoint` (default): one token per Unicode code point. Combining marks (Arabic
  harakat, Indic matras and viramas, Latin accents that have no precomposed form) are
  tokens of their own. Small, closed vocabularies; what CLL-STR and most STR code use.
- `grapheme`: one token per extended grapheme cluster (UAX #29, via the `regex`
  module's `\\X`). `क्ष` is one token; vocabularies are larger and open-ended.
"""

from __future__ import annotations

import unicodedata
from typing import Literal

import regex

from strtool.errors import InputError

Unit = Literal["codepoint", "grapheme"]
#: A Unicode normalisation form, as `unicodedata.normalize` takes it.
NormForm = Literal["NFC", "NFD", "NFKC", "NFKD"]
UNITS: tuple[str, ...] = ("codepoint", "grapheme")

_WS = regex.compile(r"\s+")
_GRAPHEME = regex.compile(r"\X")


def nfc(text: str) -> str:
    """NFC form of `text` (the storage form of every label)."""
    return unicodedata.normalize("NFC", text)


def normalize_label(
    text: str, form: NormForm = "NFC", collapse_ws: bool = True, multiline: bool = False
) -> str:
    """Normalise a label: Unicode `form`, strip, and collapse whitespace runs to one
    space. Never folds case or accents and never drops characters.

    `multiline=True` (line and page labels, `normalize_lines`): line breaks are kept
    as `\\n` and every line is normalised on its own, so a page label keeps its lines
    while whitespace inside a line is collapsed as for a word label."""
    if multiline:
        return normalize_lines(text, form, collapse_ws)
    text = unicodedata.normalize(form, text)
    if collapse_ws:
        text = _WS.sub(" ", text).strip()
    return text


#: What separates the lines of a multi-line label on input: `\r\n`, `\r`, `\n`,
#: U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR. Stored labels use `\n` only.
_BREAKS = regex.compile(r"\r\n|[\r\n\u2028\u2029]")


def normalize_lines(text: str, form: NormForm = "NFC", collapse_ws: bool = True) -> str:
    """A multi-line label as stored: split at line breaks (`\\r\\n`, `\\r`, `\\n`,
    U+2028, U+2029), each line normalised like a word label (`normalize_label`:
    Unicode `form`, whitespace runs collapsed to one space, stripped), lines that are
    then empty removed, the rest joined by `\\n` in reading order. A label without a
    line break gives exactly what `normalize_label` gives."""
    lines = (normalize_label(x, form, collapse_ws) for x in _BREAKS.split(text))
    return "\n".join(x for x in lines if x)


def label_lines(text: str) -> list[str]:
    """The lines of a stored label (`\\n`-separated; a word label is one line)."""
    return text.split("\n")


def as_unit(value: str) -> Unit:
    """`value` (a config or CLI string) as a `Unit`; `InputError` for anything else."""
    if value == "codepoint":
        return "codepoint"
    if value == "grapheme":
        return "grapheme"
    raise InputError(f"unknown token unit '{value}' (use one of {', '.join(UNITS)})")


def split_units(text: str, unit: Unit = "codepoint") -> list[str]:
    """Split `text` into tokens of the given unit."""
    if unit == "codepoint":
        return list(text)
    if unit == "grapheme":
        return _GRAPHEME.findall(text)
    raise ValueError(f"unknown token unit '{unit}' (use one of {', '.join(UNITS)})")


def unit_length(text: str, unit: Unit = "codepoint") -> int:
    """Number of tokens of `text` in the given unit."""
    return len(text) if unit == "codepoint" else len(_GRAPHEME.findall(text))
