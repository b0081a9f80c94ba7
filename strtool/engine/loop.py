"""The one training loop for every model family.

The family's task (`strtool.tasks`) gives the model, the loss of a batch, validation
and the static checkpoint entries; the loop owns the rest: AdamW + one-cycle, gradient
accumulation, clipping, AMP (bf16, or fp16 with a GradScaler) on CUDA, channels_last,
DDP under torchrun, validation every N steps with per-language WRR/CRR/1-NED, best
checkpoint by a chosen metric, JSONL log + PNG curves, and exact resume (model,
optimiser, scheduler, scaler, step, RNG, sampler position, stream position). Training
data: LMDBs, the synthetic stream (`data.synth`), or both mixed per batch.

Run folder: `config.yaml`, `metrics.jsonl`, `curves.png`, `last.pt`, `best.pt`.
"""

from __future__ import annotations

import contextlib
import json
import math
import signal
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

from strtool.data.dataset import BatchNotes
from strtool.engine.checkpoint import capture_rng, load_checkpoint, restore_rng, save_atomic
from strtool.engine.config import RunConfig, config_to_dict
from strtool.engine.curves import draw_curves, read_jsonl
from strtool.engine.data import (
    stream_report,
    stream_share,
)
from strtool.engine.distributed import (
    DistInfo,
    backend_for,
    barrier,
    cleanup,
    init_distributed,
)
from strtool.engine.loader import pins_memory, train_loader
from strtool.engine.precision import amp_settings
from strtool.engine.schedule import build_optimizer, build_scheduler
from strtool.engine.setup import RunParts, prepare_run
from strtool.engine.stop import StopSignals, close_workers
from strtool.errors import Interrupted, TrainingError
from strtool.semi.training import SemiTraining

Event = Callable[[dict[str, Any]], None]


@dataclass
class TrainResult:
    """What a finished run produced."""

    output: Path
    step: int
    best: float | None
    best_step: int | None
    last_val: dict[str, Any] = field(default_factory=dict)
    data_report: dict[str, Any] = field(default_factory=dict)  # LMDB filter, `stream`
    model: nn.Module | None = field(default=None, repr=False)  # trained, unwrapped


