"""Everything a run needs before its first step: run folder, seeds, the family's task
(model, charset or bank), datasets, cascade init and freezing, the static part of the
checkpoint, and the checkpoint to resume from. Works for every family through the task
contract (`strtool.tasks.base.Task`)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from strtool.config import apply_overrides
from strtool.data.dataset import LmdbDataset
from strtool.data.stream import SynthStream
from strtool.engine.checkpoint import checkpoint_family, load_checkpoint
from strtool.engine.config import RunConfig, config_from_dict, config_to_dict
from strtool.engine.data import build_dataset, build_stream, with_stream_charset
from strtool.engine.distributed import DistInfo
from strtool.errors import ConfigError, InputError
from strtool.outputs import parent_problem
from strtool.tasks.base import Task
from strtool.tasks.registry import build_task


@dataclass
class RunParts:
    cfg: RunConfig
    output: Path
    task: Task
    train_set: LmdbDataset | None  # None: the stream alone
    val_set: LmdbDataset | None
    static_payload: dict[str, Any]
    resume_ckpt: dict[str, Any] | None
    init_report: dict[str, int] | None = None
    stream: SynthStream | None = None  # data.synth
    resume_changes: list[str] | None = None  # config keys that differ from the stored run

    @property
    def model(self) -> nn.Module:
        return self.task.model


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resume_config(output: str | Path, overrides: list[str] | None = None) -> RunConfig:
    """The config stored in `output/last.pt`, with `key=value` overrides applied."""
    ckpt = load_checkpoint(Path(output) / "last.pt")
    return config_from_dict(apply_overrides(ckpt["config"], list(overrides or [])))


def _truncate_log(path: Path, step: int) -> None:
    """Drop log records written after the checkpoint we resume from."""
    if not path.is_file():
        return
    keep = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if json.loads(line).get("step", 0) <= step:
                keep.append(line)
        except json.JSONDecodeError:
            continue
    path.write_text("".join(x + "\n" for x in keep), encoding="utf-8")


def _freeze(model: nn.Module, names: list[str]) -> None:
    for name in names:
        try:
            part = model.get_submodule(name)
        except AttributeError:
            raise ConfigError(f"train.freeze: model has no part '{name}'") from None
        for p in part.parameters():
            p.requires_grad_(False)


def _datasets(
    cfg: RunConfig, task: Task
) -> tuple[LmdbDataset | None, LmdbDataset | None, SynthStream | None]:
    """Training set (langs, max_len, caps, the task's label filter; None when the
    stream is the only source), validation set (langs filter and `val_max` per language
    only: unknown characters count as errors) and the synthetic stream (`data.synth`,
    filtered like the training set)."""
    d = cfg.data
    if not d.train and d.synth is None:
        raise ConfigError("data.train: no training LMDB given (and no data.synth stream)")
    tf, unit = task.transform, task.unit
    caps: int | dict[str, int] | None = dict(d.caps) if d.caps else d.cap
    langs = d.langs or None
    train_set = None
    if d.train:
        train_set = build_dataset(
            d.train, tf, langs, d.max_len, unit, caps, task.label_chars, skip_bad=True
        )
    val_set = build_dataset(d.val, tf, langs, None, unit, d.val_max) if d.val else None
    stream = build_stream(cfg, tf, task.label_chars, unit) if d.synth is not None else None
    return train_set, val_set, stream


RUN_FILES = {"config.yaml", "metrics.jsonl", "curves.png", "last.pt", "best.pt"}


def check_run_folder(output: Path) -> None:
    """A new run may only go into a missing or empty folder, or one that holds nothing
    but the files of a run stopped before its first checkpoint: a run never writes over
    a user's files (`InputError` naming one of them)."""
    if output.exists() and not output.is_dir():
        raise InputError(f"--output {output}: exists and is not a folder")
    why = parent_problem(output)
    if why is not None and not output.is_dir():
        raise InputError(f"--output {output}: cannot create it ({why})")
    if not output.is_dir():
        return
    foreign = sorted(p.name for p in output.iterdir()
                     if p.name not in RUN_FILES and not p.name.startswith("."))  # fmt: skip
    if foreign:
        raise InputError(
            f"--output {output}: the folder holds files that are not a strtool run "
            f"({foreign[0]}{', ...' if len(foreign) > 1 else ''}); choose an empty or new folder"
        )


def open_run(
    output: Path, info: DistInfo, resume: bool, threads: int, seed: int
) -> dict[str, Any] | None:
    """Claim the run folder and set threads and seeds; returns the checkpoint to resume
    from (`output/last.pt`, its metrics log cut back to its step) or None. A folder that
    already holds a run is an error without `resume`, so nothing finished is lost."""
    last = output / "last.pt"
    ckpt = None
    if resume:
        if not last.is_file():
            raise InputError(f"cannot resume: {last} does not exist")
        ckpt = load_checkpoint(last)
        if info.main:
            _truncate_log(output / "metrics.jsonl", ckpt["step"])
    elif last.exists():
        raise InputError(f"{output} already holds a run (use --resume or another --output)")
    else:
        check_run_folder(output)
    if info.main:
        output.mkdir(parents=True, exist_ok=True)
    if threads > 0:
        torch.set_num_threads(threads)
    seed_everything(seed)
    return ckpt


def prepare_run(
    cfg: RunConfig, output: Path, info: DistInfo, resume: bool, init: str | Path | None
) -> RunParts:
    """Build the parts of a run; `resume` loads `output/last.pt`, whose stored entries
    (charset, bank, ...) win; `init` warm-starts from another checkpoint's weights."""
    ckpt = open_run(output, info, resume, cfg.train.threads, cfg.train.seed)
    cfg = with_stream_charset(cfg)
    if ckpt is not None and checkpoint_family(ckpt) != cfg.family:
        raise InputError(
            f"cannot resume: {output / 'last.pt'} holds a {checkpoint_family(ckpt)} run, "
            f"the config a {cfg.family} one"
        )
    task = build_task(cfg, ckpt)
    train_set, val_set, stream = _datasets(cfg, task)
    init_report = None
    if init is not None and ckpt is None:
        init_report = task.init_from(load_checkpoint(init))
    _freeze(task.model, cfg.train.freeze)
    changes = None if ckpt is None else config_changes(ckpt.get("config") or {}, cfg)
    return RunParts(
        cfg, output, task, train_set, val_set, task.payload(), ckpt, init_report, stream, changes
    )


def config_changes(stored: dict[str, Any], cfg: RunConfig) -> list[str]:
    """The dotted keys whose values in `cfg` differ from the `stored` config of the run
    being resumed (sorted): a resume continues exactly only where none concern the data,
    the seed or the model."""

    def flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in d.items():
            if isinstance(v, dict) and v:
                out.update(flat(v, f"{prefix}{k}."))
            else:
                out[f"{prefix}{k}"] = v
        return out

    old, new = flat(stored), flat(config_to_dict(cfg))
    return sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
