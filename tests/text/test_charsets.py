"""Shipped charset files (schema, NFC, scripts, sizes) and the charset loaders."""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from strtool.errors import InputError, UnknownLanguageError
from strtool.paths import REPO_ROOT, charsets_dir
from strtool.text.charset import (
    CATEGORIES,
    Charset,
    charset_from_file,
    load_charset,
    load_charsets,
    union_chars,
)
from strtool.text.langs import LANG_SCRIPT, LANGS
from strtool.text.script import char_script

LETTER_SCRIPTS = {
    "Latin": {"Latin"},
    "Arabic": {"Arabic"},
    "Devanagari": {"Devanagari"},
    "Bengali": {"Bengali"},
    "Han": {"Han"},
    "Japanese": {"Han", "Hiragana", "Katakana"},
    "Hangul": {"Hangul"},
}


def _doc(lang: str) -> dict:
    return json.loads((charsets_dir() / f"{lang}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("lang", LANGS)
def test_charset_file_schema_and_entries(lang: str) -> None:
    doc = _doc(lang)
    assert doc["lang"] == lang
    assert doc["script"] == LANG_SCRIPT[lang]
    assert doc["normalization"] == "NFC" and doc["unit"] == "codepoint"
    assert set(doc["categories"]) == set(CATEGORIES)
    assert isinstance(doc["notes"], str) and doc["notes"]
    entries = [e for c in CATEGORIES for e in doc["categories"][c]]
    assert len(entries) == len(set(entries)), "duplicate entries"
    for e in entries:
        assert isinstance(e, str) and len(e) == 1, repr(e)
        assert unicodedata.normalize("NFC", e) == e, f"{e!r} not NFC"
        assert not e.isspace(), "space is a tokenizer option, not an entry"
    for e in doc.get("clusters", []):
        assert len(e) > 1 and unicodedata.normalize("NFC", e) == e
        assert e not in entries


@pytest.mark.parametrize("lang", LANGS)
def test_charset_categories_hold_what_they_say(lang: str) -> None:
    doc = _doc(lang)
    cats = doc["categories"]
    allowed = LETTER_SCRIPTS[doc["script"]]
    for e in cats["letters"]:
        assert char_script(e) in allowed, f"{lang}: letter {e!r} U+{ord(e):04X}"
    for e in cats["diacritics"]:
        assert unicodedata.category(e).startswith("M"), f"{lang}: {e!r} not a mark"
        assert char_script(e) in allowed | {None}
    for e in cats["digits"]:
        assert unicodedata.category(e) == "Nd", f"{lang}: {e!r}"
    assert set("0123456789") <= set(cats["digits"])
    for e in cats["punctuation"]:
        assert unicodedata.category(e).startswith("P"), f"{lang}: {e!r} not punctuation"
    assert set(".,:;!?'\"-()/&%@#*") <= set(cats["punctuation"])
    assert {"$", "+"} <= set(cats["common"])


def test_required_sizes_and_language_specifics() -> None:
    zh, ja, ko = (_doc(x)["categories"]["letters"] for x in ("zh", "ja", "ko"))
    assert sum(char_script(c) == "Han" for c in zh) >= 3755
    assert sum(char_script(c) == "Han" for c in ja) == 2965
    assert sum("\uac00" <= c <= "\ud7a3" for c in ko) == 2350
    assert {"あ", "ア", "ゝ", "ヾ", "ヴ", "ゔ"} <= set(ja)
    assert {"ー", "々"} <= set(_doc("ja")["categories"]["common"])
    for lang in ("zh", "ja", "ko"):
        assert set("、。「」・！？（）：") <= set(_doc(lang)["categories"]["punctuation"])
    hi = load_charset("hi")
    assert all(chr(c) not in hi for c in range(0x0958, 0x0960))  # NFC decomposes them
    assert hi.category_of("\u093c") == "diacritics" and hi.category_of("।") == "punctuation"
    assert "\u0915\u093c" in hi.clusters and "क्ष" in hi.clusters
    bn = load_charset("bn")
    assert all(c not in bn for c in "\u09dc\u09dd\u09df") and "ৎ" in bn and "৳" in bn
    ar = load_charset("ar")
    assert ar.category_of("\u0640") == "common" and ar.category_of("\u0651") == "diacritics"
    assert all(chr(c) in ar for c in [*range(0x0660, 0x066A), *range(0x06F0, 0x06FA)])
    assert {"ة", "ى", "أ", "إ", "آ", "ؤ", "ئ", "ء", "،", "؛", "؟"} <= set(ar.chars)
    assert set("àâæçéèêëîïôœùûüÿÀÂÆÇÉÈÊËÎÏÔŒÙÛÜŸ«»’") <= set(load_charset("fr").chars)
    assert set("äöüßẞÄÖÜ") <= set(load_charset("de").chars)
    assert set("àèéìíîòóùúÀÈÉÌÍÎÒÓÙÚ") <= set(load_charset("it").chars)
    assert not set("éà") & set(load_charset("en").chars)


def test_build_script_output_is_committed() -> None:
    script = REPO_ROOT / "tools" / "build_charsets.py"
    res = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_charset_object_and_groups() -> None:
    cs = load_charset("de")
    assert isinstance(cs, Charset) and cs.lang == "de" and cs.script == "Latin"
    assert len(cs) == len(cs.chars) == len(set(cs.chars))
    assert cs.chars[:3] == ("A", "B", "C")  # category order: letters first
    assert "ß" in cs and "€" in cs and " " not in cs and "é" not in cs
    assert cs.category_of("ß") == "letters" and cs.category_of("7") == "digits"
    assert cs.category_of("€") == "common" and cs.category_of("й") is None
    lat = load_charsets("LAT")
    assert [c.lang for c in lat] == ["en", "fr", "de", "it"]
    union = union_chars(lat)
    assert len(union) == len(set(union)) and union[:52] == list(lat[0].chars[:52])
    assert set(union) == set().union(*(set(c.chars) for c in lat))
    assert [c.lang for c in load_charsets("ja,KOR")] == ["ja", "ko"]
    assert len(load_charsets("all")) == len(LANGS)
    assert load_charset("FR") is load_charset("fr")  # cached


def test_unknown_language() -> None:
    with pytest.raises(UnknownLanguageError, match="xx"):
        load_charset("xx")
    with pytest.raises(UnknownLanguageError, match="XYZ"):
        load_charsets("en,XYZ")


def test_user_text_charset(tmp_path: Path) -> None:
    p = tmp_path / "cs.txt"
    p.write_text("\ufeffa\nb\n\n  \nक\nा\na\n", encoding="utf-8")
    assert charset_from_file(p) == ["a", "b", "क", "ा"]
    p.write_text("a\nb c\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"cs\.txt: line 2: .*whitespace"):
        charset_from_file(p)
    p.write_text("a\ne\u0301\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"cs\.txt: line 2: .*not NFC.*U\+00E9"):
        charset_from_file(p)
    p.write_bytes(b"a\n\xff\n")
    with pytest.raises(InputError, match=r"line 2: not UTF-8"):
        charset_from_file(p)
    p.write_text("\n\n", encoding="utf-8")
    with pytest.raises(InputError, match="no entries"):
        charset_from_file(p)
    with pytest.raises(InputError, match="not found"):
        charset_from_file(tmp_path / "missing.txt")


def test_user_json_charset(tmp_path: Path) -> None:
    p = tmp_path / "mine.json"
    doc = {"lang": "x", "categories": {"letters": ["b", "a"], "digits": ["1"]}, "clusters": ["ab"]}
    p.write_text(json.dumps(doc), encoding="utf-8")
    assert charset_from_file(p) == ["b", "a", "1"]
    p.write_text(json.dumps(["x", "y", "x"]), encoding="utf-8")
    assert charset_from_file(p) == ["x", "y"]
    p.write_text('{"categories": {"letters": ["a",]}}', encoding="utf-8")
    with pytest.raises(InputError, match=r"mine\.json: line 1: invalid JSON"):
        charset_from_file(p)
    p.write_text(json.dumps({"categories": {"letters": "abc"}}), encoding="utf-8")
    with pytest.raises(InputError, match=r"mine\.json: key 'categories\.letters'"):
        charset_from_file(p)
    p.write_text(json.dumps({"categories": {"vowels": ["a"]}}), encoding="utf-8")
    with pytest.raises(InputError, match="unknown category 'vowels'"):
        charset_from_file(p)
    p.write_text(json.dumps({"letters": ["a"]}), encoding="utf-8")
    with pytest.raises(InputError, match="'categories'"):
        charset_from_file(p)


def test_shipped_dir_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = {"lang": "en", "script": "Latin", "categories": {"letters": ["a", "a\u0301"]}}
    (tmp_path / "en.json").write_text(json.dumps(doc), encoding="utf-8")
    monkeypatch.setenv("STRTOOL_CHARSETS", str(tmp_path))
    with pytest.raises(InputError, match=r"en\.json: categories\.letters\[1\].*not NFC"):
        load_charset("en")
    with pytest.raises(InputError, match=r"fr\.json: charset file not found"):
        load_charset("fr")
