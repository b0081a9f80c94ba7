"""Corpora and scene strings: charset filtering with counts, native digits, user files,
rendering of complex scripts with libraqm."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from strtool.errors import InputError
from strtool.paths import fonts_dir
from strtool.synth.corpus import (
    TextConfig,
    assign_langs,
    build_corpus,
    filter_entries,
    read_corpus,
)
from strtool.synth.fonts import FontFace
from strtool.synth.render import has_raqm, render_mask, render_vertical
from strtool.synth.scene import scene_string, to_native
from strtool.text.charset import load_charset


def test_filter_counts_outside_chars_and_lone_marks() -> None:
    allowed = frozenset("abc")
    kept, st = filter_entries(["ab", "abd", "\u0301a", "ab", "  ", "c a"], allowed, "en", "t")
    assert kept == ["ab", "c a"]
    assert st.total == 5 and st.filtered == 2 and st.broken == 1 and st.outside["d"] == 1


def test_wordfreq_corpus_inside_charset() -> None:
    cs = load_charset("hi")
    cfg = TextConfig(top_words=500)
    corpus, (st,) = build_corpus("hi", cs.chars, cfg)
    assert st.source == "wordfreq" and st.total == 500 and st.kept + st.filtered <= 500
    rng = np.random.default_rng(0)
    for _ in range(300):
        text = corpus.sample(rng)
        assert text and all(c == " " or c in cs for c in text)


@pytest.mark.parametrize(("lang", "lo", "hi"), [("ar", 0x660, 0x669), ("hi", 0x966, 0x96F),
                                                 ("bn", 0x9E6, 0x9EF)])  # fmt: skip
def test_native_digits(lang: str, lo: int, hi: int) -> None:
    assert to_native("12.5%", lang)[:2] == chr(lo + 1) + chr(lo + 2)
    rng = np.random.default_rng(1)
    native = [scene_string(lang, rng, native_prob=1.0) for _ in range(50)]
    digits = [c for s in native for c in s if c.isdigit()]
    assert digits and all(lo <= ord(c) <= hi for c in digits)
    ascii_only = [scene_string(lang, rng, native_prob=0.0) for _ in range(50)]
    assert all(not c.isdigit() or c.isascii() for s in ascii_only for c in s)


def test_read_corpus_nfc_and_errors(tmp_path: Path) -> None:
    p = tmp_path / "c.txt"
    p.write_text("\ufeffcafe\u0301\n\n  two   words \n", encoding="utf-8")
    assert read_corpus(p) == ["caf\u00e9", "two words"]
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok\n\xc3\x28\n")
    with pytest.raises(InputError, match=r"bad\.txt: line 2"):
        read_corpus(bad)
    with pytest.raises(InputError, match="not found"):
        read_corpus(tmp_path / "missing.txt")


def test_assign_langs_by_charset() -> None:
    allowed = {"en": frozenset("abc"), "hi": frozenset("\u0915\u093e")}
    out, unplaced = assign_langs(["ab", "\u0915\u093e", "zz"], allowed)
    assert out == {"en": ["ab"], "hi": ["\u0915\u093e"]} and unplaced == 1


def test_raqm_shapes_devanagari_and_arabic() -> None:
    assert has_raqm()
    deva = FontFace(fonts_dir() / "noto-sans-devanagari" / "NotoSansDevanagari-Regular.ttf")
    # the i-matra is drawn left of its consonant: ink starts left of a bare KA's ink
    ki = render_mask("\u0915\u093f", deva, 40, "hi")
    ka = render_mask("\u0915", deva, 40, "hi")
    assert ki.shape[1] > ka.shape[1]
    arab = FontFace(fonts_dir() / "noto-sans-arabic" / "NotoSansArabic-Regular.ttf")
    joined = render_mask("\u0628\u0628\u0628", arab, 40, "ar")
    isolated = render_mask("\u0628 \u0628 \u0628", arab, 40, "ar")
    assert joined.shape[1] < isolated.shape[1]
    cjk = FontFace(fonts_dir() / "noto-sans-cjk-sc" / "NotoSansCJKsc-Regular.otf")
    tall = render_vertical("\u4e2d\u6587\u5b57", cjk, 30, "zh")
    assert tall.shape[0] > 2 * tall.shape[1]
