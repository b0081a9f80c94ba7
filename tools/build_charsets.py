#!/usr/bin/env python
"""Build the shipped charsets (`charsets/<lang>.json`) for the ten strtool languages.

    python tools/build_charsets.py                 # (re)write charsets/*.json
    python tools/build_charsets.py --out DIR       # write elsewhere
    python tools/build_charsets.py --check         # exit 1 if the files are stale

The JSON files are data; this script documents how they were made. Every entry is an
NFC string in logical order. Categories:

- `letters`: base letters of the script (Latin, Arabic, Devanagari, Bengali, Han,
  kana, Hangul). Big CJK sets come from the legacy national standards through
  Python's codecs: GB2312 level 1 (rows 0xB0-0xD7 of `gb2312`, 3,755 Han), JIS X 0208
  level 1 (rows 0xB0-0xCF of `euc_jp`, 2,965 kanji) and KS X 1001 (rows 0xB0-0xC8 of
  `euc_kr`, 2,350 Hangul syllables).
- `diacritics`: combining marks that are tokens of their own in code-point mode
  (Arabic harakat, Indic matras / virama / anusvara / candrabindu / visarga / nukta).
- `digits`: ASCII 0-9 plus the script's own digits.
- `punctuation`: ASCII punctuation plus the script's and the language's own.
- `common`: symbols and currency seen on signs, plus script-specific non-letters
  (Arabic tatweel, the Japanese prolonged sound mark and iteration marks).
- `clusters` (Indic and Arabic only): multi-code-point sequences for font shaping
  checks (conjuncts, nukta consonants, lam-alef). They are not tokens.

Code points that NFC changes are never listed: Devanagari U+0958-095F and Bengali
U+09DC/09DD/09DF are composition exclusions, so NFC stores them as consonant + nukta
(both listed). The space is not an entry: tokenizers add it with `space=True`.
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from strtool.text.langs import LANG_SCRIPT  # noqa: E402


def rng(a: int, b: int) -> list[str]:
    """Characters U+a..U+b inclusive, skipping unassigned code points."""
    return [chr(c) for c in range(a, b + 1) if unicodedata.category(chr(c)) != "Cn"]


def decode_rows(codec: str, rows: range) -> list[str]:
    """Every character of the double-byte rows `rows` (cells 0xA1-0xFE) of `codec`,
    in code order; undefined cells are skipped."""
    out: list[str] = []
    for r in rows:
        for c in range(0xA1, 0xFF):
            try:
                out.append(bytes([r, c]).decode(codec))
            except UnicodeDecodeError:
                continue
    return out


ASCII_LETTERS = [chr(c) for c in range(ord("A"), ord("Z") + 1)] + [
    chr(c) for c in range(ord("a"), ord("z") + 1)
]
ASCII_DIGITS = list("0123456789")
_ASCII_PRINT = [chr(c) for c in range(0x21, 0x7F) if not chr(c).isalnum()]
ASCII_PUNCT = [c for c in _ASCII_PRINT if unicodedata.category(c).startswith("P")]
ASCII_SYMBOLS = [c for c in _ASCII_PRINT if unicodedata.category(c).startswith("S")]
TYPO_PUNCT = list("‘’“”–—…•·")  # curly quotes, dashes, ellipsis, bullets
SIGN_SYMBOLS = list("°")  # degree sign, everywhere (temperatures, angles)
FULLWIDTH_DIGITS = rng(0xFF10, 0xFF19)
_CJK_MARKS_RAW = list("、。〈〉《》「」『』【】〔〕〜・‥") + list(
    "！＂＃％＆＇（），－．／：；？＠［］＿｛｝～"
)
_CJK_MARKS = _CJK_MARKS_RAW + list("＋＝＜＞＊")
CJK_PUNCT = [c for c in _CJK_MARKS if unicodedata.category(c).startswith("P")]
CJK_SYMBOLS = [c for c in _CJK_MARKS if not unicodedata.category(c).startswith("P")]

LATIN_EXTRA = {
    "en": ([], [], list("£€¢©®™")),
    "fr": (list("àâæçéèêëîïôœùûüÿ" + "ÀÂÆÇÉÈÊËÎÏÔŒÙÛÜŸ"), list("«»‹›"), list("€£©®™")),
    "de": (list("äöüßẞÄÖÜ"), list("„‚«»‹›§"), list("€£©®™")),
    "it": (list("àèéìíîòóùú" + "ÀÈÉÌÍÎÒÓÙÚ"), list("«»"), list("€£©®™")),
}


def latin(lang: str) -> dict:
    letters, punct, symbols = LATIN_EXTRA[lang]
    return {
        "categories": {
            "letters": ASCII_LETTERS + letters,
            "diacritics": [],
            "digits": ASCII_DIGITS,
            "punctuation": ASCII_PUNCT + TYPO_PUNCT + punct,
            "common": ASCII_SYMBOLS + SIGN_SYMBOLS + symbols,
        },
        "notes": "Basic Latin letters plus the accented letters of the language "
        "(precomposed, as NFC stores them). Mix scripts by taking the union of charsets.",
    }


def arabic() -> dict:
    letters = rng(0x0621, 0x063A) + rng(0x0641, 0x064A)  # hamza .. ghain, feh .. yeh
    loan = list("پچژڤگکی")  # Persian/Urdu letters, loanwords on signs
    return {
        "categories": {
            "letters": letters + loan,
            "diacritics": rng(0x064B, 0x0655)
            + ["\u0670"],  # harakat, maddah/hamza, superscript alef
            "digits": ASCII_DIGITS + rng(0x0660, 0x0669) + rng(0x06F0, 0x06F9),
            "punctuation": ASCII_PUNCT + TYPO_PUNCT + list("،؛؟٪٫٬«»"),
            "common": ["\u0640"] + ASCII_SYMBOLS + SIGN_SYMBOLS + list("€£\ufdfc"),
        },
        "clusters": ["لا", "لأ", "لإ", "لآ", "بّ", "لله"],  # lam-alef ligatures, shadda on a carrier
        "notes": "Logical order, unshaped (isolated-form) code points; presentation forms "
        "and lam-alef ligatures are not tokens (lam + alef). Harakat, maddah/hamza "
        "above/below and superscript alef are diacritics; tatweel is common. Digits: "
        "ASCII, Arabic-Indic U+0660-0669 and Eastern (Persian) U+06F0-06F9. Letters "
        "include پچژڤگکی used for loanwords and Persian text on signs.",
    }


def devanagari() -> dict:
    vowels = rng(0x0905, 0x0914)  # अ .. औ (incl. ऍ ऎ ऑ ऒ)
    consonants = rng(0x0915, 0x0939)  # क .. ह (ऩ ऱ ऴ are NFC-stable compositions)
    marks = ["\u0901", "\u0902", "\u0903", "\u093c"] + rng(0x093E, 0x094D) + ["\u0962", "\u0963"]
    nukta = [
        chr(c) + "\u093c" for c in (0x0915, 0x0916, 0x0917, 0x091C, 0x0921, 0x0922, 0x092B, 0x092F)
    ]
    conjuncts = [
        "क्ष",
        "त्र",
        "ज्ञ",
        "श्र",
        "द्ध",
        "द्व",
        "प्र",
        "क्र",
        "र्क",
        "र्म",
        "स्त",
        "न्द",
        "क्क",
        "ट्ट",
        "ह्म",
        "ड्ड",
    ]
    return {
        "categories": {
            "letters": vowels + ["\u0960", "\u0961"] + consonants + ["\u093d", "\u0950"],
            "diacritics": marks,
            "digits": ASCII_DIGITS + rng(0x0966, 0x096F),
            "punctuation": ASCII_PUNCT + TYPO_PUNCT + ["\u0964", "\u0965", "\u0970"],
            "common": ASCII_SYMBOLS + SIGN_SYMBOLS + ["₹"],
        },
        "clusters": conjuncts + nukta + ["कि", "र्कि", "क्षि"],
        "notes": "Code-point units: matras, virama, anusvara, candrabindu, visarga and nukta "
        "are diacritics. U+0958-095F (क़ ख़ ग़ ज़ ड़ ढ़ फ़ य़) are composition exclusions: NFC "
        "stores them as consonant + nukta U+093C, so they are not entries. Danda U+0964 "
        "and double danda U+0965 are shared with Bengali. Use unit='grapheme' for "
        "akshara tokens; `clusters` lists conjuncts for font shaping checks only.",
    }


def bengali() -> dict:
    vowels = rng(0x0985, 0x098C) + rng(0x098F, 0x0990) + rng(0x0993, 0x0994)
    consonants = rng(0x0995, 0x09A8) + rng(0x09AA, 0x09B0) + ["\u09b2"] + rng(0x09B6, 0x09B9)
    matras = rng(0x09BE, 0x09C4) + ["\u09c7", "\u09c8", "\u09cb", "\u09cc", "\u09cd", "\u09d7"]
    marks = ["\u0981", "\u0982", "\u0983", "\u09bc"] + matras
    nukta = ["\u09a1\u09bc", "\u09a2\u09bc", "\u09af\u09bc"]  # ড় ঢ় য় as NFC stores them
    conjuncts = [
        "ক্ষ",
        "জ্ঞ",
        "ন্ত",
        "ন্দ",
        "ক্ত",
        "স্ত",
        "ত্র",
        "শ্র",
        "প্র",
        "র্ক",
        "ক্য",
        "ঙ্গ",
        "ঞ্চ",
        "ষ্ট",
        "ম্প",
        "দ্ধ",
    ]
    return {
        "categories": {
            "letters": vowels + consonants + ["\u09ce", "\u09bd"],
            "diacritics": marks,
            "digits": ASCII_DIGITS + rng(0x09E6, 0x09EF),
            "punctuation": ASCII_PUNCT + TYPO_PUNCT + ["\u0964", "\u0965"],
            "common": ASCII_SYMBOLS + SIGN_SYMBOLS + ["৳", "₹"],
        },
        "clusters": conjuncts + nukta + ["কি", "কো", "কৌ", "র্কি"],
        "notes": "Code-point units: matras (incl. the two-part ো ৌ, which NFC composes), "
        "virama, anusvara, candrabindu, visarga, nukta and the au length mark are "
        "diacritics. U+09DC/09DD/09DF (ড় ঢ় য়) are composition exclusions: NFC stores "
        "them as consonant + nukta U+09BC. Khanda ta U+09CE is a letter; taka ৳ common.",
    }


def cjk(lang: str) -> dict:
    """zh / ja / ko from the legacy national character sets."""
    digits = ASCII_DIGITS + FULLWIDTH_DIGITS
    punct = ASCII_PUNCT + TYPO_PUNCT + CJK_PUNCT
    common = ASCII_SYMBOLS + SIGN_SYMBOLS + CJK_SYMBOLS
    if lang == "zh":
        letters = decode_rows("gb2312", range(0xB0, 0xD8))
        common += ["¥", "￥"]
        notes = "GB2312 level 1 (3,755 Han, rows 0xB0-0xD7), simplified Chinese."
    elif lang == "ja":
        kana = rng(0x3041, 0x3096) + ["ゝ", "ゞ"] + rng(0x30A1, 0x30FA) + ["ヽ", "ヾ"]
        letters = kana + decode_rows("euc_jp", range(0xB0, 0xD0))
        common += ["ー", "々", "〆", "〃", "¥", "￥"]
        notes = (
            "Hiragana, katakana and JIS X 0208 level-1 kanji (2,965, rows 0xB0-0xCF). The "
            "prolonged sound mark ー and the iteration marks 々 〆 〃 are in common."
        )
    else:
        letters = decode_rows("euc_kr", range(0xB0, 0xC9))
        common += ["₩", "￦"]
        notes = "The 2,350 Hangul syllables of KS X 1001 (rows 0xB0-0xC8); no jamo."
    cats = {
        "letters": letters,
        "diacritics": [],
        "digits": digits,
        "punctuation": punct,
        "common": common,
    }
    return {
        "categories": cats,
        "notes": notes + " Fullwidth punctuation and digits are kept as NFC stores them "
        "(only NFKC would fold them). Latin text in CJK labels needs the union with LAT.",
    }


def build(lang: str) -> dict:
    """The charset document of one language (before de-duplication checks)."""
    if LANG_SCRIPT[lang] == "Latin":
        body = latin(lang)
    elif lang == "ar":
        body = arabic()
    elif lang == "hi":
        body = devanagari()
    elif lang == "bn":
        body = bengali()
    else:
        body = cjk(lang)
    doc = {"lang": lang, "script": LANG_SCRIPT[lang], "normalization": "NFC", "unit": "codepoint"}
    doc["categories"] = body["categories"]
    if body.get("clusters"):
        doc["clusters"] = body["clusters"]
    doc["notes"] = body["notes"] + " Space is not an entry: tokenizers add it (space=True)."
    return doc


def validate(doc: dict) -> None:
    """Raise ValueError on a duplicate entry, a non-NFC entry or a multi-code-point
    category entry (only `clusters` may hold sequences)."""
    seen: set[str] = set()
    for cat, entries in doc["categories"].items():
        for e in entries:
            if e in seen:
                raise ValueError(
                    f"{doc['lang']}: duplicate entry {e!r} (U+{ord(e[0]):04X}) in {cat}"
                )
            if unicodedata.normalize("NFC", e) != e or len(e) != 1:
                raise ValueError(f"{doc['lang']}: entry {e!r} in {cat} is not one NFC code point")
            seen.add(e)
    for e in doc.get("clusters", []):
        if unicodedata.normalize("NFC", e) != e:
            raise ValueError(f"{doc['lang']}: cluster {e!r} is not NFC")


def render(doc: dict) -> str:
    """Stable, diff-friendly JSON text: one entry per line, UTF-8, not escaped."""
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", type=Path, default=REPO / "strtool" / "charsets", help="output folder")
    ap.add_argument("--check", action="store_true", help="only check that files are up to date")
    args = ap.parse_args(argv)
    stale = []
    for lang in LANG_SCRIPT:
        doc = build(lang)
        validate(doc)
        text = render(doc)
        path = args.out / f"{lang}.json"
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
            continue
        args.out.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        n = sum(len(v) for v in doc["categories"].values())
        print(f"{path}: {n} entries", file=sys.stderr)
    if stale:
        print("stale: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
