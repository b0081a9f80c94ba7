"""Everything a run needs before its first step: run folder, seeds, datasets,
tokenizer (charset), model (with cascade init and freezing), the static part of the
checkpoint, and the checkpoint to resume from."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from strtool.data.dataset import LmdbDataset
from strtool.engine.checkpoint import init_from, load_checkpoint, versions
from strtool.engine.config import RunConfig, config_to_dict
from strtool.engine.data import build_dataset, label_units
from strtool.engine.distributed import DistInfo
from strtool.engine.evaluate import (
    make_tokenizer,
    make_transform,
    model_from_config,
    tokenizer_from_dict,
)
from strtool.errors import ConfigError, InputError


@dataclass
class RunParts:
    cfg: RunConfig
    output: Path
    tokenizer: Any
    model: nn.Module
    train_set: LmdbDataset
    val_set: LmdbDataset | None
    static_payload: dict[str, Any]
    resume_ckpt: dict[str, Any] | None
    init_report: dict[str, int] | None = None


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_chars(cfg: RunConfig) -> list[str]:
    """The charset: a file path, a language spec (`LAT,ARA`), or (None) every unit
    seen in the training labels, sorted by code point."""
    spec, unit = cfg.data.charset, cfg.data.unit
    if spec is None:
        return label_units(cfg.data.train, unit)
    from strtool.text import charset as cs

    if Path(spec).is_file():
        return list(cs.charset_from_file(spec))
    return list(cs.union_chars(cs.load_charsets(spec)))


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


def _datasets(cfg: RunConfig, chars: list[str]) -> tuple[LmdbDataset, LmdbDataset | None]:
    """Training set (langs, max_len, caps, charset filters) and validation set (langs
    filter and `val_max` per language only: unknown characters count as errors)."""
    d = cfg.data
    tf = make_transform(cfg)
    caps: int | dict[str, int] | None = dict(d.caps) if d.caps else d.cap
    if d.caps and d.cap is not None:
        raise ConfigError("data.cap and data.caps: give one or the other")
    charset = None if d.unk else chars
    train_set = build_dataset(d.train, tf, d.langs, d.max_len, d.unit, caps, charset)
    val_set = build_dataset(d.val, tf, d.langs, None, d.unit, d.val_max) if d.val else None
    return train_set, val_set


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
    if info.main:
        output.mkdir(parents=True, exist_ok=True)
    if threads > 0:
        torch.set_num_threads(threads)
    seed_everything(seed)
    return ckpt


def prepare_run(
    cfg: RunConfig, output: Path, info: DistInfo, resume: bool, init: str | Path | None
) -> RunParts:
    """Build the parts of a run; `resume` loads `output/last.pt` (its config wins)."""
    ckpt = open_run(output, info, resume, cfg.train.threads, cfg.train.seed)
    if not cfg.data.train:
        raise ConfigError("data.train: no training LMDB given")
    if ckpt is not None:
        tok = tokenizer_from_dict(ckpt["tokenizer"])
        chars = list(ckpt["charset"])
    else:
        chars = resolve_chars(cfg)
        tok = make_tokenizer(chars, cfg.data.unit, cfg.data.unk)
    train_set, val_set = _datasets(cfg, chars)
    model = model_from_config(cfg, tok.num_classes)
    init_report = None
    if init is not None and ckpt is None:
        init_report = init_from(model, load_checkpoint(init), chars)
    _freeze(model, cfg.train.freeze)
    static = {
        "config": config_to_dict(cfg), "arch": cfg.model.arch, "tokenizer": tok.to_dict(),
        "charset": chars, "versions": versions(),
    }  # fmt: skip
    return RunParts(cfg, output, tok, model, train_set, val_set, static, ckpt, init_report)
