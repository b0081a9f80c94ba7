"""Charsets: the characters a model can read, per language.

A shipped charset is `charsets/<lang>.json` (built by `tools/build_charsets.py`):

    {"lang": "hi", "script": "Devanagari", "normalization": "NFC", "unit": "codepoint",
     "categories": {"letters": [...], "diacritics": [...], "digits": [...],
                    "punctuation": [...], "common": [...]},
     "clusters": [...], "notes": "..."}

Entries are NFC strings in logical order, one code point each; `clusters` holds
multi-code-point sequences (Indic conjuncts, lam-alef) used only for font shaping
checks, never as tokens. The space is not an entry: tokenizers add it with
`space=True`. A user charset (`charset_from_file`) is a JSON file in this format (or a
plain JSON list of strings), or a text file with one entry per line.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from strtool.errors import InputError, UnknownLanguageError
from strtool.paths import charsets_dir
from strtool.text.langs import LANG_SCRIPT, resolve_langs

CATEGORIES: tuple[str, ...] = ("letters", "diacritics", "digits", "punctuation", "common")


@dataclass(frozen=True)
class Charset:
    """One language's characters by category. `chars` is the ordered, de-duplicated
    union of the categories in `CATEGORIES` order; `clusters` are not in `chars`."""

    lang: str
    script: str
    categories: dict[str, tuple[str, ...]]
    clusters: tuple[str, ...] = ()
    notes: str = ""
    source: str = field(default="", compare=False)

    @cached_property
    def chars(self) -> tuple[str, ...]:
        """Every entry, ordered by category then file order, without duplicates."""
        return tuple(dict.fromkeys(e for c in CATEGORIES for e in self.categories.get(c, ())))

    @cached_property
    def _category(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for c in CATEGORIES:
            for e in self.categories.get(c, ()):
                out.setdefault(e, c)
        return out

    def category_of(self, ch: str) -> str | None:
        """The category of an entry (`letters`, ...), or None when not in the charset."""
        return self._category.get(ch)

    def __contains__(self, ch: object) -> bool:
        return ch in self._category

    def __len__(self) -> int:
        return len(self._category)

    def __hash__(self) -> int:
        return hash((self.lang, self.chars))


def _check_entries(where: str, key: str, value: Any) -> tuple[str, ...]:
    """Validate a list of entries from `where` (file name) under `key`."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{where}: key '{key}' must be a list of strings")
    for i, e in enumerate(value):
        if not e or any(ch.isspace() for ch in e):
            raise InputError(
                f"{where}: {key}[{i}] {e!r} is empty or contains whitespace "
                "(the space is a tokenizer option, not an entry)"
            )
        if unicodedata.normalize("NFC", e) != e:
            raise InputError(f"{where}: {key}[{i}] {_show(e)} is not NFC (NFC: {_show_nfc(e)})")
    return tuple(value)


def _show(e: str) -> str:
    return f"{e!r} ({' '.join(f'U+{ord(c):04X}' for c in e)})"


def _show_nfc(e: str) -> str:
    return _show(unicodedata.normalize("NFC", e))


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise InputError(f"{path}: charset file not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not UTF-8 ({e.reason} at byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: line {e.lineno}: invalid JSON ({e.msg})") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})") from None


def charset_from_dict(data: Any, where: str = "<dict>") -> Charset:
    """A `Charset` from a parsed charset document; `where` names it in errors."""
    if not isinstance(data, dict):
        raise InputError(f"{where}: a charset JSON must be an object")
    cats = data.get("categories")
    if not isinstance(cats, dict):
        raise InputError(f"{where}: missing object 'categories'")
    unknown = sorted(set(cats) - set(CATEGORIES))
    if unknown:
        raise InputError(f"{where}: unknown category '{unknown[0]}' (use {', '.join(CATEGORIES)})")
    if data.get("normalization", "NFC") != "NFC":
        raise InputError(f"{where}: normalization must be NFC")
    lang = data.get("lang", "")
    script = data.get("script", LANG_SCRIPT.get(lang, ""))
    if not isinstance(lang, str) or not isinstance(script, str):
        raise InputError(f"{where}: 'lang' and 'script' must be strings")
    categories = {c: _check_entries(where, f"categories.{c}", cats.get(c, [])) for c in CATEGORIES}
    clusters = _check_entries(where, "clusters", data.get("clusters", []))
    notes = data.get("notes", "")
    return Charset(lang, script, categories, clusters, str(notes), source=where)


