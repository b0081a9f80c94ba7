"""Training survives bad samples and non-finite steps (issue: nothing lost, clear
messages): an unreadable image is skipped and counted with its LMDB path and key; too
many stop the run with one line; non-finite losses are skipped and counted, and a run
that keeps producing them stops with its last good checkpoint intact."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from strtool.cli import app
from strtool.data.lmdb_writer import LmdbWriter
from strtool.engine.config import load_run_config
from strtool.engine.loop import train
from strtool.errors import TrainingError
from strtool.tasks.ctc import CtcTask

from .conftest import WORDS, render

runner = CliRunner()


def _lmdb(path: Path, bad_at: set[int]) -> Path:
    """The 32 words; images at `bad_at` replaced by bytes no decoder reads."""
    with LmdbWriter(path, meta={"source": "test"}) as w:
        for i, word in enumerate(WORDS):
            w.add(b"\x89PNG broken" if i in bad_at else render(word), word, "en")
    return path


def _cfg(db: Path, *extra: str):  # noqa: ANN202 - test helper
    return load_run_config(None, [
        f"data.train=[{db}]", "data.workers=0", "model.arch=crnn_tiny", "train.threads=1",
        "train.batch_size=8", "train.log_every=1", "train.val_every=1000", "train.lr=1e-3",
        *extra,
    ])  # fmt: skip


def test_unreadable_sample_is_skipped_and_named(tmp_path: Path) -> None:
    db = _lmdb(tmp_path / "db", {5})
    seen: list[dict] = []
    res = train(
        _cfg(db, "train.steps=8", "data.max_bad=0.2"), tmp_path / "run", on_event=seen.append
    )
    assert res.step == 8
    bad = res.data_report["unreadable"]
    assert bad["count"] >= 1 and all("image-000000006" in x for x in bad["first"])
    assert str(db) in bad["first"][0]
    events = [e for e in seen if e["kind"] == "bad_sample"]
    assert events and "image-000000006" in events[0]["where"]


def test_too_many_unreadable_samples_stop_in_one_line(tmp_path: Path) -> None:
    db = _lmdb(tmp_path / "db", set(range(0, 32, 2)))  # half the images
    args = ["train", "-c", "tiny", "-o", str(tmp_path / "run"), "--set", f"data.train=[{db}]",
            "--set", "data.workers=0", "--set", "train.batch_size=8", "--set", "train.steps=50",
            "--set", "train.threads=1"]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 1, res.output
    errors = [x for x in res.stderr.splitlines() if x.startswith("error:")]
    assert len(errors) == 1 and "could not be read" in errors[0] and "data.max_bad" in errors[0]
    assert "Traceback" not in res.output and str(db) in errors[0]


def test_nonfinite_losses_are_skipped_then_stop_with_checkpoint_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _lmdb(tmp_path / "db", set())
    real = CtcTask.loss
    calls = {"n": 0}

    def flaky(self, model, batch, device):  # noqa: ANN001, ANN202 - patched method
        calls["n"] += 1
        loss = real(self, model, batch, device)
        return loss * math.nan if calls["n"] in (3, 4) or calls["n"] > 20 else loss

    monkeypatch.setattr(CtcTask, "loss", flaky)
    out = tmp_path / "run"
    cfg = _cfg(db, "train.steps=40", "train.ckpt_every=10", "train.max_nonfinite=5")
    with pytest.raises(TrainingError, match="5 steps in a row had a non-finite loss"):
        train(cfg, out)
    ckpt = torch.load(out / "last.pt", weights_only=False)
    assert ckpt["step"] == 20 and ckpt["health"]["nonfinite"] == 2  # steps 3 and 4 skipped
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values() if v.is_floating_point())