class Trainer:
    """State of one run; `run()` trains to `cfg.train.steps` optimiser steps."""

    def __init__(
        self,
        parts: RunParts,
        info: DistInfo,
        on_event: Event | None,
        stop: StopSignals | None = None,
    ) -> None:
        self.p, self.info, self.cfg = parts, info, parts.cfg
        self.stop = stop  # SIGINT/SIGTERM: stop at the next step boundary, saved
        self.task = parts.task
        self.on_event = on_event or (lambda e: None)
        self.model = parts.model.to(info.device)
        if self.cfg.channels_last:
            # Module.to accepts memory_format at run time; torch's type stubs omit it
            self.model = self.model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        # semi-supervised training (`semi`): the trained module is its student (the
        # model + a projection head), and its loss replaces the task's
        self.semi = SemiTraining(parts, info, self.model) if self.cfg.semi.parts else None
        self.trained: nn.Module = self.semi.student if self.semi is not None else self.model
        self.ddp: nn.Module = self.trained
        if info.group:  # torchrun: DDP, one process included
            ids = [info.device.index] if info.device.type == "cuda" else None
            self.ddp = DDP(self.trained, device_ids=ids)
        t = self.cfg.train
        self.opt = build_optimizer(self.trained, t.lr, t.weight_decay)
        self.sched = build_scheduler(self.opt, t.lr, t.steps, t.pct_start)
        self.amp_dtype, fp16_scaler = amp_settings(self.cfg, info.device)
        self.scaler = torch.amp.GradScaler("cuda", enabled=fp16_scaler)
        self.step, self.epoch, self.cursor = 0, 0, 0
        self.micro = 0  # micro-batches consumed (the stream's position)
        self.stream_samples = 0
        self.stream_skips: Counter[str] = Counter()
        self.drawn = 0  # training samples drawn (LMDB and stream)
        self.bad: list[str] = []  # unreadable training samples: "LMDB: key: reason"
        self.nonfinite = 0  # optimiser steps skipped for a non-finite loss or gradient
        self.nonfinite_run = 0  # ... in a row
        self.step_bad_loss = 0  # micro-batches of the current step with a non-finite loss
        self.best: float | None = None
        self.best_step: int | None = None
        self.last_val: dict[str, Any] = {}
        if parts.resume_ckpt is not None:
            self._load_state(parts.resume_ckpt)

    # -- state -----------------------------------------------------------------
    def _load_state(self, ckpt: dict[str, Any]) -> None:
        self.model.load_state_dict(ckpt["model"])
        self.opt.load_state_dict(ckpt["optimizer"])
        if ckpt["scheduler"].get("total_steps") == self.sched.total_steps:
            self.sched.load_state_dict(ckpt["scheduler"])
        else:  # train.steps changed on resume: the same one-cycle shape over the new total
            self.sched.last_epoch = ckpt["step"] - 1
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.sched.step()
        self.scaler.load_state_dict(ckpt["scaler"])
        self.step, self.epoch, self.cursor = ckpt["step"], ckpt["epoch"], ckpt["cursor"]
        self.micro = ckpt.get("micro", self.step * self.cfg.train.accum)
        stream = ckpt.get("stream") or {}
        self.stream_samples = stream.get("samples", 0)
        self.stream_skips = Counter(stream.get("skipped", {}))
        health = ckpt.get("health") or {}
        self.drawn = health.get("drawn", 0)
        self.bad = list(health.get("bad", []))
        self.nonfinite = health.get("nonfinite", 0)
        self.best, self.best_step = ckpt.get("best"), ckpt.get("best_step")
        if self.semi is not None and ckpt.get("semi") is not None:
            self.semi.load_state_dict(ckpt["semi"])
        restore_rng(ckpt["rng"])

    def _payload(self) -> dict[str, Any]:
        return {
            **self.p.static_payload,
            "model": self.model.state_dict(),
            "optimizer": self.opt.state_dict(),
            "scheduler": self.sched.state_dict(),
            "scaler": self.scaler.state_dict(),
            "step": self.step, "epoch": self.epoch, "cursor": self.cursor,
            "best": self.best, "best_step": self.best_step, "rng": capture_rng(),
            "micro": self.micro, "stream": stream_report(self.stream_samples, self.stream_skips),
            "health": {"drawn": self.drawn, "bad": self.bad, "nonfinite": self.nonfinite},
            **({"semi": self.semi.state_dict()} if self.semi is not None else {}),
        }  # fmt: skip

    def save(self, best: bool = False) -> None:
        if not self.info.main:
            return
        payload = self._payload()
        save_atomic(payload, self.p.output / "last.pt")
        if best:
            save_atomic(payload, self.p.output / "best.pt")

    def log(self, record: dict[str, Any]) -> None:
        self.on_event(record)
        if self.info.main:
            with open(self.p.output / "metrics.jsonl", "a", encoding="utf-8") as f:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")

    # -- training ----------------------------------------------------------------
    def _micro_step(self, batch: tuple[Any, ...], sync: bool) -> float | None:
        """Forward + backward of one micro-batch `(images, labels, langs, notes)` through
        the task's loss; counts the stream's samples and skips and unreadable samples.
        A non-finite loss contributes no gradient (counted); returns the loss or None."""
        images, labels, langs, notes = batch
        self._note(notes)
        if images is None:
            if isinstance(self.ddp, DDP):
                raise TrainingError("a whole micro-batch of training samples was unreadable")
            self.step_bad_loss += 1
            return None
        dev = self.info.device
        images = images.to(dev, non_blocking=True)
        if self.cfg.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        ctx = (
            contextlib.nullcontext()
            if sync or not isinstance(self.ddp, DDP)
            else self.ddp.no_sync()
        )
        with ctx:
            with torch.autocast(dev.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
                if self.semi is None:
                    loss = self.task.loss(self.ddp, (images, labels, langs), dev)
                else:
                    loss = self.semi.loss(self.ddp, (images, labels, langs), dev, self.step,
                                          self.micro)  # fmt: skip
            value = float(loss.detach())
            if not math.isfinite(value):
                # zero gradients through every parameter: DDP ranks stay in step
                self.step_bad_loss += 1
                loss = torch.stack(
                    [(p * 0).sum() for p in self.trained.parameters() if p.requires_grad]
                ).sum()
            self.scaler.scale(loss / self.cfg.train.accum).backward()
        return value if math.isfinite(value) else None

    def _note(self, notes: BatchNotes) -> None:
        """Count a batch's stream skips and unreadable samples; stop (`TrainingError`)
        when unreadable samples exceed `data.max_bad` of those drawn."""
        if self.p.stream is not None:
            self.stream_skips.update(notes.skips)
            self.stream_samples += stream_share(self.cfg)
        self.drawn += notes.drawn
        for b in notes.bad:
            self.bad.append(f"{b.where}: {b.reason}")
            if len(self.bad) <= 20:
                self.on_event({"kind": "bad_sample", "step": self.step, "where": b.where,
                               "reason": b.reason})  # fmt: skip
        limit = self.cfg.data.max_bad
        if self.bad and len(self.bad) > max(limit * self.drawn, 0 if limit == 0 else 10):
            raise TrainingError(
                f"{len(self.bad)} of {self.drawn} training samples could not be read "
                f"(more than data.max_bad = {limit:g}); first: {self.bad[0]}. The last "
                f"good checkpoint is {self.p.output / 'last.pt'}"
            )

    def _opt_step(self) -> None:
        """Clip and apply the step; a step whose loss or gradients are not finite is
        skipped (counted), and `train.max_nonfinite` of them in a row stop the run."""
        self.scaler.unscale_(self.opt)
        params = [p for p in self.trained.parameters() if p.requires_grad]
        norm = torch.nn.utils.clip_grad_norm_(params, self.cfg.train.grad_clip)
        bad = self.step_bad_loss >= self.cfg.train.accum or not bool(torch.isfinite(norm))
        self.step_bad_loss = 0
        if bad and not self.scaler.is_enabled():
            self.opt.zero_grad(set_to_none=True)
        else:  # (a GradScaler skips non-finite fp16 steps itself and lowers its scale)
            self.scaler.step(self.opt)
            self.scaler.update()
            self.opt.zero_grad(set_to_none=True)
        self.sched.step()
        self.nonfinite += bad
        self.nonfinite_run = self.nonfinite_run + 1 if bad else 0
        if self.nonfinite_run >= self.cfg.train.max_nonfinite:
            raise TrainingError(
                f"training stopped at step {self.step + 1}: {self.nonfinite_run} steps in a "
                "row had a non-finite loss or gradient (NaN/inf); the last good checkpoint "
                f"is {self.p.output / 'last.pt'} (lower train.lr, or check the data)"
            )

    def _set_train(self) -> None:
        self.model.train()
        for name in self.cfg.train.freeze:
            self.model.get_submodule(name).eval()  # frozen BN keeps its statistics

    def setup_record(self) -> dict[str, Any]:
        """Where and how this run computes (logged first, at every start and resume):
        device (and GPU name), autocast dtype, GradScaler, processes and the process
        group's backend, pinned loader memory, channels_last, torch version."""
        dev = self.info.device
        amp = {torch.bfloat16: "bf16", torch.float16: "fp16", None: "fp32"}[self.amp_dtype]
        backend = backend_for(dev) if self.info.group else None
        return {
            "kind": "setup", "step": self.step, "device": str(dev),
            **({"gpu": torch.cuda.get_device_name(dev)} if dev.type == "cuda" else {}),
            "amp": amp, "grad_scaler": self.scaler.is_enabled(), "processes": self.info.world,
            "ddp": backend, "pin_memory": pins_memory(self.info),
            "channels_last": self.cfg.channels_last, "torch": torch.__version__,
        }  # fmt: skip

    def run(self) -> TrainResult:
        self.log(self.setup_record())
        if self.p.init_report is not None:  # what --init copied, before the first step
            self.log({"kind": "init", "step": self.step, **self.p.init_report})
        if self.p.resume_changes:  # a resume under another config: say what changed
            self.log({"kind": "resume", "step": self.step, "changed": self.p.resume_changes})
        loader, per_epoch = train_loader(self.p, self.info, self.epoch, self.cursor, self.micro)
        batches = iter(loader)
        try:
            if self.semi is not None:
                self.semi.start(self.micro)
            self._set_train()
            self._loop(batches, per_epoch)
        finally:  # workers stop here, also when the run stops on a signal or an error
            close_workers(batches)
            if self.semi is not None:
                self.semi.close()
        self._finish()
        return TrainResult(
            self.p.output, self.step, self.best, self.best_step, self.last_val,
            self.data_report(), self.model,
        )  # fmt: skip

    def _loop(self, batches: Iterator[Any], per_epoch: int) -> None:
        """Optimiser steps until `train.steps` (or a stop signal)."""
        t = self.cfg.train
        window_loss, window_n, window_micro, t0 = 0.0, 0, 0, time.perf_counter()
        while self.step < t.steps:
            for k in range(t.accum):
                value = self._micro_step(next(batches), sync=k == t.accum - 1)
                window_micro += 1
                if value is not None:
                    window_loss += value
                    window_n += 1
                self.cursor += 1
                self.micro += 1
                if per_epoch and self.cursor >= per_epoch:
                    self.epoch, self.cursor = self.epoch + 1, 0
            self._opt_step()
            self.step += 1
            if self.semi is not None:
                self.semi.after_step(self.step)
            if self.step % t.log_every == 0 or self.step == t.steps:
                dt = time.perf_counter() - t0
                imgs = window_micro * t.batch_size * self.info.world
                self.log({
                    "kind": "train", "step": self.step, "epoch": self.epoch,
                    "loss": window_loss / max(window_n, 1), "lr": self.sched.get_last_lr()[0],
                    "img_s": imgs / max(dt, 1e-9), "total_steps": t.steps,
                    **({"stream_skipped": dict(sorted(self.stream_skips.items()))}
                       if self.p.stream is not None else {}),
                    **({"bad_samples": len(self.bad)} if self.bad else {}),
                    **({"nonfinite_steps": self.nonfinite} if self.nonfinite else {}),
                    **(self.semi.log_fields() if self.semi is not None else {}),
                })  # fmt: skip
                window_loss, window_n, window_micro, t0 = 0.0, 0, 0, time.perf_counter()
            saved = self.step % t.val_every == 0 or self.step == t.steps
            if saved:
                self.validate()
                self._set_train()
            elif self.step % t.ckpt_every == 0:
                self.save()
                saved = True
            signum = self.stop.requested(self.info) if self.stop is not None else None
            if signum is not None and self.step < t.steps:
                self._stop(signum, saved)

    def data_report(self) -> dict[str, Any]:
        """The LMDB filter counts (removed per reason, `kept`) and, with a stream,
        `stream`: samples drawn and skipped per reason (this process's share under DDP)."""
        out: dict[str, Any] = {}
        if self.p.train_set is not None:
            rep = self.p.train_set.report
            out |= rep.removed | {"kept": rep.kept}
        if self.p.stream is not None:
            out["stream"] = stream_report(self.stream_samples, self.stream_skips)
        if self.bad:
            out["unreadable"] = {"count": len(self.bad), "first": self.bad[:20]}
        if self.nonfinite:
            out["nonfinite_steps"] = self.nonfinite
        if self.semi is not None:
            out["unlabeled"] = self.semi.report()
        return out

    def score_val(self) -> tuple[float, dict[str, Any], dict[str, Any]]:
        """Score the validation set (called on rank 0) with the task: the value of
        `eval.metric`, the fields to log, and what `TrainResult.last_val` keeps."""
        self.model.eval()
        assert self.p.val_set is not None
        with torch.inference_mode():
            metrics = self.task.validate(self.model, self.p.val_set, self.info.device)
        fields = {**metrics, "unknown_chars": dict(self.task.unknown)}
        if self.semi is not None:  # the EMA teacher's scores beside the student's
            fields |= self.semi.teacher_scores(self.p.val_set, self.info.device)
        return float(metrics[self.cfg.eval.metric]), fields, metrics

    def validate(self) -> None:
        """Score the validation set (rank 0), keep the best checkpoint, save last."""
        improved = False
        if self.info.main and self.p.val_set is not None:
            value, fields, self.last_val = self.score_val()
            improved = self.best is None or value > self.best
            if improved:
                self.best, self.best_step = value, self.step
            self.log({"kind": "val", "step": self.step, **fields, "best": self.best})
        elif self.p.val_set is None:
            improved = True
        self.save(best=improved)
        if self.info.main:
            draw_curves(read_jsonl(self.p.output / "metrics.jsonl"), self.p.output / "curves.png")
        barrier(self.info)

    def _stop(self, signum: int, saved: bool) -> None:
        """Save `last.pt` at this step boundary (unless just saved) and raise
        `Interrupted` (`strtool.engine.stop`)."""
        if not saved:
            self.save()
        barrier(self.info)
        name = signal.Signals(signum).name
        raise Interrupted(
            f"stopped by {name} after step {self.step} of {self.cfg.train.steps}; "
            f"{self.p.output / 'last.pt'} holds it: continue with --resume",
            signum,
        )

    def _finish(self) -> None:
        self.save()
        barrier(self.info)


def train(
    cfg: RunConfig,
    output: str | Path,
    resume: bool = False,
    init: str | Path | None = None,
    on_event: Event | None = None,
) -> TrainResult:
    """Train `cfg` (any family) into run folder `output`. `resume=True` continues
    from `output/last.pt`; `init` starts from another checkpoint's weights (cascade
    learning, charsets may differ). `on_event` receives every log record."""
    info = init_distributed(cfg.train.device)
    out = Path(output)
    created = not out.exists()
    try:
        try:
            parts = prepare_run(cfg, out, info, resume, init)
        except BaseException:
            # a run that could not start leaves no empty folder behind (only one it made)
            if created and info.main and out.is_dir() and not any(out.iterdir()):
                out.rmdir()
            raise
        if info.main:
            (parts.output / "config.yaml").write_text(
                yaml.safe_dump(config_to_dict(parts.cfg), allow_unicode=True, sort_keys=False),
                encoding="utf-8",
            )
        barrier(info)
        with StopSignals() as stop:
            return Trainer(parts, info, on_event, stop).run()
    finally:
        cleanup(info)


__all__ = ["TrainResult", "Trainer", "load_checkpoint", "train"]
