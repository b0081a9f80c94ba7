"""Settings and results of `strtool demo` (see `strtool.demo.run`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from strtool.demo.data import DEMO_LANGS
from strtool.evaluation.report import Report

Event = Callable[[dict[str, Any]], None]


@dataclass
class DemoSettings:
    """What the demo renders and trains (defaults: about 8 minutes on 2 cores)."""

    minutes: float = 6.0  # training budget
    langs: tuple[str, ...] = DEMO_LANGS
    words: int = 100  # vocabulary per language
    min_len: int = 2  # code points
    max_len: int = 6
    train_images: int = 30000
    val_per_lang: int = 100  # on average (languages are drawn at random per sample)
    unseen_per_lang: int = 50
    arch: str = "crnn_tiny"  # a `strtool.models.REGISTRY` key (grey 32x128 input)
    batch_size: int = 64
    lr: float = 5e-3
    workers: int = 2  # rendering processes
    threads: int = 0  # torch threads (0 = torch's default)
    seed: int = 0
    evals: int = 6  # validations during training
    samples: int = 2  # exported sample images per language
    sheet_per_lang: int = 6  # contact-sheet crops per language


@dataclass
class DemoResult:
    """Everything the demo measured; `files` maps report names to paths."""

    output: Path
    val: Report
    unseen: Report
    params: int
    ms_per_image: float
    steps: int
    total_steps: int
    samples_seen: int
    train_img_s: float
    stopped_early: bool
    seconds: dict[str, float] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)


class TimeUp(Exception):
    """Raised from the training callback when the time guard fires."""


def settings_dict(s: DemoSettings) -> dict[str, Any]:
    d = asdict(s)
    d["langs"] = list(s.langs)
    return d
