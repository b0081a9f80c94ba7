"""Checkpoints written before the task contract still load: a CTC checkpoint without
`family` (recognised by its tokenizer) and an mSTR Spotter checkpoint with the old
`task` entry read the same texts as their current form; a file of no known family is a
one-line error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from strtool.engine.checkpoint import checkpoint_family
from strtool.engine.config import load_run_config
from strtool.engine.reader import open_reader
from strtool.errors import InputError
from strtool.mstr.bank import BankEntry, PrototypeBank
from strtool.tasks.ctc import CtcTask
from strtool.tasks.spotter import SpotterTask

CHARS = list("abcdef0123")


def _crops() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (32, 90, 3), dtype=np.uint8) for _ in range(3)]


def _ctc_payload() -> dict:
    cfg = load_run_config(None, ["model.arch=crnn_tiny", "data.train=[x]"])
    tok = {"type": "ctc", "chars": CHARS, "unit": "codepoint", "unk": False, "space": False}
    task = CtcTask(cfg, {"tokenizer": tok, "charset": CHARS})
    return {**task.payload(), "model": task.model.state_dict()}


def test_old_ctc_checkpoint_without_family_loads(tmp_path: Path) -> None:
    new = _ctc_payload()
    old = {k: v for k, v in new.items() if k != "family"}
    assert checkpoint_family(old) == "ctc"
    torch.save(new, tmp_path / "new.pt")
    torch.save(old, tmp_path / "old.pt")
    a = open_reader(tmp_path / "new.pt", "cpu").read_arrays(_crops())
    b = open_reader(tmp_path / "old.pt", "cpu").read_arrays(_crops())
    assert a.texts == b.texts and a.confidences == b.confidences


def test_old_spotter_checkpoint_with_task_entry_loads(tmp_path: Path) -> None:
    entries = [BankEntry(c, "Latin", "LAT", ("en",), "letter", "LAT") for c in CHARS]
    emb = torch.nn.functional.normalize(torch.randn(len(CHARS), 64), dim=-1)
    bank = PrototypeBank(emb, entries, {"langs": ["en"]})
    cfg = load_run_config(None, ["model.arch=spotter_tiny", "mstr.bank=unused", "model.width=128",
                                 "model.keep_ratio=true"])  # fmt: skip
    task = SpotterTask(cfg, {"bank": bank.to_payload()})
    new = {**task.payload(), "model": task.model.state_dict()}
    old = {k: v for k, v in new.items() if k != "family"}
    old |= {"task": "spotter", "tokenizer": {"kind": "mstr", "task": "spotter"}}
    assert checkpoint_family(old) == "spotter"
    torch.save(new, tmp_path / "new.pt")
    torch.save(old, tmp_path / "old.pt")
    a = open_reader(tmp_path / "new.pt", "cpu").read_arrays(_crops())
    b = open_reader(tmp_path / "old.pt", "cpu").read_arrays(_crops())
    assert a.texts == b.texts


def test_unknown_checkpoint_is_one_line(tmp_path: Path) -> None:
    torch.save({"model": {}, "config": {}}, tmp_path / "x.pt")
    with pytest.raises(InputError, match="not a strtool checkpoint"):
        open_reader(tmp_path / "x.pt", "cpu")


def test_fp16_weights_only_snapshot_reads_and_warm_starts(tmp_path: Path) -> None:
    """`weights_only_copy`: no optimiser state, fp16 weights; it loads for reading (same
    logits within fp16 rounding) and as `--init` of a new run."""
    from strtool.engine.checkpoint import save_atomic, weights_only_copy
    from strtool.engine.loop import train

    full = {**_ctc_payload(), "optimizer": {"state": {}}, "rng": {}, "step": 7}
    slim = weights_only_copy(full)
    assert "optimizer" not in slim and "rng" not in slim and slim["step"] == 7
    assert all(v.dtype != torch.float32 for v in slim["model"].values())
    save_atomic(full, tmp_path / "full.pt")
    save_atomic(slim, tmp_path / "slim.pt")
    x = torch.stack([open_reader(tmp_path / "full.pt", "cpu").transform(c) for c in _crops()])
    a = open_reader(tmp_path / "full.pt", "cpu").model(x)
    b = open_reader(tmp_path / "slim.pt", "cpu").model(x)
    torch.testing.assert_close(a, b, atol=2e-2, rtol=2e-2)
    from .conftest import WORDS, make_lmdb

    db = make_lmdb(tmp_path / "db", WORDS)
    cfg = load_run_config(None, [f"data.train=[{db}]", "data.workers=0", "model.arch=crnn_tiny",
                                 "data.charset=" + str(_charset_file(tmp_path)), "train.steps=1",
                                 "train.batch_size=8", "train.threads=1"])  # fmt: skip
    res = train(cfg, tmp_path / "run", init=tmp_path / "slim.pt")
    assert res.step == 1


def _charset_file(tmp_path: Path) -> Path:
    path = tmp_path / "chars.txt"
    path.write_text("\n".join(CHARS) + "\n", encoding="utf-8")
    return path
