"""Training of the mSTR stages with the engine's single loop.

`MstrTrainer` subclasses `strtool.engine.loop.Trainer` and only replaces the two
task-specific hooks: `_micro_step` (the loss, from the stage's task object) and
`validate` (the stage's metrics). Optimiser (AdamW), one-cycle warm-up + cosine
schedule, accumulation, clipping, AMP, DDP, logging, atomic checkpoints and exact
resume are the engine's. Checkpoints add `task` (mclip | spotter | refiner) and the
task's static entries (`bank`, frozen `spotter`).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import torch
import yaml

from strtool.data.dataset import LmdbDataset
from strtool.engine.checkpoint import load_checkpoint, versions
from strtool.engine.data import build_dataset
from strtool.engine.distributed import DistInfo, barrier, cleanup, init_distributed
from strtool.engine.loop import Event, Trainer, TrainResult
from strtool.engine.setup import RunParts, open_run
from strtool.errors import ConfigError
from strtool.mstr.config import MstrRunConfig, mstr_config_from_dict, mstr_config_to_dict
from strtool.mstr.tasks import _transform, build_task
from strtool.text.langs import resolve_langs


class MstrTrainer(Trainer):
    """The engine's Trainer with an mSTR task supplying loss and validation."""

    def __init__(self, parts: RunParts, info: DistInfo, on_event: Event | None, task: Any):
        self.task = task
        super().__init__(parts, info, on_event)

    def _micro_step(self, batch: tuple[torch.Tensor, list[str], list[str]], sync: bool) -> float:
        dev = self.info.device
        if self.cfg.train.channels_last:
            batch = (batch[0].contiguous(memory_format=torch.channels_last), *batch[1:])
        ctx = contextlib.nullcontext() if sync or self.info.world == 1 else self.ddp.no_sync()
        with ctx:
            with torch.autocast(dev.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
                loss = self.task.loss(self.ddp, batch, dev)
            self.scaler.scale(loss / self.cfg.train.accum).backward()
        return float(loss.detach())

    def score_val(self) -> tuple[float, dict[str, Any], dict[str, Any]]:
        self.model.eval()
        metrics = self.task.validate(self.model, self.p.val_set, self.info.device)
        scalars = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
        fields = {**scalars, "report": metrics.get("report"),
                  "unknown_chars": dict(self.task.unknown)}  # fmt: skip
        return float(metrics[self.cfg.eval.metric]), fields, metrics


def _datasets(
    cfg: MstrRunConfig, chars: list[str] | None
) -> tuple[LmdbDataset, LmdbDataset | None]:
    """Training set (langs, max_len, caps; labels with characters outside the bank are
    removed and counted in its report) and validation set (langs, `val_max`)."""
    d = cfg.data
    if not d.train:
        raise ConfigError("data.train: no training LMDB given")
    if d.caps and d.cap is not None:
        raise ConfigError("data.cap and data.caps: give one or the other")
    tf = _transform(cfg)
    caps: int | dict[str, int] | None = dict(d.caps) if d.caps else d.cap
    langs = d.langs or None
    train_set = build_dataset(d.train, tf, langs, d.max_len, "codepoint", caps, chars)
    val_set = build_dataset(d.val, tf, langs, None, "codepoint", d.val_max) if d.val else None
    return train_set, val_set


def check_bank_langs(bank_langs: list[str], data_langs: list[str]) -> None:
    """`ConfigError` naming `data.langs` if a selected language (code or group) has no
    rows in the bank: its samples would all be dropped as unknown characters."""
    if not data_langs:
        return
    missing = [x for x in resolve_langs(data_langs) if x not in bank_langs]
    if missing:
        raise ConfigError(
            f"data.langs: {', '.join(missing)} not in the bank (bank languages: "
            f"{', '.join(bank_langs) or 'none'}); extend it with `strtool bank export --extend`"
        )


def prepare_mstr_run(cfg: MstrRunConfig, output: Path, info: DistInfo, resume: bool) -> tuple:
    """(RunParts, task) for an mSTR stage; `resume` continues `output/last.pt` with
    `cfg` (pass `resume_config(output)` to continue the run unchanged)."""
    ckpt = open_run(output, info, resume, cfg.train.threads, cfg.train.seed)
    task = build_task(cfg)  # may adopt the frozen Spotter's geometry into cfg.model
    chars = None if task.stage == "mclip" else task.bank.chars
    if task.stage != "mclip":
        check_bank_langs(task.bank.meta.get("langs", []), cfg.data.langs)
    train_set, val_set = _datasets(cfg, chars)
    static = {
        "config": mstr_config_to_dict(cfg), "arch": cfg.model.arch, "task": task.stage,
        "tokenizer": {"kind": "mstr", "task": task.stage}, "charset": [],
        "versions": versions(), **task.static_payload(),
    }  # fmt: skip
    parts = RunParts(cfg, output, None, task.model, train_set, val_set, static, ckpt)  # type: ignore[arg-type]
    return parts, task


def resume_config(output: str | Path, overrides: list[str] | None = None) -> MstrRunConfig:
    """The config stored in `output/last.pt`, with `key=value` overrides applied."""
    from strtool.config import apply_overrides

    ckpt = load_checkpoint(Path(output) / "last.pt")
    return mstr_config_from_dict(apply_overrides(ckpt["config"], list(overrides or [])))


def train_mstr(
    cfg: MstrRunConfig, output: str | Path, resume: bool = False, on_event: Event | None = None
) -> TrainResult:
    """Train an mSTR stage into run folder `output` (same layout as `engine.train`:
    config.yaml, metrics.jsonl, curves.png, last.pt, best.pt)."""
    info = init_distributed(cfg.train.device)
    try:
        parts, task = prepare_mstr_run(cfg, Path(output), info, resume)
        if info.main:
            (parts.output / "config.yaml").write_text(
                yaml.safe_dump(mstr_config_to_dict(parts.cfg), allow_unicode=True, sort_keys=False),
                encoding="utf-8",
            )
        barrier(info)
        return MstrTrainer(parts, info, on_event, task).run()
    finally:
        cleanup(info)
