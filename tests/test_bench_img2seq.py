"""bench/img2seq_data.py: the benches' lines and pages (held-out fonts, shaping, line
breaks in page labels surviving the LMDB); bench/img2seq_lines.py at smoke scale."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
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


@pytest.mark.slow  # three tiny models, each calibrated then trained for ~2 CPU-seconds
def test_lines_bench_smoke_with_the_hybrid_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = load_bench("img2seq_lines")
    monkeypatch.setattr("sys.argv", [
        "img2seq_lines.py", "--workdir", str(tmp_path), "--langs", "en", "--train", "8",
        "--test", "3", "--budget", "2", "--threads", "1", "--batch-size", "2",
        "--img2seq-arch", "img2seq_tiny", "--ctc-arch", "crnn_tiny", "--height", "32",
        "--width", "256", "--ctc-width", "256", "--hybrid", "0.3", "--batch", "3",
    ])  # fmt: skip
    bench.main()
    out = json.loads(capsys.readouterr().out)
    assert list(out["results"]) == ["img2seq", "img2seq_hybrid", "ctc"]
    for r in out["results"].values():
        assert r["rows"]["en"]["n"] == 3 and r["ms_per_image"] > 0
    hybrid = torch.load(tmp_path / "run_img2seq_hybrid" / "last.pt", weights_only=False)
    assert hybrid["config"]["img2seq"]["ctc_weight"] == 0.3 and "ctc.weight" in hybrid["model"]


@pytest.mark.slow  # two full-size models, three steps each
def test_lines_bench_from_default_rows_start_from_the_shipped_model(tmp_path: Path) -> None:
    """`--from-default`: the img2seq_h8 line model and the CTC line model both start
    from the shipped default model (its encoder weights, its architecture for CTC)."""
    import argparse

    from strtool.engine.checkpoint import load_checkpoint
    from strtool.engine.reader import resolve_model

    bench = load_bench("img2seq_lines")
    data_mod = load_bench("img2seq_data")
    train_set = data_mod.write_set(tmp_path / "train", ["en"], "train", 6, 1, "lines", 32)
    args = argparse.Namespace(langs="en", threads=1, batch_size=2, width=256, ctc_width=256,
                              beam=1, init_lr=1e-9)  # fmt: skip
    data = {"train": train_set, "test": train_set}
    src = load_checkpoint(resolve_model("default"))["model"]["stem.0.weight"].float()
    for name, fn, key in (("h8", bench.h8_init_fn, "encoder.stem.0.weight"),
                          ("ctc", bench.ctc_init_fn, "stem.0.weight")):  # fmt: skip
        fn(args, data)(3, tmp_path / name)
        ck = load_checkpoint(tmp_path / name / "last.pt")
        assert ck["step"] == 3
        assert torch.allclose(ck["model"][key].float(), src, atol=1e-3), name
    ctc = load_checkpoint(tmp_path / "ctc" / "last.pt")["config"]
    assert ctc["model"]["arch"] == "h8_small" and ctc["data"]["ctc_order"] == "visual"


def test_pages_segmented_bench_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """bench/pages_segmented.py at smoke scale: held-out-font pages, the line finder's
    count and the shipped model reading them line by line (figures meaningless)."""
    bench = load_bench("pages_segmented")
    res = bench.main(["--workdir", str(tmp_path), "--model", "default", "--langs", "en,ar",
                      "--test", "2", "--threads", "1", "--max-width", "192",
                      "--max-width", "768"])  # fmt: skip
    assert res["line_finder"]["pooled"]["n"] == 4
    assert 0 <= res["line_finder"]["pooled"]["right_count"] <= 1
    assert list(res["runs"]) == ["default by lines <= 192 px", "default by lines <= 768 px"]
    run = res["runs"]["default by lines <= 768 px"]
    assert set(run["rows"]) == {"en", "ar", "pooled"} and run["rows"]["pooled"]["n"] == 4
    assert run["rows"]["pooled"]["gt_lines"] >= 12  # 3-8 lines per page
    assert "line finder: right line count" in capsys.readouterr().err
    from strtool.data.lmdb_io import LmdbReader

    r = LmdbReader(Path(res["pages"]))
    assert len(r) == 4 and all("\n" in r.label(i) for i in range(4))
