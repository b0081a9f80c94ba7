"""Training loop: overfitting a 32-image LMDB, exact resume after an interruption,
cascade initialisation across charsets, freezing, and config/data errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from strtool.engine.checkpoint import init_from, load_checkpoint
from strtool.engine.config import load_run_config
from strtool.engine.evaluate import evaluate_model
from strtool.engine.loop import train
from strtool.errors import ConfigError, InputError
from strtool.models import ModelSpec, build_model

from .conftest import Kill, killer


def _cfg(db: Path, *extra: str, val: bool = False):
    base = [f"data.train=[{db}]", "data.workers=0", "model.arch=crnn_tiny", "train.threads=2",
            "train.batch_size=16", "train.weight_decay=0.0", "train.log_every=10"]  # fmt: skip
    if val:
        base.append(f"data.val=[{db}]")
    return load_run_config(None, base + list(extra))


@pytest.mark.slow  # trains a tiny CRNN for 800 steps (overfit_run)
def test_tiny_model_overfits_32_images(tiny_lmdb: Path, overfit_run: tuple[Path, Any]) -> None:
    out, result = overfit_run
    assert result.best is not None and result.best >= 0.9, result.last_val
    for name in ("config.yaml", "metrics.jsonl", "curves.png", "last.pt", "best.pt"):
        assert (out / name).is_file(), name
    records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert {r["kind"] for r in records} == {"setup", "train", "val"}
    setup = records[0]  # where and how the run computed, logged first
    assert setup["kind"] == "setup" and setup["device"] == "cpu" and setup["amp"] == "fp32"
    assert setup["processes"] == 1 and setup["ddp"] is None and not setup["pin_memory"]
    report = evaluate_model(out / "best.pt", [tiny_lmdb], device="cpu").to_dict()
    assert report["n"] == 32 and report["params"] > 0 and report["ms_per_image"] > 0


@pytest.mark.slow  # two training runs
def test_resume_after_interruption_matches_straight_run(tiny_lmdb: Path, tmp_path: Path) -> None:
    extra = ("train.steps=30", "train.lr=3e-3", "train.ckpt_every=10", "train.log_every=1",
             "train.val_every=1000")  # fmt: skip
    straight = train(_cfg(tiny_lmdb, *extra), tmp_path / "a")
    with pytest.raises(Kill):
        train(_cfg(tiny_lmdb, *extra), tmp_path / "b", on_event=killer(17))
    assert load_checkpoint(tmp_path / "b" / "last.pt")["step"] == 10
    with pytest.raises(InputError, match="--resume"):
        train(_cfg(tiny_lmdb, *extra), tmp_path / "b")
    resumed = train(_cfg(tiny_lmdb, *extra), tmp_path / "b", resume=True)
    assert resumed.step == straight.step == 30
    a = load_checkpoint(tmp_path / "a" / "last.pt")
    b = load_checkpoint(tmp_path / "b" / "last.pt")
    for k, v in a["model"].items():
        torch.testing.assert_close(b["model"][k], v, rtol=0, atol=0, msg=k)
    assert a["epoch"] == b["epoch"] and a["cursor"] == b["cursor"]
    records = [json.loads(x) for x in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in records if r["kind"] == "train"]
    assert steps == sorted(steps) and len(steps) == len(set(steps)) == 30
    assert [r["step"] for r in records if r["kind"] == "setup"] == [0, 10]  # start, resume


def test_cascade_init_copies_shared_rows_and_freezes(tiny_lmdb: Path, tmp_path: Path) -> None:
    train(_cfg(tiny_lmdb, "train.steps=3", "train.ckpt_every=1"), tmp_path / "a")
    ckpt = load_checkpoint(tmp_path / "a" / "last.pt")
    old = ckpt["charset"]
    new = ["z", old[2], old[0], "y"]
    model = build_model("crnn_tiny", ModelSpec(num_classes=len(new) + 1))
    counts = init_from(model, ckpt, new)
    w = model.head.fc.weight.detach()
    torch.testing.assert_close(w[2], ckpt["model"]["head.fc.weight"][3])
    torch.testing.assert_close(w[3], ckpt["model"]["head.fc.weight"][1])
    torch.testing.assert_close(w[0], ckpt["model"]["head.fc.weight"][0])
    assert counts["rows"] == 3
    cfg = _cfg(tiny_lmdb, "train.steps=2", "train.freeze=[backbone]", "data.charset=null")
    result = train(cfg, tmp_path / "b", init=tmp_path / "a" / "last.pt")
    before = ckpt["model"]["backbone.features.0.conv.weight"]
    after = load_checkpoint(tmp_path / "b" / "last.pt")["model"]["backbone.features.0.conv.weight"]
    assert torch.equal(before, after) and result.step == 2


def test_bad_config_and_data_errors(tiny_lmdb: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="train.lrr"):
        load_run_config(None, ["train.lrr=1"])
    with pytest.raises(ConfigError, match="train.amp"):
        load_run_config(None, ["train.amp=fp8"])
    with pytest.raises(ConfigError, match="data.train"):
        train(load_run_config(None, []), tmp_path / "x")
    with pytest.raises(ConfigError, match="freeze"):
        train(_cfg(tiny_lmdb, "train.steps=1", "train.freeze=[nothing]"), tmp_path / "y")
    with pytest.raises(InputError, match="cannot resume"):
        train(_cfg(tiny_lmdb), tmp_path / "z", resume=True)


def test_space_class_keeps_phrases(tiny_lmdb: Path, tmp_path: Path) -> None:
    """`data.space`: the CTC charset gets a space class, so multi-word labels are
    learned instead of filtered; without it they are filtered and counted."""
    from strtool.tasks.ctc import CtcTask

    cfg = _cfg(tiny_lmdb, "data.space=true", "data.charset=en")
    task = CtcTask(cfg)
    assert " " in (task.label_chars or []) and " " in task.tokenizer.stoi
    enc = task.tokenizer.encode(["ab cd"])
    assert enc.lengths.tolist() == [5] and not enc.unknown
    plain = CtcTask(_cfg(tiny_lmdb, "data.charset=en"))
    assert " " not in (plain.label_chars or [])


def test_output_under_a_file_is_one_line(tiny_lmdb: Path, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("mine", encoding="utf-8")
    with pytest.raises(InputError, match="cannot create it"):
        train(_cfg(tiny_lmdb, "train.steps=1"), tmp_path / "afile" / "run")
    assert (tmp_path / "afile").read_text(encoding="utf-8") == "mine"
