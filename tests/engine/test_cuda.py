"""The CUDA paths of the engine, run where a GPU is present (skipped elsewhere; CI has
none): each autocast mode learns (a tiny CRNN reads its 32 training images in bf16,
fp16 with a GradScaler and fp32), the loader pins memory, a run resumes on the GPU with
its scaler state, `torchrun --nproc_per_node 1` trains through NCCL, and the shipped
model reads the example crops on the GPU as on the CPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from strtool.cli import app
from strtool.engine.checkpoint import load_checkpoint
from strtool.engine.config import load_run_config
from strtool.engine.distributed import DistInfo
from strtool.engine.evaluate import evaluate_model
from strtool.engine.loader import train_loader
from strtool.engine.loop import train
from strtool.engine.setup import prepare_run

from .conftest import Kill, killer
from .test_ddp import _torchrun

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _cfg(db: Path, *extra: str):  # type: ignore[no-untyped-def]
    return load_run_config(None, [
        f"data.train=[{db}]", f"data.val=[{db}]", "data.workers=2", "model.arch=crnn_tiny",
        "train.device=cuda", "train.batch_size=16", "train.weight_decay=0.0",
        "train.log_every=10", "train.lr=1e-2", "train.pct_start=0.15", *extra,
    ])  # fmt: skip


def _records(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("amp", ["bf16", "fp16", "none"])
def test_each_autocast_mode_learns_on_the_gpu(tiny_lmdb: Path, tmp_path: Path, amp: str) -> None:
    torch.manual_seed(0)
    out = tmp_path / amp
    result = train(_cfg(tiny_lmdb, f"train.amp={amp}", "train.steps=800",
                        "train.val_every=200"), out)  # fmt: skip
    setup = _records(out)[0]
    assert setup["kind"] == "setup" and setup["device"] == "cuda:0" and setup["pin_memory"]
    assert setup["amp"] == {"none": "fp32"}.get(amp, amp) and "gpu" in setup
    assert setup["grad_scaler"] == (amp == "fp16")
    assert result.best is not None and result.best >= 0.9, (amp, result.last_val)
    # the checkpoint reads the same on the CPU
    on_cpu = evaluate_model(out / "best.pt", [tiny_lmdb], device="cpu").to_dict()
    on_gpu = evaluate_model(out / "best.pt", [tiny_lmdb], device="cuda").to_dict()
    pooled = [next(r for r in e["rows"] if r["group"] == "pooled") for e in (on_cpu, on_gpu)]
    assert abs(pooled[0]["wrr"] - pooled[1]["wrr"]) <= 1 / 32


def test_the_training_loader_pins_memory_for_the_gpu(tiny_lmdb: Path, tmp_path: Path) -> None:
    cfg = _cfg(tiny_lmdb, "train.steps=2")
    info = DistInfo(device=torch.device("cuda:0"))
    parts = prepare_run(cfg, tmp_path / "r", info, resume=False, init=None)
    loader, _ = train_loader(parts, info, 0, 0, 0)
    images = next(iter(loader))[0]
    assert images is not None and images.is_pinned()


def test_fp16_run_resumes_on_the_gpu_with_its_scaler(tiny_lmdb: Path, tmp_path: Path) -> None:
    extra = ("train.amp=fp16", "train.steps=30", "train.ckpt_every=10", "train.val_every=1000",
             "train.lr=3e-3", "train.log_every=1")  # fmt: skip
    with pytest.raises(Kill):
        train(_cfg(tiny_lmdb, *extra), tmp_path / "b", on_event=killer(17))
    saved = load_checkpoint(tmp_path / "b" / "last.pt")
    assert saved["step"] == 10 and saved["scaler"]["scale"] > 0
    resumed = train(_cfg(tiny_lmdb, *extra), tmp_path / "b", resume=True)
    assert resumed.step == 30
    records = _records(tmp_path / "b")
    assert [r["step"] for r in records if r["kind"] == "setup"] == [0, 10]
    steps = [r["step"] for r in records if r["kind"] == "train"]
    assert steps == list(range(1, 31))
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in records if r["kind"] == "train")


def test_one_process_torchrun_trains_through_nccl(tiny_lmdb: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    _torchrun(tiny_lmdb, out, "train.device=cuda", procs=1)
    setup = _records(out)[0]
    assert setup["ddp"] == "nccl" and setup["processes"] == 1 and setup["device"] == "cuda:0"
    assert load_checkpoint(out / "last.pt")["step"] == 6
    w = torch.load(tmp_path / "weights-rank0.pt", weights_only=True)
    assert all(v.device.type == "cuda" for v in w.values())


def test_the_default_model_reads_the_examples_on_the_gpu_as_on_the_cpu() -> None:
    crops = Path(__file__).resolve().parents[2] / "examples" / "crops"
    runs = {}
    for device in ("cpu", "cuda"):
        res = CliRunner().invoke(app, ["predict", str(crops), "--json", "-q",
                                       "--device", device])  # fmt: skip
        assert res.exit_code == 0, res.output
        runs[device] = json.loads(res.stdout)
    assert len(runs["cpu"]) == len(runs["cuda"]) == 21
    for a, b in zip(runs["cpu"], runs["cuda"], strict=True):
        assert a["text"] == b["text"], (a, b)
        assert abs(a["confidence"] - b["confidence"]) < 2e-3, (a, b)
