"""bench/img2seq_data.py: the benches' lines and pages (held-out fonts, shaping, line
breaks in page labels surviving the LMDB)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from bench_modules import load_bench

from strtool.data.decode import decode_image
from strtool.data.lmdb_io import LmdbReader


def test_lines_and_pages_with_heldout_fonts(tmp_path: Path) -> None:
    data = load_bench("img2seq_data")
    src = data.LineSource("ar", "heldout")
    assert all(f.role == "heldout" for f in src.pool.faces)
    rng = np.random.default_rng(0)
    for _ in range(3):
        text = src.text(rng)
        assert 15 <= len(text) <= 60 and text == text.strip()
    img, label = src.page(rng, 24)
    assert 3 <= len(label.split("\n")) <= 8 and all(label.split("\n"))
    assert decode_image(img, 3).shape[0] > 3 * 24
    out = data.write_set(tmp_path / "p", ["en", "hi"], "heldout", 2, 5, "pages", 20)
    r = LmdbReader(out)
    assert len(r) == 4 and r.langs() == ["en", "en", "hi", "hi"]
    assert all("\n" in r.label(i) for i in range(4))
