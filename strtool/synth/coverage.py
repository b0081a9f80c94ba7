"""What a font must shape to "support" a charset entry, and coverage reports.

A charset entry is checked as the text a renderer would really draw:

- a base character (letter, digit, punctuation) is shaped alone;
- a combining mark (general category M*: Latin accents, Arabic harakat, Indic matras,
  viramas and nuktas, kana voicing marks) cannot stand alone - HarfBuzz would insert a
  dotted circle U+25CC - so it is shaped on the *carrier* of its script (`CARRIERS`);
- a multi-code-point entry (an Indic conjunct from a charset's `clusters` list) is
  shaped as it is, as one cluster.

`CARRIERS` is the one table of carriers; `synth chars` and the renderer reuse it.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from strtool.errors import InputError
from strtool.paths import charsets_dir
from strtool.synth.face import FontFace
from strtool.text.carriers import shaping_text
from strtool.text.charset import CATEGORIES
from strtool.text.script import detect_script


class ShapingChecker(Protocol):
    """What `check_entries` needs of a font checker (`strtool.synth.fontcheck`)."""

    @property
    def face(self) -> FontFace: ...

    def why_not(self, text: str) -> str | None: ...


#: Why an entry is not supported (in the order the checks run).
REASONS: tuple[str, ...] = ("not-in-cmap", "notdef", "dotted-circle", "empty-glyph")


@dataclass(frozen=True)
class Missing:
    """One charset entry a font does not support."""

    font: str
    lang: str
    char: str
    codepoints: str  # "U+0915 U+094D"
    reason: str  # one of REASONS

    def to_dict(self) -> dict[str, str]:
        """JSON-ready dict."""
        return asdict(self)


#: Categories a coverage row is split into: a charset's own categories
#: (`strtool.text.charset.CATEGORIES`) and `clusters` (multi-code-point entries such as
#: Indic conjuncts, shaped as one cluster).
COVERAGE_CATEGORIES: tuple[str, ...] = (*CATEGORIES, "clusters")


def entry_category(entry: str) -> str:
    """Category of an entry from a charset without categories (a text file): `clusters`
    for several code points, else by Unicode general category (L letters, M
    diacritics, N digits, P punctuation, anything else common)."""
    if len(entry) != 1:
        return "clusters"
    major = unicodedata.category(entry)[0]
    return {"L": "letters", "M": "diacritics", "N": "digits", "P": "punctuation"}.get(
        major, "common"
    )


@dataclass(frozen=True)
class CategoryCount:
    """Covered and total entries of one category."""

    covered: int
    total: int

    @property
    def fraction(self) -> float | None:
        """Covered share in [0, 1]; None for an empty category."""
        return self.covered / self.total if self.total else None


@dataclass(frozen=True)
class CoverageRow:
    """Coverage of one charset (a language or a user file) by one font face, in total and
    per category (`COVERAGE_CATEGORIES` that have entries)."""

    font: str  # file name (with #index for collection faces)
    face: str  # "Family Style"
    lang: str
    covered: int
    total: int
    missing: tuple[Missing, ...] = ()
    categories: tuple[tuple[str, CategoryCount], ...] = ()

    @property
    def fraction(self) -> float:
        """Covered share in [0, 1] (1.0 for an empty charset)."""
        return self.covered / self.total if self.total else 1.0

    @property
    def percent(self) -> float:
        """Covered share in percent (100.0 for an empty charset)."""
        return 100.0 * self.fraction

    def category(self, name: str) -> CategoryCount | None:
        """Counts of one category, None when the charset has no entry of it."""
        return dict(self.categories).get(name)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict (without the missing list; see `Missing`). Shares are
        fractions in [0, 1] (`fraction`, and per category)."""
        return {
            "font": self.font,
            "face": self.face,
            "lang": self.lang,
            "covered": self.covered,
            "total": self.total,
            "fraction": round(self.fraction, 4),
            "categories": {
                name: {
                    "covered": c.covered,
                    "total": c.total,
                    "fraction": None if c.fraction is None else round(c.fraction, 4),
                }
                for name, c in self.categories
            },
        }


