"""Corpora and scene strings: charset filtering with counts, native digits, user files,
rendering of complex scripts with libraqm."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from strtool.errors import InputError
from strtool.paths import fonts_dir
from strtool.synth.corpus import (
    Corpus,
    TextConfig,
    assign_langs,
    build_corpus,
    dropped_summary,
    filter_entries,
    read_corpus,
)
from strtool.synth.fonts import FontFace
from strtool.synth.render import has_raqm, render_mask, render_vertical
from strtool.synth.scene import code, scene_string, to_native
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


def _width(mask: np.ndarray) -> int:
    return mask.shape[1] - 2  # render_mask adds a 1 px margin on each side


def _best_offset(part: np.ndarray, whole: np.ndarray) -> int:
    """Column offset at which `part` matches `whole` best (mean absolute difference)."""
    h = min(part.shape[0], whole.shape[0])
    diffs = [
        np.abs(whole[:h, x : x + part.shape[1]].astype(int) - part[:h].astype(int)).mean()
        for x in range(whole.shape[1] - part.shape[1] + 1)
    ]
    return int(np.argmin(diffs))


def test_raqm_shapes_devanagari_and_arabic() -> None:
    """What only shaping does (Pillow's BASIC layout fails each of these): the
    i-matra is reordered before its consonant, a conjunct is one narrow glyph, and
    Arabic letters take their joined (narrow) forms."""
    assert has_raqm()
    deva = FontFace(fonts_dir() / "noto-sans-devanagari" / "NotoSansDevanagari-Regular.ttf")
    ka = render_mask("\u0915", deva, 40, "hi")
    ki = render_mask("\u0915\u093f", deva, 40, "hi")  # KA + i-matra, in logical order
    # the matra is drawn LEFT of KA: KA sits at the right end of the cluster's mask
    assert _best_offset(ka, ki) == ki.shape[1] - ka.shape[1] > 5
    ssa = render_mask("\u0937", deva, 40, "hi")
    kssa = render_mask("\u0915\u094d\u0937", deva, 40, "hi")  # KA + virama + SSA
    assert _width(kssa) < 0.7 * (_width(ka) + _width(ssa))  # one conjunct glyph
    arab = FontFace(fonts_dir() / "noto-sans-arabic" / "NotoSansArabic-Regular.ttf")
    beh = render_mask("\u0628", arab, 40, "ar")
    joined = render_mask("\u0628\u0628\u0628", arab, 40, "ar")
    assert _width(joined) < 0.7 * 3 * _width(beh)  # initial + medial + final forms
    salam = render_mask("\u0633\u0644\u0627\u0645", arab, 40, "ar")
    letters = sum(_width(render_mask(c, arab, 40, "ar")) for c in "\u0633\u0644\u0627\u0645")
    assert _width(salam) < 0.85 * letters
    cjk = FontFace(fonts_dir() / "noto-sans-cjk-sc" / "NotoSansCJKsc-Regular.otf")
    tall = render_vertical("\u4e2d\u6587\u5b57", cjk, 30, "zh")
    assert tall.shape[0] > 2 * tall.shape[1]


# ------------------------------------------------------------------ scene-like text mix
def _mix(cfg: TextConfig, lang: str = "en", n: int = 6000) -> list[str]:
    words = [w * 2 for w in ("ab", "cd", "ef", "gh", "ij", "kl", "mn", "op", "qr", "st")]
    allowed = frozenset("abcdefghijklmnopqrstABCDEFGHIJKLMNOPQRST")
    corpus = Corpus(lang, words, allowed, cfg)
    rng = np.random.default_rng(11)
    return [corpus.sample(rng) for _ in range(n)]


def test_case_and_phrase_rates_within_tolerance() -> None:
    cfg = TextConfig(scene_prob=0.0, line_prob=0.2, upper_prob=0.3, title_prob=0.35)
    texts = _mix(cfg)
    n = len(texts)
    upper = sum(t.isupper() for t in texts) / n
    title = sum(t.istitle() for t in texts) / n
    lower = sum(t.islower() for t in texts) / n
    lines = sum(" " in t for t in texts) / n
    tol = 3 * np.sqrt(0.25 / n)  # 3 sigma of a proportion
    assert upper == pytest.approx(0.3, abs=tol)
    assert title == pytest.approx(0.35, abs=tol)
    assert lower == pytest.approx(0.35, abs=tol)
    assert lines == pytest.approx(0.2, abs=tol)
    assert {len(t.split()) for t in texts} == {1, 2, 3}


def test_uncased_scripts_and_user_corpora_keep_their_case() -> None:
    cfg = TextConfig(scene_prob=0.0, upper_prob=0.5, title_prob=0.5)
    assert all(t.islower() for t in _mix(cfg, lang="hi", n=500))
    corpus = Corpus("en", ["abab"], frozenset("abAB"), cfg, generated=False)
    rng = np.random.default_rng(0)
    assert {corpus.sample(rng) for _ in range(50)} == {"abab"}


def test_default_mix_has_upper_title_numbers_and_phrases() -> None:
    cs = load_charset("en")
    corpus, _ = build_corpus("en", cs.chars, TextConfig(top_words=3000))
    rng = np.random.default_rng(3)
    texts = [corpus.sample(rng) for _ in range(4000)]
    n = len(texts)
    letters = [t for t in texts if any(c.isalpha() for c in t) and not any(c.isdigit() for c in t)]
    digits = sum(any(c.isdigit() for c in t) for t in texts) / n
    upper = sum(t.isupper() for t in letters) / len(letters)
    title = sum(t.istitle() and not t.isupper() for t in letters) / len(letters)
    assert 0.10 <= digits <= 0.20  # scene strings: numbers, prices, dates, codes...
    assert 0.24 <= upper <= 0.36 and 0.26 <= title <= 0.42
    assert 0.10 <= sum(" " in t for t in letters) / len(letters) <= 0.22


def test_dropped_corpus_lines_are_counted_by_reason(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    lines = ["hello", "café", "smile \U0001f600", "hello", "world", "\u0301oops"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "o.lmdb"
    from strtool.synth.words import synth_words

    report = synth_words(out, 4, "en", corpus_files=[path])
    dropped = report.extra["corpus_dropped"]["corpus"]
    assert dropped["total"] == 4
    assert dropped["outside-charset"] == 2 and dropped["duplicate"] == 1
    assert dropped["lone-mark"] == 1
    assert "é" in dropped["outside_chars"] and "\U0001f600" in dropped["outside_chars"]
    assert "café" in dropped["examples"]
    from strtool.data.lmdb_io import LmdbReader

    assert LmdbReader(out).meta["corpus_dropped"] == report.extra["corpus_dropped"]


def test_synth_cli_warns_about_unused_corpus_entries(tmp_path: Path) -> None:
    """The human output names the --corpus entries a run did not use (the counts were
    in meta and --json only); pages store the same summary in their meta."""
    from typer.testing import CliRunner

    from strtool.cli import app
    from strtool.data.lmdb_io import LmdbReader

    path = tmp_path / "c.txt"
    path.write_text("hello\ncafé\nworld wide\nhello\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["synth", "words", "-o", str(tmp_path / "w"), "-n", "3",
                                   "--lang", "en", "--corpus", str(path)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "2 --corpus entries not used (outside-charset: 1, duplicate: 1)" in res.output
    assert "outside the charsets: é" in res.output and "café" in res.output
    res = CliRunner().invoke(app, ["synth", "pages", "-o", str(tmp_path / "p"), "-n", "1",
                                   "--lang", "en", "--corpus", str(path), "-q"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "2 --corpus entries not used" in res.output
    dropped = LmdbReader(tmp_path / "p").meta["corpus_dropped"]["corpus"]
    assert dropped["total"] == 2 and dropped["duplicate"] == 1


def test_dropped_summary_counts_unplaced_entries() -> None:
    _, st = filter_entries(["ab", "ax"], frozenset("ab"), "en", "corpus")
    summary = dropped_summary([st], unplaced=3)
    assert summary == {"corpus": {"total": 4, "outside-charset": 1, "no-charset": 3,
                                  "outside_chars": "x", "examples": ["ax"]}}  # fmt: skip
    assert dropped_summary([]) == {}


def test_code_scene_strings() -> None:
    rng = np.random.default_rng(0)
    codes = {code("en", rng) for _ in range(200)}
    assert any(c[0].isalpha() and c[-1].isdigit() for c in codes)
    assert all(any(ch.isdigit() for ch in c) for c in codes)
    assert all(not any(ch.isalpha() for ch in code("hi", rng)) for _ in range(50))


def test_skip_words_gives_words_outside_the_training_ranks() -> None:
    """`text.skip_words` + `text.top_words` select a wordfreq rank range, so a
    validation set can hold words the training corpus (top 20,000) never contains."""
    from strtool.config import load_config
    from strtool.errors import ConfigError
    from strtool.synth.config import SynthConfig
    from strtool.synth.corpus import TextConfig, build_corpus, wordfreq_words
    from strtool.text.charset import load_charset

    allowed = load_charset("en").chars + (" ",)
    train, _ = build_corpus("en", allowed, TextConfig(top_words=2000))
    held, _ = build_corpus("en", allowed, TextConfig(top_words=3000, skip_words=2000))
    assert held.words and not set(held.words) & set(train.words)
    assert set(held.words) <= set(wordfreq_words("en", 3000)[2000:])
    cfg = load_config(SynthConfig, "synth/heldout_val", [])
    assert (cfg.text.skip_words, cfg.text.top_words) == (20000, 30000)
    with pytest.raises(ConfigError, match="text.skip_words"):
        load_config(SynthConfig, None, ["text.skip_words=500", "text.top_words=500"])


def test_without_libraqm_synth_stops_with_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Pillow without libraqm (e.g. FriBiDi missing: seen on a GPU machine's image) would
    draw Arabic unjoined and Indic clusters unformed: synth and the training stream stop
    with one line saying what to install, before rendering anything."""
    from typer.testing import CliRunner

    from strtool.cli import app
    from strtool.synth import render

    monkeypatch.setattr(render, "has_raqm", lambda: False)
    out = tmp_path / "w.lmdb"
    for args in (["synth", "words", "--lang", "en", "-n", "4", "-o", str(out)],
                 ["synth", "chars", "--lang", "en", "-o", str(tmp_path / "c.lmdb")]):  # fmt: skip
        res = CliRunner().invoke(app, args)
        assert res.exit_code == 1, res.output
        assert "libraqm" in res.stderr and "fribidi" in res.stderr.lower()
        assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.output
    assert not out.exists()
