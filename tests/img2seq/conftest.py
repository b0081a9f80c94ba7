"""Fixtures of the img2seq tests: text lines and tiny two-line pages rendered with a
shipped Latin face (`strtool.synth.render.render_mask`, black on white), written as
LMDBs with the project's writer; labels of pages hold "\\n"."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner, Result

from strtool.cli import app
from strtool.data.lmdb_writer import LmdbWriter
from strtool.paths import fonts_dir
from strtool.synth.fonts import discover_fonts
from strtool.synth.render import render_mask

FONT = fonts_dir() / "dejavu-sans" / "DejaVuSans.ttf"
LINES = ["abc 12", "bed cafe", "dace 3.5", "fee, bad", "ace da 90", "cab deed"]
PAGES = ["abc 12\nbed cafe", "fee, bad\nace da 90"]

torch.set_num_threads(1)


def render_text(text: str, size: int = 20, pad: int = 4, gap: int = 6) -> bytes:
    """PNG of `text`, one rendered row per line, left-aligned, black on white."""
    face = discover_fonts([FONT])[0]
    masks = [render_mask(line, face, size, "en") for line in text.split("\n")]
    h = sum(m.shape[0] for m in masks) + gap * (len(masks) - 1) + 2 * pad
    w = max(m.shape[1] for m in masks) + 2 * pad
    ink = np.zeros((h, w), np.uint8)
    y = pad
    for m in masks:
        ink[y : y + m.shape[0], pad : pad + m.shape[1]] = m
        y += m.shape[0] + gap
    buf = io.BytesIO()
    Image.fromarray(255 - ink).save(buf, "PNG")
    return buf.getvalue()


def write_lmdb(path: Path, texts: list[str]) -> Path:
    with LmdbWriter(path, meta={"source": "test"}) as w:
        for t in texts:
            w.add(render_text(t), t, "en")
    return path


@pytest.fixture(scope="session")
def line_lmdb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_lmdb(tmp_path_factory.mktemp("img2seq") / "lines", LINES)


@pytest.fixture(scope="session")
def page_lmdb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_lmdb(tmp_path_factory.mktemp("img2seq") / "pages", PAGES)


def cli(*args: object, code: int = 0) -> Result:
    """Run `strtool *args` through the CLI; assert the exit code."""
    res = CliRunner().invoke(app, [str(a) for a in args])
    assert res.exit_code == code, (res.stdout, res.stderr)
    return res


@pytest.fixture(scope="session")
def line_run(line_lmdb: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """`strtool train -c img2seq_line_tiny` until it reads the six lines (~10 s)."""
    out = tmp_path_factory.mktemp("runs") / "line"
    return out, train_line(line_lmdb, out)


def train_line(line_lmdb: Path, out: Path, *overrides: str) -> dict:
    """`strtool train -c img2seq_line_tiny` on the six lines for 250 steps (seed 0),
    validated on them; `overrides` are further `--set` values. The run summary."""
    torch.manual_seed(0)
    extra = [x for o in overrides for x in ("--set", o)]
    res = cli("train", "-c", "img2seq_line_tiny", "-o", out, "--json", "--quiet",
              "--set", f"data.train=[{line_lmdb}]", "--set", f"data.val=[{line_lmdb}]",
              "--set", "train.batch_size=6", "--set", "train.steps=250",
              "--set", "train.threads=1", *extra)  # fmt: skip
    return json.loads(res.stdout)


@pytest.fixture(scope="session")
def page_run(
    page_lmdb: Path, line_run: tuple[Path, dict], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict]:
    """The curriculum: `train -c img2seq_page_tiny --init` the line model, on the two
    two-line pages (~10 s)."""
    out = tmp_path_factory.mktemp("runs") / "page"
    torch.manual_seed(0)
    res = cli("train", "-c", "img2seq_page_tiny", "-o", out, "--json", "--quiet",
              "--init", line_run[0] / "last.pt",
              "--set", f"data.train=[{page_lmdb}]", "--set", f"data.val=[{page_lmdb}]",
              "--set", "train.batch_size=2", "--set", "train.steps=200",
              "--set", "train.threads=1")  # fmt: skip
    return out, json.loads(res.stdout)
