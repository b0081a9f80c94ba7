"""`synth words`: font choice never produces tofu, determinism across workers and shards,
the CLI (LMDB contents, config and language errors)."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from typer.testing import CliRunner

from strtool.cli import app
from strtool.data.lmdb_io import LmdbReader
from strtool.data.lmdb_tools import merge
from strtool.errors import FontError
from strtool.paths import fonts_dir
from strtool.synth.config import AugmentConfig, SynthConfig
from strtool.synth.pipeline import iter_results, shard_range
from strtool.synth.words import prepare_words, synth_words

runner = CliRunner()
LATIN = fonts_dir() / "noto-sans" / "NotoSans-Regular.ttf"
DEVA = fonts_dir() / "noto-sans-devanagari" / "NotoSansDevanagari-Regular.ttf"
HINDI = ["नमस्ते", "क्षत्रिय", "प्रकाश", "हिन्दी भाषा", "दुकान"]
LATIN_WORDS = ["hello", "Straße", "café", "world"]


def _corpus(tmp_path: Path, lines: list[str], name: str = "c.txt") -> Path:
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def _values(path: Path) -> list[tuple[bytes, str, str | None]]:
    r = LmdbReader(path)
    return [(s.image, s.label, s.lang) for s in (r[i] for i in range(len(r)))]


def test_devanagari_text_only_rendered_with_devanagari_font(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path, HINDI + LATIN_WORDS)
    job, _ = prepare_words("en,hi", SynthConfig(), [LATIN, DEVA], seed=3, corpus_files=[corpus])
    results = list(iter_results(job, 0, 60))
    deva = [r for r in results if r.lang == "hi"]
    assert deva and all(r.font == DEVA.name and r.skip is None for r in deva)
    assert {r.label for r in deva} <= set(HINDI)
    latin = [r for r in results if r.lang == "en"]
    assert latin and all(r.font in (LATIN.name, DEVA.name) and r.image for r in latin)


def test_text_no_font_covers_is_skipped_and_counted(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path, HINDI + LATIN_WORDS)
    out = tmp_path / "skip.lmdb"
    report = synth_words(out, 30, "en,hi", fonts=[LATIN], corpus_files=[corpus], seed=1)
    results = list(iter_results(prepare_words("en,hi", SynthConfig(), [LATIN], 1,
                                              corpus_files=[corpus])[0], 0, 30))  # fmt: skip
    n_hi = sum(r.lang == "hi" for r in results)
    assert 0 < n_hi < 30
    assert report.skipped == n_hi and report.skip_reasons == {"no-font": n_hi}
    assert report.written == 30 - n_hi == len(LmdbReader(out))
    meta = LmdbReader(out).meta
    assert meta["counts"]["skipped"] == n_hi and set(LmdbReader(out).langs()) == {"en"}
    with pytest.raises(FontError, match="no sample rendered"):
        synth_words(tmp_path / "none", 5, "hi", fonts=[LATIN], corpus_files=[corpus])
    assert not (tmp_path / "none").exists()


def test_same_seed_same_bytes_with_1_and_2_workers_and_shards(tmp_path: Path) -> None:
    kw = {"langs": "en,ar,hi", "seed": 7}
    one = synth_words(tmp_path / "w1", 24, workers=1, **kw)
    synth_words(tmp_path / "w2", 24, workers=2, **kw)
    assert one.written + one.skipped == 24
    ref = _values(tmp_path / "w1")
    assert ref == _values(tmp_path / "w2")
    for k in range(3):
        synth_words(tmp_path / f"s{k}", 24, workers=1, shard=(k, 3), **kw)
    merge(tmp_path / "merged", [tmp_path / f"s{k}" for k in range(3)])
    assert _values(tmp_path / "merged") == ref
    other = synth_words(tmp_path / "w3", 24, langs="en,ar,hi", seed=8)
    assert other.written and _values(tmp_path / "w3") != ref


def test_shard_ranges_are_contiguous_and_complete() -> None:
    parts = [shard_range(10, k, 3) for k in range(3)]
    assert parts == [(0, 3), (3, 6), (6, 10)]


def test_no_augment_crop_has_height_and_contrast(tmp_path: Path) -> None:
    import cv2
    import numpy as np

    cfg = SynthConfig(augment=AugmentConfig.off())
    synth_words(tmp_path / "plain", 6, "en", cfg=cfg, height=24, seed=1)
    r = LmdbReader(tmp_path / "plain")
    for i in range(len(r)):
        img = cv2.imdecode(np.frombuffer(r[i].image, np.uint8), cv2.IMREAD_GRAYSCALE)
        assert img.shape[0] == 24 and img.shape[1] >= 8
        assert int(img.max()) - int(img.min()) > 60


def test_cli_words_lmdb_readable_with_langs_and_nfc(tmp_path: Path) -> None:
    out = tmp_path / "cli.lmdb"
    grid = tmp_path / "grid.png"
    res = runner.invoke(
        app,
        ["synth", "words", "-o", str(out), "-l", "LAT,ARA,ko", "-n", "20", "--seed", "2",
         "--grid", str(grid), "--json", "-q"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    r = LmdbReader(out)
    assert len(r) == summary["written"] == 20 - summary["skipped"]
    assert grid.is_file()
    for i in range(len(r)):
        s = r[i]
        assert s.lang in {"en", "fr", "de", "it", "ar", "ko"}
        assert s.label and unicodedata.normalize("NFC", s.label) == s.label
        assert s.image[:4] == b"\x89PNG"
    assert r.meta["seed"] == 2 and r.meta["config"]["render"]["image_format"] == "png"


def test_cli_bad_config_key_exits_1_naming_key(tmp_path: Path) -> None:
    cfg = tmp_path / "aug.yaml"
    cfg.write_text("augment:\n  blur:\n    sigmaa: [1, 2]\n", encoding="utf-8")
    res = runner.invoke(app, ["synth", "words", "-o", str(tmp_path / "x"), "--config", str(cfg)])
    assert res.exit_code == 1
    assert "augment.blur.sigmaa" in res.output and "Traceback" not in res.output


@pytest.mark.parametrize("args", [["-l", "xx"], ["-l", "en", "--shard", "3/2"]])
def test_cli_bad_language_or_shard_exits_1(tmp_path: Path, args: list[str]) -> None:
    res = runner.invoke(app, ["synth", "words", "-o", str(tmp_path / "x"), "-n", "4", *args])
    assert res.exit_code == 1 and "error:" in res.output
    assert not (tmp_path / "x").exists()


def test_cli_bad_utf8_corpus_names_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.txt"
    p.write_bytes(b"hello\nwor\xffld\n")
    res = runner.invoke(
        app, ["synth", "words", "-o", str(tmp_path / "x"), "-l", "en", "--corpus", str(p)]
    )
    assert res.exit_code == 1
    assert "bad.txt" in res.output and "line 2" in res.output


def test_existing_output_needs_overwrite(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path, LATIN_WORDS)
    out = tmp_path / "o"
    args = ["synth", "words", "-o", str(out), "-l", "en", "-n", "3", "--corpus", str(corpus), "-q"]
    assert runner.invoke(app, args).exit_code == 0
    res = runner.invoke(app, args)
    assert res.exit_code == 1 and "overwrite" in res.output
    assert runner.invoke(app, [*args, "--overwrite"]).exit_code == 0


def test_interrupted_run_resumes_to_the_same_lmdb(tmp_path: Path, monkeypatch) -> None:
    import strtool.synth.pipeline as pipe
    from strtool.errors import InputError

    kw = {"langs": "en,ar,hi", "seed": 5, "workers": 1}
    ref = synth_words(tmp_path / "ref", 40, **kw)
    monkeypatch.setattr(pipe, "CHECKPOINT_EVERY", 8)
    account, calls = pipe._account, []

    def failing(report, r):  # the 27th sample fails: 24 are checkpointed
        calls.append(1)
        if len(calls) == 27:
            raise KeyboardInterrupt
        account(report, r)

    monkeypatch.setattr(pipe, "_account", failing)
    with pytest.raises(KeyboardInterrupt):
        synth_words(tmp_path / "out", 40, **kw)
    monkeypatch.setattr(pipe, "_account", account)
    assert (tmp_path / "out.partial").is_dir() and not (tmp_path / "out").exists()
    with pytest.raises(InputError, match="--resume"):
        synth_words(tmp_path / "out", 40, **kw)
    with pytest.raises(InputError, match="another job"):
        synth_words(tmp_path / "out", 40, resume=True, **{**kw, "seed": 6})
    seen: list[int] = []
    res = synth_words(tmp_path / "out", 40, resume=True, progress=lambda d, t: seen.append(d), **kw)
    assert seen[0] == 24  # the checkpointed samples are not rendered again
    assert _values(tmp_path / "out") == _values(tmp_path / "ref")
    assert res.counts() == ref.counts() and not (tmp_path / "out.partial").exists()
    assert LmdbReader(tmp_path / "out").meta["counts"] == ref.counts()


def test_corpus_line_too_long_to_render_is_skipped_and_counted(tmp_path: Path) -> None:
    """A 30,000-character corpus line used to crash OpenCV's remap; it is skipped as
    `too-long` and counted, and the other lines are rendered."""
    from strtool.synth.words import MAX_RENDER_CHARS, synth_words

    corpus = tmp_path / "c.txt"
    corpus.write_text("abcdefghij" * 3000 + "\nhello\nworld\n", encoding="utf-8")
    rep = synth_words(tmp_path / "o", 6, "en", seed=0, workers=1, corpus_files=[corpus])
    assert rep.skip_reasons.get("too-long", 0) >= 1 and rep.written >= 1
    assert MAX_RENDER_CHARS < 30000
