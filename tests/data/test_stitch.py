"""Stitching word crops into lines and pages: deterministic per (seed, epoch, i),
reseeded per epoch, labels from the words (right-to-left lines placed from the
right), the dataset contract and `strtool synth stitch`."""

from __future__ import annotations

import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from strtool.cli import app
from strtool.data.lmdb_io import LmdbReader
from strtool.data.lmdb_writer import LmdbWriter
from strtool.data.stitch import StitchConfig, StitchDataset, Stitcher, is_rtl
from strtool.errors import ConfigError

runner = CliRunner()
WORDS = {"alpha": 60, "beta": 90, "gamma": 120, "مرحبا": 150, "سلام": 180}


def _png(grey: int, w: int) -> bytes:
    img = np.full((20, w, 3), 255, np.uint8)
    img[4:16, 2 : w - 2] = grey
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return buf.tobytes()


@pytest.fixture
def words(tmp_path: Path) -> Path:
    path = tmp_path / "words"
    with LmdbWriter(path, meta={"source": "test"}) as w:
        for k, (label, grey) in enumerate(WORDS.items()):
            w.add(_png(grey, 30 + 10 * k), label, "ar" if is_rtl(label) else "en")
    return path


def test_same_seed_epoch_index_same_sample_other_epoch_differs(words: Path) -> None:
    cfg = StitchConfig(words=[3, 5], height=24)
    a, b = Stitcher(str(words), cfg, "lines", seed=1), Stitcher(str(words), cfg, "lines", seed=1)
    for i in range(4):
        ia, la = a.sample(i, epoch=2)
        ib, lb = b.sample(i, epoch=2)
        assert la == lb and np.array_equal(ia, ib)
    e0 = [a.sample(i, 0)[1] for i in range(8)]
    e1 = [a.sample(i, 1)[1] for i in range(8)]
    assert e0 != e1
    assert [Stitcher(str(words), cfg, "lines", seed=2).sample(i, 0)[1] for i in range(8)] != e0


def test_line_labels_and_rtl_placement(words: Path) -> None:
    cfg = StitchConfig(words=[3, 3], height=20, height_jitter=0.0, baseline_jitter=0.0,
                       margin=0.0)  # fmt: skip
    s = Stitcher(str(words), cfg, "lines", seed=0)
    seen_rtl = False
    for i in range(12):
        img, label = s.sample(i)
        parts = label.split(" ")
        assert len(parts) == 3 and set(parts) <= set(WORDS)
        rtl = is_rtl(parts[0])
        assert all(is_rtl(p) == rtl for p in parts)  # one direction per line
        # the first word (logical order) sits at the right of an RTL line, the left else
        grey = img[10, -5 if rtl else 4, 0]
        assert abs(int(grey) - WORDS[parts[0]]) <= 2
        seen_rtl |= rtl
    assert seen_rtl


def test_pages_have_line_breaks(words: Path) -> None:
    s = Stitcher(str(words), StitchConfig(words=[1, 3], lines=[3, 4], height=16), "pages", 0)
    for i in range(5):
        img, label = s.sample(i)
        n = label.count("\n") + 1
        assert 3 <= n <= 4 and img.shape[0] > n * 16


def test_dataset_contract_and_epochs(words: Path) -> None:
    ds = StitchDataset(Stitcher(str(words), StitchConfig(), "lines", seed=3), length=4)
    data, label, lang = ds[0]
    assert isinstance(data, bytes) and data.startswith(b"\x89PNG") and label
    assert lang in ("en", "ar")
    before = [ds[i][1] for i in range(4)]
    ds.set_epoch(1)
    assert [ds[i][1] for i in range(4)] != before
    ds.set_epoch(0)
    assert [ds[i][1] for i in range(4)] == before


def test_bad_config_and_empty_source(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="words"):
        StitchConfig(words=[5, 2])
    empty = tmp_path / "e"
    with LmdbWriter(empty, meta={}) as w:
        w.add(_png(1, 10), " ", None)
    from strtool.errors import DataError

    with pytest.raises(DataError, match="no word"):
        Stitcher(str(empty)).sample(0)


def test_cli_stitch_pages(words: Path, tmp_path: Path) -> None:
    out = tmp_path / "st"
    args = ["synth", "stitch", "-o", str(out), "--from", str(words), "--pages", "--num", "3",
            "--epoch", "1", "--set", "lines=[2,3]", "-q", "--json"]  # fmt: skip
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["written"] == 3
    rd = LmdbReader(out)
    assert all(1 <= s.label.count("\n") <= 2 for s in rd)
    assert rd.meta["epoch"] == 1 and rd.meta["mode"] == "pages"
    same = Stitcher(str(words), StitchConfig(lines=[2, 3]), "pages", 0).sample(0, 1)[1]
    assert rd.label(0) == same
    r = runner.invoke(app, ["synth", "stitch", "-o", str(tmp_path / "x"), "--from",
                            str(words), "--set", "height=2"])  # fmt: skip
    assert r.exit_code == 1 and "height" in r.output
    assert io.BytesIO(rd.image(0)).read(4) == b"\x89PNG"
