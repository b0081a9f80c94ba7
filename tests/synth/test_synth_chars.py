"""`synth chars`: every charset entry, marks on carriers, subtypes, skips, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from strtool.cli import app
from strtool.data.lmdb_io import LmdbReader
from strtool.errors import InputError
from strtool.paths import fonts_dir
from strtool.synth.chars import SUBTYPES, char_entries, synth_chars
from strtool.text.charset import load_charset

runner = CliRunner()
LATIN = fonts_dir() / "noto-sans" / "NotoSans-Regular.ttf"
BENGALI = fonts_dir() / "noto-sans-bengali" / "NotoSansBengali-Regular.ttf"


def test_entries_cover_charset_and_marks_get_carriers() -> None:
    entries = char_entries(["hi"])
    cs = load_charset("hi")
    assert [e.char for e in entries] == list(cs.chars)
    matra = next(e for e in entries if e.char == "\u093f")  # ि
    assert matra.kind == "diacritic" and matra.shaping == "\u0915\u093f"  # on क
    assert next(e for e in entries if e.char == "\u0915").shaping == "\u0915"


def test_chars_lmdb_labels_types_and_square_crops(tmp_path: Path) -> None:
    out = tmp_path / "bn"
    report = synth_chars(out, "bn", per_char=2, fonts=[BENGALI, LATIN], size=24, seed=4)
    r = LmdbReader(out)
    cs = load_charset("bn")
    assert report.written == len(r) and report.written + report.skipped == 2 * len(cs.chars)
    kinds = {"letter", "diacritic", "digit", "punctuation", "common"}
    for i in range(len(r)):
        s = r[i]
        assert s.lang == "bn" and s.label in cs.chars
        kind = r.get_raw(b"type-%09d" % (i + 1)).decode()
        assert kind in kinds
        assert kind == SUBTYPES[cs.category_of(s.label)]
        img = cv2.imdecode(np.frombuffer(s.image, np.uint8), cv2.IMREAD_COLOR)
        assert img.shape == (24, 24, 3)
    assert any(r[i].label == "\u09be" for i in range(len(r)))  # া stored alone


def test_unsupported_chars_are_skipped_and_counted(tmp_path: Path) -> None:
    report = synth_chars(tmp_path / "x", "bn", per_char=1, fonts=[LATIN])
    bengali_letters = load_charset("bn").categories["letters"]
    assert report.skipped >= len(bengali_letters)
    assert report.skip_reasons == {"no-font": report.skipped}
    labels = set(LmdbReader(tmp_path / "x").labels())
    assert not labels & set(bengali_letters)


def test_same_seed_same_bytes_with_2_workers(tmp_path: Path) -> None:
    kw = {"langs": "bn", "per_char": 1, "fonts": [BENGALI], "seed": 9}
    synth_chars(tmp_path / "a", workers=1, **kw)
    synth_chars(tmp_path / "b", workers=2, **kw)
    a, b = LmdbReader(tmp_path / "a"), LmdbReader(tmp_path / "b")
    assert len(a) == len(b) and all(a[i] == b[i] for i in range(len(a)))


def test_cli_chars(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    res = runner.invoke(
        app,
        ["synth", "chars", "-o", str(out), "-l", "en", "--per-char", "1", "--size", "32",
         "--fonts", str(LATIN), "--json", "-q"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    r = LmdbReader(out)
    assert summary["written"] == len(r) > 50 and set(r.langs()) == {"en"}
    assert r.meta["source"] == "strtool synth chars"
    bad = runner.invoke(app, ["synth", "chars", "-o", str(tmp_path / "y"), "-l", "klingon"])
    assert bad.exit_code == 1 and "klingon" in bad.output


def test_lone_brackets_in_rtl_charset_are_not_mirrored() -> None:
    from strtool.synth.chars import CharEntry, layout_lang

    assert layout_lang(CharEntry("(", "(", "ar", "punctuation")) is None
    assert layout_lang(CharEntry("\u0628", "\u0628", "ar", "letter")) == "ar"
    assert layout_lang(CharEntry("(", "(", "en", "punctuation")) == "en"
    face_path = fonts_dir() / "amiri" / "Amiri-Regular.ttf"
    from strtool.synth.fonts import FontFace
    from strtool.synth.render import render_mask

    face = FontFace(face_path)
    plain = render_mask("(", face, 40, None)
    rtl = render_mask("(", face, 40, "ar")
    assert not np.array_equal(rtl, plain)  # an RTL base direction mirrors it...
    assert np.array_equal(rtl, render_mask(")", face, 40, None))  # ...into ")"


def test_only_restricts_entries_to_an_explicit_character_list(tmp_path: Path) -> None:
    wanted = ["\u0995", "\u09be", "\u0996"]  # ক া খ
    entries = char_entries(["bn"], only=wanted)
    cs = load_charset("bn")
    assert [e.char for e in entries] == [c for c in cs.chars if c in wanted]
    assert next(e for e in entries if e.char == "\u09be").kind == "diacritic"
    out = tmp_path / "only"
    report = synth_chars(out, "bn", per_char=2, fonts=[BENGALI], seed=1, only=wanted)
    r = LmdbReader(out)
    assert report.written == 6 and sorted(set(r.labels())) == sorted(wanted)
    assert r.meta["only"] == sorted(wanted) and r.meta["entries"] == 3


def test_only_with_a_character_outside_the_charsets_is_an_input_error() -> None:
    with pytest.raises(InputError, match="U\\+4E2D"):
        char_entries(["bn"], only=["\u0995", "\u4e2d"])


def test_arabic_letters_are_drawn_in_joined_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    """With `render.joining_forms` = 1 every Arabic-script letter crop is shaped with
    ZWJ as an initial, medial or final form (all three occur); marks, digits and
    other scripts never are. The joined shape differs from the isolated one."""
    import strtool.synth.chars as chars
    from strtool.synth.chars import JOINED_FORMS, ZWJ, CharEntry, CharJob, joins
    from strtool.synth.config import SynthConfig
    from strtool.synth.fontpool import FontPool
    from strtool.synth.fonts import FontFace
    from strtool.synth.render import render_mask

    assert joins(CharEntry("\u0647", "\u0647", "ar", "letter"))
    assert not joins(CharEntry("\u064e", "\u0628\u064e", "ar", "diacritic"))
    assert not joins(CharEntry("\u0663", "\u0663", "ar", "digit"))
    assert not joins(CharEntry("b", "b", "en", "letter"))
    seen: list[str] = []
    real = chars.render_mask
    monkeypatch.setattr(chars, "render_mask", lambda t, *a: (seen.append(t), real(t, *a))[1])
    entries = [CharEntry("\u0647", "\u0647", "ar", "letter"), CharEntry("b", "b", "en", "letter")]
    amiri = fonts_dir() / "amiri" / "Amiri-Regular.ttf"
    for share, want in ((1.0, {f.format("\u0647") for f in JOINED_FORMS}), (0.0, {"\u0647"})):
        cfg = SynthConfig()
        cfg.render.joining_forms = share
        faces = [FontFace(amiri), FontFace(LATIN)]
        pool = FontPool.build(faces, {"ar": ["\u0647"], "en": ["b"]})
        job = CharJob(entries, 30, pool, cfg, seed=1)
        seen.clear()
        for i in range(60):
            job.make(i)
        assert set(seen[:30]) == want and set(seen[30:]) == {"b"}
    face = FontFace(amiri)
    isolated = render_mask("\u0647", face, 40, "ar")
    assert not np.array_equal(isolated, render_mask(ZWJ + "\u0647" + ZWJ, face, 40, "ar"))