def codepoints(text: str) -> str:
    """`U+XXXX` notation of every code point of `text`, space separated."""
    return " ".join(f"U+{ord(c):04X}" for c in text)


def check_entries(
    checker: ShapingChecker,
    entries: Sequence[str],
    lang: str,
    script_hint: str | None = None,
    categories: Mapping[str, str] | None = None,
) -> CoverageRow:
    """Check every charset entry (chars and clusters) against one font.

    `script_hint` is the charset's script, used to pick the carrier of marks whose
    Script property is Inherited. `categories` maps entries to their charset category
    (`read_charset_categories`); entries it lacks get `entry_category`."""
    missing: list[Missing] = []
    label = checker.face.label
    counts: dict[str, list[int]] = {}
    for entry in entries:
        cat = (categories or {}).get(entry) or entry_category(entry)
        count = counts.setdefault(cat, [0, 0])
        count[1] += 1
        reason = checker.why_not(shaping_text(entry, script_hint))
        if reason is not None:
            missing.append(Missing(label, lang, entry, codepoints(entry), reason))
        else:
            count[0] += 1
    order = [c for c in COVERAGE_CATEGORIES if c in counts] + sorted(
        set(counts) - set(COVERAGE_CATEGORIES)
    )
    return CoverageRow(
        font=label,
        face=checker.face.name,
        lang=lang,
        covered=len(entries) - len(missing),
        total=len(entries),
        missing=tuple(missing),
        categories=tuple((c, CategoryCount(*counts[c])) for c in order),
    )


def dedupe(entries: Iterable[str]) -> list[str]:
    """Ordered, de-duplicated, NFC entries (empty strings dropped)."""
    out: dict[str, None] = {}
    for e in entries:
        e = unicodedata.normalize("NFC", e)
        if e:
            out.setdefault(e, None)
    return list(out)


#: Keys of a charset JSON whose lists are checked: the coverage categories.
CHARSET_KEYS = COVERAGE_CATEGORIES


def read_charset_categories(path: Path) -> dict[str, str]:
    """Entries to check from a charset file, each with its category, in order: our JSON
    format (every category list and `clusters`, at top level or under `categories`) or a
    text file with one entry per line (categories from `entry_category`). An entry
    listed twice keeps its first category. Raises `InputError` naming the file when it
    is missing or malformed."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: charset file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read charset ({e})") from None
    if path.suffix.lower() != ".json":
        entries = dedupe(line.rstrip("\r\n") for line in text.splitlines() if line.strip())
        return {e: entry_category(e) for e in entries}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: line {e.lineno}: invalid JSON ({e.msg})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: a charset JSON must be an object")
    raw_cats = data.get("categories")
    cats = raw_cats if isinstance(raw_cats, dict) else {}
    out: dict[str, str] = {}
    for key in CHARSET_KEYS:
        value = data.get(key, cats.get(key, []))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InputError(f"{path}: key '{key}' must be a list of strings")
        for entry in dedupe(value):
            out.setdefault(entry, key)
    if not out:
        raise InputError(f"{path}: charset has no entries")
    return out


def read_charset_entries(path: Path) -> list[str]:
    """The entries of `read_charset_categories`, in order."""
    return list(read_charset_categories(path))


def lang_categories(lang: str) -> dict[str, str]:
    """Entries of the shipped charset of a language (`charsets/<lang>.json`) with their
    categories."""
    path = charsets_dir() / f"{lang}.json"
    if not path.is_file():
        raise InputError(f"{path}: no charset for language '{lang}'")
    return read_charset_categories(path)


def lang_entries(lang: str) -> list[str]:
    """Entries of the shipped charset of a language (`charsets/<lang>.json`)."""
    return list(lang_categories(lang))


def entries_script(entries: Sequence[str]) -> str | None:
    """Majority script of a user charset (the carrier hint for its marks)."""
    return detect_script("".join(entries))
