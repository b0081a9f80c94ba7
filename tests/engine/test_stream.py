"""Streamed synthetic training data (`strtool.data.stream`, `data.synth`): determinism
per (seed, index), exact resume, the per-batch mixing ratio, language weights, and
skipped samples (no font, too long, outside the charset) counted, also from workers."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import pytest
import torch
from PIL import Image

from strtool.data.stream import LMDB, STREAM, SynthStream
from strtool.engine.checkpoint import load_checkpoint
from strtool.engine.config import load_run_config
from strtool.engine.data import MixedBatchSampler
from strtool.engine.distributed import ResumableBatchSampler
from strtool.engine.loop import train
from strtool.errors import ConfigError
from strtool.synth.config import SynthConfig
from strtool.synth.fontpool import FontPool
from strtool.synth.words import prepare_words

from .conftest import FONT, Kill, killer

WORDS = ["cab", "bad", "face", "bead", "deaf", "fade", "dab", "cafe", "ace", "bed", "add"]
ARABIC = ["باب", "كتب", "سلام", "بيت"]
UNDRAWABLE = "zzz"  # a corpus line the patched font pool refuses
LONG = "abcdefabcdefabcdef"  # over max_len 12


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("corpus") / "words.txt"
    p.write_text("\n".join(WORDS + ARABIC) + "\n", encoding="utf-8")
    return p


def _stream(corpus: Path, seed: int = 7, **kw) -> SynthStream:
    job, _ = prepare_words("en,ar", SynthConfig(), [str(FONT)], seed, 32, [corpus])
    return SynthStream(job, **kw)


def _cfg(corpus: Path, *extra: str, lmdb: Path | None = None):
    base = ["data.workers=0", "model.arch=crnn_tiny", "model.channels=1", "model.width=64",
            "train.threads=2", "train.batch_size=10", "train.weight_decay=0.0",
            "data.synth.langs=en", f"data.synth.fonts=[{FONT}]", f"data.synth.corpus=[{corpus}]",
            "data.max_len=12"]  # fmt: skip
    if lmdb is not None:
        base += [f"data.train=[{lmdb}]", "data.synth.weight=0.8"]
    return load_run_config(None, base + list(extra))


def test_same_seed_and_index_give_the_same_sample(corpus: Path) -> None:
    a, b = _stream(corpus), _stream(corpus)
    for i in (0, 1, 5, 123456):
        (ra, _), (rb, _) = a.draw(i), b.draw(i)
        assert ra.image == rb.image and ra.label == rb.label and ra.lang == rb.lang
    other = _stream(corpus, seed=8)
    assert [other.draw(i)[0].image for i in range(4)] != [a.draw(i)[0].image for i in range(4)]
    # an item is sample j of `synth words` with that one language and seed
    r, skips = a.draw(3)
    assert not skips and r.image == a.jobs[r.lang].make(3).image
    image, label, lang = a[3]  # no transform: the encoded bytes
    assert image == r.image and (label, lang) == (r.label, r.lang)


@pytest.mark.slow  # renders thousands of stream samples
def test_languages_balanced_by_default_and_weighted(corpus: Path) -> None:
    n = 8000
    balanced = Counter(_stream(corpus).lang_of(j) for j in range(n))
    assert abs(balanced["ar"] / n - 0.5) < 0.03, balanced
    weighted = Counter(_stream(corpus, lang_weights={"ar": 3.0}).lang_of(j) for j in range(n))
    assert abs(weighted["ar"] / n - 0.75) < 0.03, weighted
    only = Counter(_stream(corpus, lang_weights={"en": 0.0}).lang_of(j) for j in range(500))
    assert set(only) == {"ar"}
    rendered = Counter(_stream(corpus)[i][2] for i in range(60))
    assert set(rendered) == {"en", "ar"}


@pytest.fixture()
def no_font_for_undrawable(monkeypatch: pytest.MonkeyPatch) -> None:
    """No face draws `UNDRAWABLE` (forked DataLoader workers inherit the patch)."""
    pick = FontPool.pick

    def patched(self, text, lang, rng, shaping=None):
        face = pick(self, text, lang, rng, shaping)
        return None if text == UNDRAWABLE else face

    monkeypatch.setattr(FontPool, "pick", patched)


def test_skipped_samples_are_counted_by_reason(
    tmp_path: Path, no_font_for_undrawable: None
) -> None:
    p = tmp_path / "c.txt"
    p.write_text("\n".join(["cab", "bed", "qua", UNDRAWABLE, LONG]) + "\n", encoding="utf-8")
    job, _ = prepare_words("en", SynthConfig(), [str(FONT)], 1, 32, [p])
    chars = set("abcdefghijklmnopz")  # no "q", "u"
    st = SynthStream(job, max_len=12, charset=chars)
    labels, total = [], Counter()
    for i in range(80):
        (_, label, _), skips = st.sample(i)
        labels.append(label)
        total.update(skips)
    assert set(labels) == {"cab", "bed"}
    assert set(total) == {"no_font", "too_long", "out_of_charset"}
    assert all(v > 5 for v in total.values()), total
    again = Counter()
    for i in range(80):
        again.update(st.sample(i)[1])
    assert again == total  # skips are deterministic too


@pytest.mark.slow  # trains with a DataLoader worker process
def test_worker_skips_reach_the_run_report_and_log(
    tmp_path: Path, no_font_for_undrawable: None
) -> None:
    p = tmp_path / "c.txt"
    p.write_text("\n".join(WORDS + [UNDRAWABLE] * 4) + "\n", encoding="utf-8")
    cfg = _cfg(p, "data.workers=1", "train.steps=4", "train.log_every=2")
    result = train(cfg, tmp_path / "run")
    stream = result.data_report["stream"]
    assert stream["samples"] == 40 and stream["skipped"]["no_font"] > 0, stream
    records = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["stream_skipped"] == stream["skipped"]
    assert result.model is not None


def test_batches_mix_the_stated_share_and_ranks_draw_disjoint_items() -> None:
    lmdb = ResumableBatchSampler(32, 2, seed=0)
    it = iter(MixedBatchSampler(8, first=0, lmdb=lmdb))
    batches = [next(it) for _ in range(40)]  # over two LMDB epochs
    for keys in batches:
        assert [k[0] for k in keys] == [STREAM] * 8 + [LMDB] * 2
    stream = [k[1] for keys in batches for k in keys if k[0] == STREAM]
    assert stream == list(range(40 * 8))  # every item once, in order
    resumed = iter(MixedBatchSampler(8, first=25, lmdb=ResumableBatchSampler(32, 2, 0, 1, 9)))
    assert next(resumed) == batches[25]
    ranks = [iter(MixedBatchSampler(8, 0, r, 3)) for r in range(3)]
    seen = [k[1] for _ in range(5) for r in ranks for k in next(r)]
    assert len(seen) == len(set(seen)) == 5 * 3 * 8


def test_loader_batches_hold_round_weight_times_batch_stream_samples(
    corpus: Path, tiny_lmdb: Path, tmp_path: Path
) -> None:
    from strtool.engine.distributed import DistInfo
    from strtool.engine.loader import train_loader
    from strtool.engine.setup import prepare_run

    cfg = _cfg(corpus, "data.synth.weight=0.7", lmdb=tiny_lmdb)  # round(0.7 * 10) = 7
    parts = prepare_run(cfg, tmp_path / "r", DistInfo(), resume=False, init=None)
    loader, per_epoch = train_loader(parts, DistInfo(), 0, 0, 0)
    assert per_epoch == 32 // 3
    images, labels, langs, skips = next(iter(loader))
    assert images.shape == (10, 1, 32, 64) and images.dtype == torch.float32
    from .conftest import WORDS as LMDB_WORDS

    assert all(x in WORDS for x in labels[:7]) and all(x in LMDB_WORDS for x in labels[7:])
    assert parts.cfg.data.charset == "en"  # the stream languages' charset by default


@pytest.mark.slow  # two training runs from the stream
def test_resume_after_interruption_matches_straight_run(
    corpus: Path, tiny_lmdb: Path, tmp_path: Path
) -> None:
    extra = ("train.steps=24", "train.lr=3e-3", "train.ckpt_every=8", "train.log_every=1",
             "train.val_every=1000")  # fmt: skip
    straight = train(_cfg(corpus, *extra, lmdb=tiny_lmdb), tmp_path / "a")
    with pytest.raises(Kill):
        train(_cfg(corpus, *extra, lmdb=tiny_lmdb), tmp_path / "b", on_event=killer(13))
    assert load_checkpoint(tmp_path / "b" / "last.pt")["step"] == 8
    resumed = train(_cfg(corpus, *extra, lmdb=tiny_lmdb), tmp_path / "b", resume=True)
    assert resumed.step == straight.step == 24
    a = load_checkpoint(tmp_path / "a" / "last.pt")
    b = load_checkpoint(tmp_path / "b" / "last.pt")
    for k, v in a["model"].items():
        torch.testing.assert_close(b["model"][k], v, rtol=0, atol=0, msg=k)
    assert (a["micro"], a["epoch"], a["cursor"]) == (b["micro"], b["epoch"], b["cursor"])
    assert straight.data_report == resumed.data_report
    assert straight.data_report["stream"]["samples"] == 24 * 8

    def losses(run: str) -> list[tuple[int, float]]:
        lines = (tmp_path / run / "metrics.jsonl").read_text().splitlines()
        return [(r["step"], r["loss"]) for r in map(json.loads, lines) if r["kind"] == "train"]

    assert losses("a") == losses("b")


def test_stream_config_errors(corpus: Path, tiny_lmdb: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="data.synth.weight"):
        load_run_config(None, ["data.synth.weight=0.5"])  # no data.train for the rest
    with pytest.raises(ConfigError, match="data.synth.weight"):
        load_run_config(None, [f"data.train=[{tiny_lmdb}]", "data.synth.langs=en"])
    with pytest.raises(ConfigError, match="data.synth.weight"):
        load_run_config(None, ["data.synth.weight=0"])
    with pytest.raises(ConfigError, match="data.synth.lang_weights"):
        load_run_config(None, ["data.synth.lang_weights.en=-1"])
    with pytest.raises(ConfigError, match="data.synth.lang_weights: ko"):
        train(_cfg(corpus, "data.synth.lang_weights.ko=2", "train.steps=1"), tmp_path / "x")
    with pytest.raises(ConfigError, match="data.synth.config"):
        train(_cfg(corpus, "data.synth.overrides=[augment.nope=1]", "train.steps=1"),
              tmp_path / "y")  # fmt: skip


def test_stream_bench_smoke_run() -> None:
    import re
    import subprocess
    import sys

    bench = Path(__file__).resolve().parents[2] / "bench" / "stream_speed.py"
    r = subprocess.run([sys.executable, str(bench), "--quick", "--threads", "1"],
                       capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr
    for label in ("model step", "lmdb", "stream"):
        assert re.search(rf"^{label}\s+\d+\.\d \(\s*\d+\.\d\)", r.stdout, re.M), r.stdout
    assert re.search(r"^stream/model step: \d\.\d\d", r.stdout, re.M), r.stdout


def test_a_lines_stream_draws_synth_lines_samples(corpus: Path) -> None:
    """data.synth.kind=lines: item i is a text line of `synth lines` (its preset by
    default), rendered as wide as the line, labelled in logical order."""
    from strtool.engine.data import build_stream
    from strtool.synth.lines import LineJob

    cfg = _cfg(corpus, "data.synth.kind=lines", "data.max_len=100", "data.synth.langs=en,ar")
    stream = build_stream(cfg, None, None, "codepoint")  # type: ignore[arg-type]
    assert all(isinstance(job, LineJob) for job in stream.jobs.values())
    words = set(WORDS) | set(ARABIC)
    for i in range(6):
        r, skips = stream.draw(i)
        if skips:  # another attempt was drawn; compare only first attempts
            continue
        tokens = r.label.split()
        assert len(r.label) >= 15 and len(tokens) >= 2, r.label
        assert any(t.strip(".,;:!?()'\"«»،؛؟") in words for t in tokens), r.label
        img = Image.open(io.BytesIO(r.image))
        assert img.width > 2 * img.height
        # the same sample as `synth lines` with that language and seed
        assert r.image == stream.jobs[r.lang].make(i).image
    with pytest.raises(ConfigError, match="data.synth.kind"):
        _cfg(corpus, "data.synth.kind=paragraphs")


def test_a_pages_stream_draws_synth_pages_samples(corpus: Path, tmp_path: Path) -> None:
    """data.synth.kind=pages: item i is a page of `synth pages` (its preset by default)
    as wide as the model input, labelled with its lines joined by a line break; a tiny
    page model trains from the stream."""
    from strtool.engine.data import build_stream
    from strtool.synth.page import PageJob

    cfg = load_run_config("img2seq_page_tiny", [
        "data.synth.kind=pages", "data.synth.langs=en,ar", f"data.synth.fonts=[{FONT}]",
        f"data.synth.corpus=[{corpus}]", "data.synth.overrides=['page.lines=[2,3]']",
        "data.max_len=200", "train.steps=2", "train.batch_size=2", "train.threads=1",
        "train.val_every=1000", "train.ckpt_every=1000",
    ])  # fmt: skip
    stream = build_stream(cfg, None, None, "codepoint")  # type: ignore[arg-type]
    assert all(isinstance(job, PageJob) for job in stream.jobs.values())
    seen = 0
    for i in range(4):
        r, skips = stream.draw(i)
        if skips:  # another attempt was drawn; compare only first attempts
            continue
        seen += 1
        assert 2 <= len(r.label.split("\n")) <= 3, r.label
        assert Image.open(io.BytesIO(r.image)).width == cfg.model.width
        assert r.image == stream.jobs[r.lang].make(i).image  # = `synth pages`, same seed
    assert seen
    res = train(cfg, tmp_path / "run")
    assert res.step == 2 and (tmp_path / "run" / "last.pt").is_file()
