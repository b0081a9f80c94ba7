"""Carrier letters: the base a lone combining mark is shown or shaped on (pure Unicode).

A charset lists Arabic harakat, Indic matras and other combining marks as entries of
their own; a font is checked on, and `synth chars` draws, the mark on its script's
carrier letter (क + ा, ب + َ, a + ́). Used by `strtool.synth.coverage`, the font checker
and `synth chars`.
"""

from __future__ import annotations

import unicodedata

from strtool.text.script import char_script

__all__ = ["CARRIERS", "carrier_for", "is_mark", "mark_script", "shaping_text"]


#: Script (as named by `strtool.text.script`) -> base letter that carries its marks.
#: क + ा, ক + া, ب + َ, a + ́, か + ゙ (kana voicing), 가 for Hangul tone marks.
CARRIERS: dict[str, str] = {
    "Latin": "a",
    "Arabic": "\u0628",  # ب BEH
    "Devanagari": "\u0915",  # क KA
    "Bengali": "\u0995",  # ক KA
    "Han": "\u4e00",  # 一
    "Hiragana": "\u304b",  # か
    "Katakana": "\u30ab",  # カ
    "Hangul": "\uac00",  # 가
    "Cyrillic": "\u0430",  # а
    "Greek": "\u03b1",  # α
}

#: Words in a mark's Unicode name that tell its script when its Script property is
#: Inherited (Arabic harakat and the kana voicing marks are).
_NAME_HINTS: tuple[tuple[str, str], ...] = (
    ("ARABIC", "Arabic"),
    ("DEVANAGARI", "Devanagari"),
    ("BENGALI", "Bengali"),
    ("HIRAGANA", "Hiragana"),
    ("KATAKANA", "Katakana"),
    ("HANGUL", "Hangul"),
    ("CYRILLIC", "Cyrillic"),
    ("GREEK", "Greek"),
)


def is_mark(ch: str) -> bool:
    """True for a single combining mark (general category Mn, Mc or Me)."""
    return len(ch) == 1 and unicodedata.category(ch).startswith("M")


def mark_script(mark: str, hint: str | None = None) -> str:
    """Script whose carrier a mark sits on: its own Script property, else a script
    named in its Unicode name, else `hint` (the charset's script), else Latin."""
    own = char_script(mark)
    if own is not None:
        return own
    name = unicodedata.name(mark, "")
    for word, script in _NAME_HINTS:
        if word in name:
            return script
    if hint in CARRIERS:
        return hint
    return "Latin"


def carrier_for(mark: str, hint: str | None = None) -> str:
    """The base letter a mark is shown on (see `CARRIERS`)."""
    return CARRIERS[mark_script(mark, hint)]


def shaping_text(entry: str, hint: str | None = None) -> str:
    """The text to shape to decide whether a font supports a charset `entry`: the
    entry itself, or carrier + mark for a lone combining mark."""
    if is_mark(entry):
        return carrier_for(entry, hint) + entry
    return entry
