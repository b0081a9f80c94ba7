"""`synth lines` and `synth pages` end to end (CLI, small counts): labels in logical
order, line lengths, page labels with one line break fewer than lines, Arabic pages
right-aligned, handwriting/print styles, determinism across workers; line text."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from strtool.cli import app
from strtool.config import load_config
from strtool.data.lmdb_io import LmdbReader
from strtool.synth.config import SynthConfig
from strtool.synth.corpus import build_corpus
from strtool.synth.linetext import line_text
from strtool.synth.page import HANDWRITING_DESIGNS, prepare_pages, split_styles
from strtool.synth.pipeline import iter_results
from strtool.synth.words import resolve_fonts
from strtool.text.charset import load_charset

runner = CliRunner()


def _run(args: list[str]) -> dict:
    r = runner.invoke(app, [*args, "-q", "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def _samples(path: Path) -> list[tuple[np.ndarray, str, str | None]]:
    r = LmdbReader(path)
    out = []
    for s in r:
        img = cv2.imdecode(np.frombuffer(s.image, np.uint8), cv2.IMREAD_COLOR)
        out.append((img, s.label, s.lang))
    return out


def test_synth_lines_cli_latin_arabic_devanagari(tmp_path: Path) -> None:
    out = tmp_path / "lines"
    rep = _run(["synth", "lines", "-o", str(out), "--lang", "en,ar,hi", "-n", "9", "--seed", "2"])
    assert rep["written"] + rep["skipped"] == 9 and rep["written"] >= 8
    samples = _samples(out)
    assert {lang for _, _, lang in samples} == {"en", "ar", "hi"}
    for img, label, lang in samples:
        assert img.shape[0] == 32 and img.shape[1] > 2 * 32
        assert 1 <= len(label) <= 80 and "\n" not in label
        assert label == unicodedata.normalize("NFC", label)
        if lang == "ar":  # logical order: the first letter is Arabic, no bidi controls
            first = next(c for c in label if c.isalpha())
            assert unicodedata.bidirectional(first) == "AL"
            assert not any(unicodedata.bidirectional(c) in ("RLO", "RLE", "PDF") for c in label)
    meta = LmdbReader(out).meta
    assert meta["source"] == "strtool synth lines" and meta["config"]["line"]["chars"] == [15, 80]
    assert sum(len(label.split(" ")) > 1 for _, label, _ in samples) >= 6  # several words


def test_line_text_lengths_and_charset() -> None:
    cs = load_charset("en")
    corpus, _ = build_corpus("en", cs.chars, SynthConfig().text)
    cfg = SynthConfig().line
    rng = np.random.default_rng(0)
    texts = [line_text(corpus, rng, cfg) for _ in range(200)]
    assert all(len(t) <= 80 for t in texts)
    assert sum(len(t) >= 15 for t in texts) >= 190
    assert all(c == " " or c in corpus.allowed for t in texts for c in t)
    assert any(any(c.isdigit() for c in t) for t in texts)
    assert any(any(c in ",;:.?!" for c in t) for t in texts)


def test_synth_pages_cli_line_breaks_and_rtl(tmp_path: Path) -> None:
    out = tmp_path / "pages"
    rep = _run(["synth", "pages", "-o", str(out), "--lang", "en,ar,hi", "--num", "6",
                "--set", "page.lines=[3,5]", "--width", "256", "--seed", "1"])  # fmt: skip
    assert rep["written"] == 6
    samples = _samples(out)
    for img, label, _ in samples:
        assert img.shape[1] == 256
        n = label.count("\n") + 1
        assert 1 <= n <= 5 and all(line.strip() == line and line for line in label.split("\n"))
    assert any(label.count("\n") >= 2 for _, label, _ in samples)
    r = runner.invoke(app, ["lmdb", "validate", str(out), "-q"])
    assert r.exit_code == 0, r.output


def test_arabic_page_lines_are_right_aligned(tmp_path: Path) -> None:
    cfg = load_config(SynthConfig, "synth/page", ["page.skew_prob=0", "page.warp_prob=0",
                      "page.indent_prob=0", "page.lines=[4,4]", "page.paper_prob=1",
                      "augment.shear.prob=0", "page.style=print"])  # fmt: skip
    job, _ = prepare_pages("ar", cfg, seed=5, width=400)
    res = next(iter_results(job, 0, 1))
    assert res.image is not None and res.label.count("\n") >= 2
    img = cv2.imdecode(np.frombuffer(res.image, np.uint8), cv2.IMREAD_GRAYSCALE)
    ink = img < img.mean() - 40
    rows = np.flatnonzero(ink.any(axis=1))
    bands = np.split(rows, np.flatnonzero(np.diff(rows) > 3) + 1)
    rights = [np.flatnonzero(ink[b].any(axis=0))[-1] for b in bands if len(b) > 4]
    lefts = [np.flatnonzero(ink[b].any(axis=0))[0] for b in bands if len(b) > 4]
    assert len(rights) >= 3
    assert max(rights) - min(rights) < 0.05 * img.shape[1]  # one right edge
    assert max(lefts) - min(lefts) > max(rights) - min(rights)  # ragged left


def test_handwriting_style_uses_handwriting_faces(tmp_path: Path) -> None:
    faces = resolve_fonts(None, ["en"])
    prints, hands = split_styles(faces)
    names = {f.family for f in hands}
    assert {"Comic Neue", "StrSubset DS", "StrSubset KS"} <= names
    assert not names & {"Noto Sans", "Roboto"} and len(prints) + len(hands) == len(faces)
    out = tmp_path / "hand"
    rep = _run(["synth", "pages", "-o", str(out), "--lang", "en", "--num", "3",
                "--style", "handwriting", "--width", "200"])  # fmt: skip
    assert set(rep["per_font"]) <= {f.label for f in hands}
    assert HANDWRITING_DESIGNS >= {"handwriting", "casual"}
    r = runner.invoke(app, ["synth", "pages", "-o", str(tmp_path / "x"), "--lang", "hi",
                            "-n", "2", "--style", "handwriting"])  # fmt: skip
    assert r.exit_code == 1 and "no handwriting face" in r.output  # none for Devanagari
    r = runner.invoke(app, ["synth", "pages", "-o", str(tmp_path / "y"), "--style", "fancy"])
    assert r.exit_code == 1 and "page.style" in r.output


@pytest.mark.parametrize("cmd", ["lines", "pages"])
def test_workers_give_identical_lmdbs(tmp_path: Path, cmd: str) -> None:
    base = ["synth", cmd, "--lang", "en,ar", "--num", "4", "--seed", "7"]
    _run([*base, "-o", str(tmp_path / "a")])
    _run([*base, "-o", str(tmp_path / "b"), "--workers", "2"])
    a, b = LmdbReader(tmp_path / "a"), LmdbReader(tmp_path / "b")
    assert [(s.image, s.label) for s in a] == [(s.image, s.label) for s in b]


@pytest.mark.parametrize("which", ["words", "lines", "pages"])
def test_library_refuses_zero_samples(tmp_path: Path, which: str) -> None:
    """`--num` is checked by the library too (for callers other than the CLI, whose
    option has min=1), with the CLI's message, and nothing is written."""
    from strtool.errors import InputError
    from strtool.synth.lines import synth_lines
    from strtool.synth.page import synth_pages
    from strtool.synth.words import synth_words

    fn = {"words": synth_words, "lines": synth_lines, "pages": synth_pages}[which]
    with pytest.raises(InputError, match="--num 0: must be at least 1"):
        fn(tmp_path / "out", 0, "en")
    assert list(tmp_path.iterdir()) == []
