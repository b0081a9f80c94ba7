"""Fixtures for engine tests: tiny LMDBs of PIL-rendered words (DejaVu Sans)."""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image, ImageDraw, ImageFont

from strtool.data.lmdb_writer import LmdbWriter
from strtool.paths import fonts_dir

FONT = fonts_dir() / "dejavu-sans" / "DejaVuSans.ttf"  # shipped in the repo
WORDS = ["12", "345", "67", "890", "ab", "cab", "bad", "dace", "fee", "bed", "ace", "da",
         "1a", "b2", "c3d", "e4", "5f", "ef", "fa", "ca", "9", "dd", "be", "0e", "ad",
         "fed", "cafe", "deed", "bee", "a1b", "77", "0"]  # fmt: skip

torch.set_num_threads(2)


def render(text: str, size: tuple[int, int] = (100, 32), fmt: str = "PNG") -> bytes:
    """Black text on white, centred; encoded bytes."""
    font = ImageFont.truetype(str(FONT), 22)
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    box = d.textbbox((0, 0), text, font=font)
    x = (size[0] - (box[2] - box[0])) // 2 - box[0]
    y = (size[1] - (box[3] - box[1])) // 2 - box[1]
    d.text((x, y), text, fill="black", font=font)
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def make_lmdb(path: Path, words: list[str], langs: list[str] | None = None) -> Path:
    with LmdbWriter(path, meta={"source": "test"}) as w:
        for i, word in enumerate(words):
            w.add(render(word), word, langs[i] if langs else None)
    return path


@pytest.fixture(scope="session")
def tiny_lmdb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """32 samples, two language tags (`en` for letters-first words, `und` else)."""
    root = tmp_path_factory.mktemp("lmdb")
    langs = ["en" if w[0].isalpha() else "de" for w in WORDS]
    return make_lmdb(root / "tiny", WORDS, langs)


@pytest.fixture()
def rng() -> random.Random:
    return random.Random(0)


@pytest.fixture(scope="session")
def overfit_run(tiny_lmdb: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """A tiny CRNN trained until it reads the 32 images of `tiny_lmdb` (shared by the
    training, eval, predict and export tests, which then check real texts)."""
    from strtool.engine.config import load_run_config
    from strtool.engine.loop import train

    torch.manual_seed(0)
    cfg = load_run_config(None, [
        f"data.train=[{tiny_lmdb}]", f"data.val=[{tiny_lmdb}]", "data.workers=0",
        "model.arch=crnn_tiny", "train.threads=2", "train.batch_size=16",
        "train.weight_decay=0.0", "train.log_every=10", "train.steps=800", "train.lr=1e-2",
        "train.val_every=200", "train.pct_start=0.15",
    ])  # fmt: skip
    out = tmp_path_factory.mktemp("overfit") / "run"
    return out, train(cfg, out)


class Kill(Exception):
    """Raised by `killer` to stop a run as a Ctrl-C or a crash would."""


def killer(at: int) -> Any:
    """An `on_event` that stops training when step `at` is logged."""

    def on_event(e: dict) -> None:
        if e["kind"] == "train" and e["step"] == at:
            raise Kill

    return on_event
