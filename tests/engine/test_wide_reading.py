"""Wide crops read at their own width: a CTC model whose architecture reads any width
reads a crop wider than its training width (a long word, a line) unsqueezed, up to
`--max-width`; crops that fit read exactly as before; mixed widths keep their order
in every reading path (arrays, tensors, datasets, ONNX Runtime)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from img2seq.conftest import render_text
from PIL import Image
from rapidfuzz.distance import Levenshtein
from typer.testing import CliRunner

from strtool.cli import app
from strtool.data.dataset import LmdbDataset
from strtool.data.lmdb_writer import LmdbWriter
from strtool.data.ragged import collate_ragged, shape_groups, stack_or_list
from strtool.data.transforms import ResizeNormalize
from strtool.engine.config import load_run_config
from strtool.engine.reader import open_reader
from strtool.errors import InputError
from strtool.paths import weights_dir
from strtool.tasks.base import DecodingOptions, Reading, merge_readings
from strtool.tasks.ctc import CtcTask, default_read_width

MODEL = weights_dir() / "default.pt"
# long strings the training width squeezes: a phone number in a sentence, a German
# compound, a pangram (rendered in DejaVu Sans at 24 px: 512-595 px wide at 39 px high)
LONG = [
    "call 0171 234 5678 before the meeting on friday",
    "Donaudampfschifffahrtsgesellschaft 1987",
    "the quick brown fox jumps over the lazy dog 42",
]
runner = CliRunner()


def _grey(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("L"))


def _cer(preds: list[str], gts: list[str]) -> float:
    return sum(Levenshtein.distance(p, g) for p, g in zip(preds, gts, strict=True)) / sum(
        len(g) for g in gts
    )


def test_transform_keeps_fitting_crops_and_widens_wide_ones() -> None:
    plain = ResizeNormalize(32, 192, 1)
    wide = ResizeNormalize(32, 192, 1, max_width=768)
    rng = np.random.default_rng(0)
    word = rng.integers(0, 255, (48, 200), dtype=np.uint8)  # 133 px at 32: fits
    assert torch.equal(wide(word), plain(word))
    line = rng.integers(0, 255, (48, 600), dtype=np.uint8)  # 400 px at 32
    t = wide(line)
    assert t.shape == (1, 32, 416)  # 400 rounded up to a multiple of 32, padded
    grey = torch.tensor(128.0).div(127.5).sub(1.0)  # mid grey, as the training padding
    assert torch.all(t[..., 400:] == grey)
    assert torch.equal(t[..., :400], ResizeNormalize(32, 400, 1)(line))  # its own width
    assert wide(rng.integers(0, 255, (32, 2000), dtype=np.uint8)).shape == (1, 32, 768)
    assert wide.canvas_width((48, 600)) == 416 and wide.canvas_width((48, 200)) == 192
    with pytest.raises(ValueError, match="max_width"):
        ResizeNormalize(32, 192, 1, keep_ratio=False, max_width=768)
    with pytest.raises(ValueError, match="max_width"):
        ResizeNormalize(32, 192, 1, max_width=100)


def test_ragged_batches_group_by_shape_and_keep_order() -> None:
    a, b = torch.zeros(1, 32, 192), torch.zeros(1, 32, 416)
    assert shape_groups([a, b, a, a, b], batch_size=2) == [[0, 2], [3], [1, 4]]
    assert isinstance(stack_or_list([a, a]), torch.Tensor)
    assert isinstance(stack_or_list([a, b]), list)
    images, labels, langs = collate_ragged([(a, "x", "en"), (b, "y", "de")])
    assert isinstance(images, list) and labels == ["x", "y"] and langs == ["en", "de"]
    r1 = Reading(["p", "r"], [0.1, 0.3], {"alt": (["P", "R"], [1.0, 3.0])}, [[0.1], [0.3]])
    r2 = Reading(["q"], [0.2], {"alt": (["Q"], [2.0])}, [[0.2]])
    merged = merge_readings([([0, 2], r1), ([1], r2)], 3)
    assert merged.texts == ["p", "q", "r"] and merged.confidences == [0.1, 0.2, 0.3]
    assert merged.alternatives["alt"] == (["P", "Q", "R"], [1.0, 2.0, 3.0])
    assert merged.line_confidences == [[0.1], [0.2], [0.3]]
    with pytest.raises(ValueError, match="no reading"):
        merge_readings([([0], r2)], 2)


def test_default_read_width_only_where_the_architecture_reads_any_width() -> None:
    def cfg(arch: str, keep: bool = True):  # type: ignore[no-untyped-def]
        return load_run_config(None, [f"model.arch={arch}", "model.width=128",
                                      f"model.keep_ratio={str(keep).lower()}",
                                      "data.train=[unused]"])  # fmt: skip

    assert default_read_width(cfg("h8_tiny")) == 512
    assert default_read_width(cfg("crnn_tiny")) == 512
    assert default_read_width(cfg("svtr_nano")) == 128  # a learnt position grid
    assert default_read_width(cfg("crnn_tiny", keep=False)) == 128  # stretches


@pytest.fixture(scope="module")
def readers():  # type: ignore[no-untyped-def]
    wide = open_reader(MODEL, "cpu")
    squeezed = open_reader(MODEL, "cpu", decoding=DecodingOptions(max_width=192))
    return wide, squeezed


def test_shipped_model_reads_long_lines_at_their_own_width(readers) -> None:  # type: ignore[no-untyped-def]
    wide, squeezed = readers
    assert wide.transform.max_width == 768 and squeezed.transform.max_width == 192
    arrays = [_grey(render_text(t, size=24)) for t in LONG]
    got = wide.read_arrays(arrays).texts
    # measured: 4.5 % CER at their own width, 48 % squeezed into 192 px (48 CTC frames)
    assert _cer(got, LONG) <= 0.15, got
    assert _cer(squeezed.read_arrays(arrays).texts, LONG) >= 0.3
    assert got[2] == LONG[2]


def test_mixed_widths_read_as_each_alone(readers) -> None:  # type: ignore[no-untyped-def]
    wide, _ = readers
    texts = ["bread", LONG[0], "cafe 12", LONG[1], "x"]
    arrays = [_grey(render_text(t, size=24)) for t in texts]
    alone = [wide.read_arrays([a]) for a in arrays]
    together = wide.read_arrays(arrays)
    assert together.texts == [r.texts[0] for r in alone]
    assert together.confidences == pytest.approx([r.confidences[0] for r in alone], abs=1e-5)
    tensors = [wide.transform(a) for a in arrays]
    assert len({t.shape[-1] for t in tensors}) == 3  # 192 for the short ones
    assert wide.read_many(tensors, batch_size=2).texts == together.texts


def test_eval_and_predict_read_wide_crops(readers, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    wide, _ = readers
    texts = ["bread", LONG[2], "cafe 12", LONG[0]]
    db = tmp_path / "mixed.lmdb"
    with LmdbWriter(db, meta={"source": "test"}) as w:
        for t in texts:
            w.add(render_text(t, size=24), t, "en")
    res = wide.read_dataset(LmdbDataset([db], transform=wide.transform), batch_size=4)
    assert res.preds == wide.read_arrays([_grey(render_text(t, size=24)) for t in texts]).texts
    assert res.gts == texts
    img = tmp_path / "line.png"
    img.write_bytes(render_text(LONG[2], size=24))
    r = runner.invoke(app, ["predict", str(img), "--quiet"])
    assert r.exit_code == 0 and r.stdout.split("\t")[1] == LONG[2], r.output
    r = runner.invoke(app, ["eval", "--model", "default", "--data", str(db), "--json",
                            "--quiet", "--max-width", "192"])  # fmt: skip
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize(("width", "match"), [("100", "out of range"), ("9000", "out of range")])
def test_max_width_errors_are_one_line(tmp_path: Path, width: str, match: str) -> None:
    img = tmp_path / "w.png"
    img.write_bytes(render_text("bread", size=24))
    r = runner.invoke(app, ["predict", str(img), "--max-width", width])
    assert r.exit_code == 1 and match in r.output and "Traceback" not in r.output


def test_max_width_refused_where_the_model_cannot_read_wider() -> None:
    chars = list("abc")
    tok = {"type": "ctc", "chars": chars, "unit": "codepoint", "unk": False, "space": False}
    cases = [("svtr_nano", "true", "fixed grid"), ("crnn_tiny", "false", "stretches")]
    for arch, keep, why in cases:
        cfg = load_run_config(None, [f"model.arch={arch}", "model.width=100",
                                     "model.channels=1", f"model.keep_ratio={keep}",
                                     "data.train=[unused]"])  # fmt: skip
        task = CtcTask(cfg, {"tokenizer": tok, "charset": chars})
        assert task.read_transform.max_width == 100
        with pytest.raises(InputError, match=why):
            task.set_decoding(DecodingOptions(max_width=400))
        task.set_decoding(DecodingOptions(max_width=100))  # its own width is always fine


def test_onnx_runtime_reads_wide_crops_like_pytorch(readers) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("onnxruntime")
    wide, _ = readers
    ort = open_reader(MODEL, "cpu", runtime="onnx")
    arrays = [_grey(render_text(t, size=24)) for t in ["bread", LONG[2], "cafe 12"]]
    assert ort.read_arrays(arrays).texts == wide.read_arrays(arrays).texts
    tensors = [wide.transform(a) for a in arrays]
    assert tensors[1].shape[-1] > 192  # the graph itself reads the wide crop
    with torch.inference_mode():
        got, want = ort.model(tensors[1][None]), wide.model(tensors[1][None])
    assert got.shape == want.shape and float((got - want).abs().max()) < 1e-3


def test_max_width_refused_by_img2seq_models() -> None:
    from strtool.tasks.registry import build_task

    cfg = load_run_config(None, ["model.arch=img2seq_tiny", "model.height=32", "model.width=128",
                                 "data.charset=en", "data.train=[unused]"])  # fmt: skip
    with pytest.raises(InputError, match="CTC recognisers"):
        build_task(cfg, None).set_decoding(DecodingOptions(max_width=512))


def test_h8_attention_for_export_equals_multihead_attention() -> None:
    # the arithmetic the ONNX export traces (free sequence length) is nn.MultiheadAttention's
    from strtool.models.h8 import GlobalBlock

    torch.manual_seed(0)
    block = GlobalBlock(32, 4).eval()
    for length in (12, 57):
        y = torch.randn(3, length, 32)
        with torch.no_grad():
            want = block.attn(y, y, y, need_weights=False)[0]
            assert torch.allclose(block._attention(y), want, atol=1e-5)
