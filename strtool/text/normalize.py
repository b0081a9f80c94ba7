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


def normalize_label(text: str, form: NormForm = "NFC", collapse_ws: bool = True) -> str:
    """Normalise a label: Unicode `form`, strip, and collapse whitespace runs to one
    space. Never folds case or accents and never drops characters."""
    text = unicodedata.normalize(form, text)
    if collapse_ws:
        text = _WS.sub(" ", text).strip()
    return text


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
