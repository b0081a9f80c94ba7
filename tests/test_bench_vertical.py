"""bench/vertical.py at smoke scale: the vertical and horizontal sets hold the same
texts (tall vs wide crops), every --vertical mode is read and scored with intervals."""

from __future__ import annotations

import json
from pathlib import Path

from bench_modules import load_bench
from PIL import Image


def test_vertical_bench_smoke(tmp_path: Path) -> None:
    ckpt = load_bench("infer_speed").untrained_checkpoint("h8_tiny", 50, 96, 1, tmp_path / "m.pt")
    bench = load_bench("vertical")
    res = bench.main(["--workdir", str(tmp_path / "w"), "--model", str(ckpt), "-n", "4",
                      "--langs", "CHI,KOR", "--device", "cpu", "--threads", "1",
                      "--max-width", "96"])  # fmt: skip
    assert list(res["runs"]) == ["horizontal"] + [f"vertical {m}" for m in bench.MODES]
    assert res["args"]["max_width"] == 96  # results in results_w96.json
    for run in res["runs"].values():
        assert set(run["rows"]) == {"CHI", "KOR", "pooled"}
        assert run["rows"]["pooled"]["n"] == 8
        lo, hi = run["rows"]["pooled"]["wrr_95"]
        assert 0 <= lo <= run["rows"]["pooled"]["wrr"] <= hi <= 1
    for g in ("CHI", "KOR"):
        vert, horiz = tmp_path / "w" / f"vertical_{g}", tmp_path / "w" / f"horizontal_{g}"
        gts = [(d / "gt.txt").read_text("utf-8").splitlines() for d in (vert, horiz)]
        assert gts[0] == gts[1]  # same seed: the same texts, laid out two ways
        for line in gts[0]:
            w, h = Image.open(vert / line.split("\t")[0]).size
            hw, hh = Image.open(horiz / line.split("\t")[0]).size
            text = line.split("\t")[1]
            if len(text) > 1:  # a single glyph is square either way
                assert h > w and hw > hh, (text, (w, h), (hw, hh))
    assert json.loads((tmp_path / "w" / "results_w96.json").read_text())["runs"]
