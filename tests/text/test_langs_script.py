"""Languages and groups, normalisation and token units, script detection."""

from __future__ import annotations

import pytest

from strtool.errors import UnknownLanguageError
from strtool.text.langs import GROUPS, LANGS, lang_group, resolve_group, resolve_langs
from strtool.text.normalize import nfc, normalize_label, split_units, unit_length
from strtool.text.script import char_script, detect_group, detect_script


def test_resolve_langs_codes_groups_and_all() -> None:
    assert resolve_langs("en,fr") == ["en", "fr"]
    assert resolve_langs("LAT") == ["en", "fr", "de", "it"]
    assert resolve_langs("ara, lat ,hi") == ["ar", "en", "fr", "de", "it", "hi"]
    assert resolve_langs(["fr", "LAT", "fr"]) == ["fr", "en", "de", "it"]  # de-duplicated
    assert resolve_langs(None) == list(LANGS) == resolve_langs("all") == resolve_langs("")
    assert resolve_langs("JPN,KOR,CHI") == ["ja", "ko", "zh"]
    assert sorted(x for g in GROUPS.values() for x in g) == sorted(LANGS)


@pytest.mark.parametrize("spec", ["xx", "en,klingon", ["en", "LATN"]])
def test_resolve_langs_unknown(spec: object) -> None:
    with pytest.raises(UnknownLanguageError, match="unknown language or group"):
        resolve_langs(spec)  # type: ignore[arg-type]


def test_groups() -> None:
    assert lang_group("fr") == "LAT" and lang_group("bn") == "BEN"
    with pytest.raises(UnknownLanguageError):
        lang_group("xx")
    assert resolve_group("Bangla") == "BEN" and resolve_group("hindi") == "HIN"
    assert resolve_group("kor") == "KOR" and resolve_group("ja") == "JPN"
    with pytest.raises(UnknownLanguageError):
        resolve_group("Cyrillic")


def test_normalisation_keeps_text() -> None:
    assert nfc("e\u0301") == "\u00e9"
    assert nfc("\u0958") == "\u0915\u093c"  # composition exclusion stays decomposed
    assert normalize_label("  Cafe\u0301 \t au\n lait ") == "Café au lait"
    assert normalize_label("ÉCOLE") == "ÉCOLE"  # no case or accent folding
    assert normalize_label("ＡＢＣ１") == "ＡＢＣ１"  # NFC does not fold fullwidth
    assert normalize_label("ＡＢＣ１", form="NFKC") == "ABC1"
    assert normalize_label("a  b", collapse_ws=False) == "a  b"
    ar = "مرحبا ١٢٣"  # logical order kept as typed
    assert normalize_label(ar) == ar


def test_token_units() -> None:
    assert split_units("क्ष", "grapheme") == ["क्ष"]
    assert split_units("क्ष") == ["क", "\u094d", "ष"]
    assert split_units("कि", "grapheme") == ["कि"] and unit_length("कि") == 2
    assert split_units("किताब", "grapheme") == ["कि", "ता", "ब"]
    assert unit_length("नमस्ते", "grapheme") == 3 and unit_length("नमस्ते") == 6
    assert split_units("한국", "grapheme") == ["한", "국"]
    assert split_units("", "grapheme") == []
    with pytest.raises(ValueError, match="unknown token unit"):
        split_units("a", "word")  # type: ignore[arg-type]


def test_char_script() -> None:
    assert char_script("a") == "Latin" and char_script("é") == "Latin"
    assert char_script("ب") == "Arabic" and char_script("क") == "Devanagari"
    assert char_script("ক") == "Bengali" and char_script("漢") == "Han"
    assert char_script("か") == "Hiragana" and char_script("カ") == "Katakana"
    assert char_script("한") == "Hangul"
    assert char_script("7") is None and char_script(" ") is None and char_script("।") is None


@pytest.mark.parametrize(
    ("text", "group"),
    [
        ("Hello", "LAT"),
        ("Crème brûlée 12€", "LAT"),
        ("مرحبا 123", "ARA"),
        ("شارع ٢٥", "ARA"),
        ("নমস্কার", "BEN"),
        ("नमस्ते", "HIN"),
        ("中华人民共和国", "CHI"),
        ("東京都", "CHI"),  # Han alone is Chinese
        ("東京タワー", "JPN"),  # kana makes it Japanese
        ("日本語のテキスト", "JPN"),
        ("한국어", "KOR"),
        ("서울 漢字", "KOR"),  # Hangul with Han is Korean
        ("SALE 세일", "KOR"),
        ("Pizza ピザ", "JPN"),
        ("Hotel فندق فندق", "ARA"),
        ("123 !?", None),
        ("", None),
    ],
)
def test_detect_group(text: str, group: str | None) -> None:
    assert detect_group(text) == group


def test_detect_script() -> None:
    assert detect_script("abc दिल्ली") == "Devanagari"
    assert detect_script("ab क") == "Latin"
    assert detect_script("東京タワー") == "Han"
    assert detect_script("42") is None
