"""Script of a character and majority script / MLT group of a string.

`detect_script` counts the letters (and combining marks) of each script and returns
the majority; digits, punctuation and spaces (Unicode script Common/Inherited) do not
vote. `detect_group` maps to the MLT-2019 classes, with the usual CJK rules: any kana
makes a string Japanese, any Hangul makes it Korean, Han alone is Chinese.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

import regex

#: Scripts we recognise, in lookup order.
SCRIPTS: tuple[str, ...] = (
    "Latin",
    "Arabic",
    "Devanagari",
    "Bengali",
    "Han",
    "Hiragana",
    "Katakana",
    "Hangul",
    "Cyrillic",
    "Greek",
)
_PATTERNS = [(s, regex.compile(rf"\p{{Script={s}}}")) for s in SCRIPTS]

SCRIPT_GROUP: dict[str, str] = {
    "Latin": "LAT",
    "Arabic": "ARA",
    "Devanagari": "HIN",
    "Bengali": "BEN",
    "Han": "CHI",
    "Hiragana": "JPN",
    "Katakana": "JPN",
    "Hangul": "KOR",
}


@lru_cache(maxsize=65536)
def char_script(ch: str) -> str | None:
    """Unicode script of one code point, or None for Common/Inherited/other."""
    for name, pat in _PATTERNS:
        if pat.match(ch):
            return name
    return None


def script_counts(text: str) -> Counter[str]:
    """Count of code points per script (only scripts in `SCRIPTS`)."""
    c: Counter[str] = Counter()
    for ch in text:
        s = char_script(ch)
        if s is not None:
            c[s] += 1
    return c


def detect_script(text: str) -> str | None:
    """Majority script of the letters of `text` (ties: first in `SCRIPTS`), or None."""
    c = script_counts(text)
    if not c:
        return None
    return max(SCRIPTS, key=lambda s: (c.get(s, 0), -SCRIPTS.index(s)))


def detect_group(text: str) -> str | None:
    """MLT-2019 script class (ARA, BEN, CHI, HIN, JPN, KOR, LAT) of `text`, or None."""
    c = script_counts(text)
    if not c:
        return None
    if c.get("Hiragana", 0) or c.get("Katakana", 0):
        if c.get("Hangul", 0) == 0:
            return "JPN"
    if c.get("Hangul", 0) and c.get("Hangul", 0) >= c.get("Hiragana", 0) + c.get("Katakana", 0):
        return "KOR"
    votes: Counter[str] = Counter()
    for s, n in c.items():
        g = SCRIPT_GROUP.get(s)
        if g:
            votes[g] += n
    if not votes:
        return None
    return votes.most_common(1)[0][0]