def load_charset(lang: str) -> Charset:
    """The shipped charset of a language code (`charsets/<lang>.json`). An unknown
    code raises `UnknownLanguageError`; a missing or malformed file `InputError`."""
    code = lang.strip().lower()
    if code not in LANG_SCRIPT:
        raise UnknownLanguageError(f"unknown language '{lang}' (known: {', '.join(LANG_SCRIPT)})")
    return _load_shipped(charsets_dir() / f"{code}.json")


_CACHE: dict[tuple[str, float], Charset] = {}


def _load_shipped(path: Path) -> Charset:
    """Load and cache a shipped charset file (keyed by path and mtime)."""
    try:
        key = (str(path), path.stat().st_mtime)
    except OSError:
        raise InputError(f"{path}: charset file not found") from None
    if key not in _CACHE:
        _CACHE[key] = charset_from_dict(_read_json(path), str(path))
    return _CACHE[key]


def load_charsets(spec: str | Iterable[str] | None) -> list[Charset]:
    """Charsets of a language spec as accepted by `resolve_langs` (`"en,fr"`,
    `"LAT,ARA"`, `"all"`), in spec order."""
    return [load_charset(lang) for lang in resolve_langs(spec)]


def union_chars(charsets: Iterable[Charset]) -> list[str]:
    """Ordered, de-duplicated union of the `chars` of several charsets (first seen
    first), e.g. the vocabulary of a multilingual model."""
    out: dict[str, None] = {}
    for cs in charsets:
        out.update(dict.fromkeys(cs.chars))
    return list(out)


def charset_from_file(path: str | Path) -> list[str]:
    """Entries of a user charset file, ordered, de-duplicated (first kept).

    - `.json`: our charset format (`categories`; `clusters` are not entries) or a plain
      list of strings.
    - anything else: UTF-8 text, one entry per line; blank lines are skipped.

    Entries must be NFC and contain no whitespace. Errors (`InputError`) name the file
    and the line (text files, JSON syntax) or the key (JSON structure)."""
    p = Path(path)
    if p.suffix.lower() == ".json":
        data = _read_json(p)
        if isinstance(data, list):
            return list(dict.fromkeys(_check_entries(str(p), "entries", data)))
        return list(charset_from_dict(data, str(p)).chars)
    return _entries_from_text(p)


def _entries_from_text(p: Path) -> list[str]:
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{p}: charset file not found") from None
    except UnicodeDecodeError as e:
        line = 1 + p.read_bytes()[: e.start].count(b"\n")
        raise InputError(f"{p}: line {line}: not UTF-8") from None
    except OSError as e:
        raise InputError(f"{p}: cannot read ({e.strerror})") from None
    out: dict[str, None] = {}
    for n, raw in enumerate(text.lstrip("\ufeff").splitlines(), 1):
        if not raw.strip():
            continue
        if any(ch.isspace() for ch in raw):
            raise InputError(
                f"{p}: line {n}: entry {raw!r} contains whitespace "
                "(the space is a tokenizer option, not an entry)"
            )
        if unicodedata.normalize("NFC", raw) != raw:
            raise InputError(
                f"{p}: line {n}: entry {_show(raw)} is not NFC (NFC: {_show_nfc(raw)})"
            )
        out.setdefault(raw, None)
    if not out:
        raise InputError(f"{p}: charset file has no entries")
    return list(out)
