"""Training configuration: dataclasses with the defaults in code.

A YAML preset (`configs/crnn.yaml`, `svtr.yaml`, `tiny.yaml`) states only what
differs; `--set train.lr=3e-4` overrides any key; unknown keys are a `ConfigError`
naming the key path (see `strtool.config`). The resolved config is written to the run
folder and stored in every checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strtool.config import from_dict, load_config, to_dict
from strtool.errors import ConfigError


@dataclass
class ModelConfig:
    """Architecture (a `strtool.models.REGISTRY` key) and input geometry."""

    arch: str = "crnn"
    channels: int = 3  # 3 = RGB, 1 = grey
    height: int = 32
    width: int = 100
    keep_ratio: bool = False  # resize keeping the aspect ratio + right padding
    options: dict[str, Any] = field(default_factory=dict)  # builder overrides


@dataclass
class DataConfig:
    """Training / validation LMDBs and how labels become classes."""

    train: list[str] = field(default_factory=list)
    val: list[str] = field(default_factory=list)
    langs: list[str] = field(default_factory=list)  # codes or groups; empty = all
    charset: str | None = None  # lang spec ("LAT,ARA"), a charset file, or None = labels
    unit: str = "codepoint"
    unk: bool = False  # map unknown characters to an explicit UNK class
    max_len: int = 25  # longer labels are filtered (and counted)
    cap: int | None = None  # max training samples per language
    caps: dict[str, int] = field(default_factory=dict)  # per-language caps
    balanced: bool = False  # language-balanced sampling
    workers: int = 2
    val_max: int | None = None  # cap on validation samples per LMDB


@dataclass
class TrainConfig:
    """Optimisation: AdamW + one-cycle, clipping, accumulation, precision."""

    steps: int = 20000  # optimiser steps
    batch_size: int = 128  # per process, per micro-batch
    accum: int = 1  # micro-batches per optimiser step
    lr: float = 1e-3
    weight_decay: float = 0.05
    pct_start: float = 0.1  # warm-up fraction of the one-cycle schedule
    grad_clip: float = 5.0
    amp: str = "auto"  # auto (CUDA: bf16 if supported, else fp16; CPU: fp32), bf16, fp16, none
    channels_last: bool = True
    seed: int = 42
    log_every: int = 20
    val_every: int = 1000
    ckpt_every: int = 500
    freeze: list[str] = field(default_factory=list)  # e.g. [backbone]
    threads: int = 0  # torch CPU threads (0 = leave torch's default)
    device: str = "auto"


@dataclass
class EvalConfig:
    """Validation: which metric picks the best checkpoint, with which profile."""

    metric: str = "wrr"  # wrr | crr | ned (1-NED), pooled over languages
    profile: str = "default"
    batch_size: int = 256


@dataclass
class RunConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


AMP_MODES = ("auto", "bf16", "fp16", "none")
METRICS = ("wrr", "crr", "ned")


def validate(cfg: RunConfig) -> RunConfig:
    """Check cross-field constraints; raise `ConfigError` naming the key."""
    if cfg.train.amp not in AMP_MODES:
        raise ConfigError(f"train.amp: expected one of {AMP_MODES}, got '{cfg.train.amp}'")
    if cfg.eval.metric not in METRICS:
        raise ConfigError(f"eval.metric: expected one of {METRICS}, got '{cfg.eval.metric}'")
    if cfg.model.channels not in (1, 3):
        raise ConfigError(f"model.channels: expected 1 or 3, got {cfg.model.channels}")
    for key in ("steps", "batch_size", "accum", "log_every", "val_every", "ckpt_every"):
        if getattr(cfg.train, key) < 1:
            raise ConfigError(f"train.{key}: must be >= 1")
    if cfg.data.unit not in ("codepoint", "grapheme"):
        raise ConfigError(f"data.unit: expected codepoint or grapheme, got '{cfg.data.unit}'")
    return cfg


def load_run_config(path: str | Path | None, overrides: list[str] | None = None) -> RunConfig:
    """Defaults, then the YAML file, then `key=value` overrides; validated."""
    return validate(load_config(RunConfig, path, overrides))


def config_from_dict(data: dict[str, Any]) -> RunConfig:
    """Rebuild a `RunConfig` from its dict form (e.g. from a checkpoint)."""
    return validate(from_dict(RunConfig, data))


def config_to_dict(cfg: RunConfig) -> dict[str, Any]:
    """Plain nested dict (YAML/JSON serialisable)."""
    return to_dict(cfg)
