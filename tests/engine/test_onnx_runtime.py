"""`--runtime onnx`: the reader runs a CTC model by ONNX Runtime and decodes its logits
like PyTorch's; wrong combinations are one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from strtool.cli import app
from strtool.engine.checkpoint import save_atomic
from strtool.engine.config import load_run_config
from strtool.engine.reader import open_reader
from strtool.errors import InputError
from strtool.tasks.ctc import CtcTask

runner = CliRunner()


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained h8_tiny CTC checkpoint (the runtime does not depend on training)."""
    chars = list("abcdefghij0123456789")
    cfg = load_run_config(None, ["model.arch=h8_tiny", "model.width=96", "model.channels=1",
                                 "model.keep_ratio=true", "data.train=[unused]"])  # fmt: skip
    tok = {"type": "ctc", "chars": chars, "unit": "codepoint", "unk": False, "space": False}
    torch.manual_seed(0)
    task = CtcTask(cfg, {"tokenizer": tok, "charset": chars})
    out = tmp_path_factory.mktemp("ort") / "m.pt"
    save_atomic({**task.payload(), "model": task.model.state_dict()}, out)
    return out


def test_onnx_runtime_reads_like_pytorch(ckpt: Path) -> None:
    ref = open_reader(ckpt, "cpu")
    ort = open_reader(ckpt, "cpu", runtime="onnx")
    assert ort.meta["runtime"] == "onnx" and ort.params == ref.params > 0
    rng = np.random.default_rng(1)
    crops = [rng.integers(0, 255, (32, int(w)), dtype=np.uint8) for w in rng.integers(20, 200, 9)]
    x = torch.stack([ref.task.transform(c) for c in crops])  # the graph's width
    with torch.inference_mode():
        want = ref.model(x)
    got = ort.model(x)
    assert got.shape == want.shape
    assert float((got - want).abs().max()) < 1e-4
    a, b = ref.read_arrays(crops), ort.read_arrays(crops)
    assert a.texts == b.texts
    assert np.allclose(a.confidences, b.confidences, atol=1e-4)
    # batch 1 reads what the batch read
    assert [ort.read_arrays([c]).texts[0] for c in crops] == b.texts


def test_onnx_runtime_keeps_lang_restriction(ckpt: Path) -> None:
    """--lang masks classes before decoding with either runtime."""
    ref = open_reader(ckpt, "cpu", ["en"])
    ort = open_reader(ckpt, "cpu", ["en"], runtime="onnx")
    crops = [np.full((32, 80), 200, np.uint8), np.eye(32, 90, dtype=np.uint8) * 255]
    assert ref.read_arrays(crops).texts == ort.read_arrays(crops).texts


def test_onnx_runtime_errors(ckpt: Path) -> None:
    with pytest.raises(InputError, match="--runtime: 'tensorrt'"):
        open_reader(ckpt, "cpu", runtime="tensorrt")
    with pytest.raises(InputError, match="runs on the CPU"):
        open_reader(ckpt, "cuda", runtime="onnx")


def test_predict_runtime_onnx_cli(ckpt: Path, tmp_path: Path) -> None:
    from PIL import Image

    img = tmp_path / "a.png"
    Image.fromarray(np.random.default_rng(2).integers(0, 255, (32, 70), np.uint8)).save(img)
    rows = []
    for rt in ("torch", "onnx"):
        res = runner.invoke(app, ["predict", str(img), "--model", str(ckpt), "--runtime", rt, "-q"])
        assert res.exit_code == 0, res.output
        rows.append(res.stdout.split("\t")[1])
    assert rows[0] == rows[1]
    res = runner.invoke(app, ["predict", str(img), "--model", str(ckpt), "--runtime", "jax"])
    assert res.exit_code == 1 and "--runtime: 'jax'" in res.output


def test_onnx_runtime_refuses_families_it_cannot_run(tmp_path: Path) -> None:
    """An img2seq model reads by an autoregressive search: --runtime onnx says so."""
    from strtool.tasks.img2seq import Img2SeqTask

    cfg = load_run_config("img2seq_line_tiny", ["data.train=[unused]", "data.charset=en"])
    task = Img2SeqTask(cfg)
    path = tmp_path / "i2s.pt"
    save_atomic({**task.payload(), "model": task.model.state_dict()}, path)
    with pytest.raises(InputError, match="img2seq checkpoint cannot be exported"):
        open_reader(path, "cpu", runtime="onnx")
