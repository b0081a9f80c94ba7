"""The task contract: what the one training loop and the one reader need from a family.

A task (in the spirit of PARSeq's base system) owns everything family-specific:

- `__init__(cfg, stored)` builds the model from the config; `stored` is a checkpoint
  dict (resume, inference) whose entries (charset, bank, prompt tokens, ...) win over
  the config, or None for a fresh run.
- `loss(model, batch, device)`: the training loss of a batch `(images, labels, langs)`.
- `read(model, images)`: decode a batch to texts + confidences (`Reading`);
  `read_ragged` reads images of different widths (wide crops of a model that reads
  any width, see `read_transform`) one width at a time, in input order.
- `validate(model, ds, device)`: scores on a validation set (default: `read` + metrics).
- `payload()`: the static checkpoint entries that `read` needs later.
- `init_from(ckpt)`: warm start from another checkpoint (default: matching tensors).
- `onnx_module()`: what `strtool export onnx` exports, if anything.

The loop (`strtool.engine.loop.Trainer`) does the rest: DDP, AMP, accumulation,
clipping, schedules, logging, checkpoints and exact resume.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from strtool.data.dataset import collate
from strtool.data.ragged import collate_ragged, shape_groups
from strtool.data.transforms import ResizeNormalize
from strtool.engine.checkpoint import versions
from strtool.engine.config import RunConfig, config_to_dict
from strtool.errors import InputError
from strtool.evaluation.metrics import score
from strtool.evaluation.report import POOLED, Report
from strtool.text.normalize import Unit, as_unit

Batch = tuple[Tensor, list[str], list[str]]


@dataclass
class Reading:
    """Texts and confidences of a batch, in batch order. `alternatives`: other outputs
    of the same model by name (e.g. the Spotter's own reading under a Refiner).
    `line_confidences`: per text, one confidence per "\n"-separated line (families
    that read lines and pages; empty for the others)."""

    texts: list[str]
    confidences: list[float]
    alternatives: dict[str, tuple[list[str], list[float]]] = field(default_factory=dict)
    line_confidences: list[list[float]] = field(default_factory=list)


@dataclass
class DatasetReading:
    """A `Reading` of a whole dataset with its ground truth; `seconds` = model +
    decode time only (data loading excluded)."""

    preds: list[str]
    confidences: list[float]
    gts: list[str]
    langs: list[str]
    seconds: float
    alternatives: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ms_per_image(self) -> float:
        return 1000.0 * self.seconds / max(len(self.preds), 1)


def pooled(report: dict[str, Any] | Report) -> dict[str, float]:
    """`wrr`, `wrr_nocase`, `crr`, `ned` (1-NED) of the pooled row of a metrics report
    (a `Report` or its `to_dict()` form)."""
    if isinstance(report, Report):
        row = report.pooled.to_dict()
    else:
        row = next(r for r in report["rows"] if r["group"] == POOLED)
    return {
        "wrr": row["wrr"],
        "wrr_nocase": row["wrr_nocase"],
        "crr": row["crr"],
        "ned": row["1-ned"],
    }


def transform_of(cfg: RunConfig) -> ResizeNormalize:
    """The image transform of a run's input geometry."""
    m = cfg.model
    return ResizeNormalize(m.height, m.width, m.channels, keep_ratio=m.keep_ratio)


def eval_loader(ds: Dataset, batch_size: int, workers: int = 0, ragged: bool = False) -> DataLoader:
    """In-order batches `(images, labels, langs)` of a dataset; with `ragged`, a batch
    whose images differ in shape keeps them as a list (`strtool.data.ragged`)."""
    return DataLoader(
        ds, batch_size=batch_size, shuffle=False, num_workers=workers,
        collate_fn=collate_ragged if ragged else collate,
    )  # fmt: skip


def merge_readings(parts: Sequence[tuple[Sequence[int], Reading]], n: int) -> Reading:
    """One `Reading` of `n` images from readings of subsets: `parts` pairs the input
    indices of each subset with its reading (every index in exactly one part)."""
    texts: list[str | None] = [None] * n
    confs = [0.0] * n
    lines: list[list[float]] = [[] for _ in range(n)]
    alts: dict[str, tuple[list[str], list[float]]] = {}
    for idx, r in parts:
        for k, i in enumerate(idx):
            texts[i], confs[i] = r.texts[k], float(r.confidences[k])
            if r.line_confidences:
                lines[i] = r.line_confidences[k]
        for name, (a_texts, a_confs) in r.alternatives.items():
            have = alts.setdefault(name, ([""] * n, [0.0] * n))
            for k, i in enumerate(idx):
                have[0][i], have[1][i] = a_texts[k], float(a_confs[k])
    missing = [i for i, t in enumerate(texts) if t is None]
    if missing:
        raise ValueError(f"merge_readings: no reading for images {missing[:5]}")
    has_lines = any(r.line_confidences for _, r in parts)
    return Reading([t for t in texts if t is not None], confs, alts, lines if has_lines else [])


@dataclass(frozen=True)
class DecodingOptions:
    """How to read, chosen at read time (`predict` / `eval --model`): the beam width
    and the joint CTC/attention weight of an img2seq model, the widest input a CTC
    model reads a wide crop at (`max_width`, pixels; its training width = squeeze
    as trained); None keeps the stored."""

    beam: int | None = None
    joint_ctc: float | None = None
    max_width: int | None = None


class Task(ABC):
    """One model family's side of training and reading (see the module docstring)."""

    family: ClassVar[str]
    #: Metric profile used when a checkpoint of this family is evaluated by default.
    default_profile: ClassVar[str] = "default"

    def __init__(self, cfg: RunConfig, stored: dict[str, Any] | None = None) -> None:
        self.cfg = cfg
        self.unknown: Counter[str] = Counter()
        self.model: nn.Module

    # -- data ----------------------------------------------------------------------
    @property
    def transform(self) -> ResizeNormalize:
        """The training (and validation) transform: the run's input geometry."""
        return transform_of(self.cfg)

    @property
    def read_transform(self) -> ResizeNormalize:
        """The transform of reading (`predict`, `eval --model`); the training one
        unless the family reads wider crops at their own width (CTC)."""
        return self.transform

    @property
    def label_chars(self) -> Sequence[str] | None:
        """Training labels with units outside this list are removed (and counted);
        None keeps every label."""
        return None

    @property
    def unit(self) -> Unit:
        return as_unit(self.cfg.data.unit)

    # -- training ------------------------------------------------------------------
    @abstractmethod
    def loss(self, model: nn.Module, batch: Batch, device: torch.device) -> Tensor:
        """Mean loss of a batch; `model` may be wrapped in DDP."""

    def payload(self) -> dict[str, Any]:
        """Static checkpoint entries: family, arch, config, versions, plus what the
        family needs to rebuild itself (override and extend)."""
        return {
            "family": self.family, "arch": self.cfg.model.arch,
            "config": config_to_dict(self.cfg), "versions": versions(),
        }  # fmt: skip

    def init_from(self, ckpt: dict[str, Any]) -> dict[str, int]:
        """Warm start from another checkpoint: copy every tensor whose name and shape
        match. Returns counts `copied`, `skipped`."""
        src, dst = ckpt["model"], self.model.state_dict()
        copied = 0
        for name, tensor in dst.items():
            if name in src and src[name].shape == tensor.shape:
                dst[name] = src[name].clone()
                copied += 1
        self.model.load_state_dict(dst)
        return {"copied": copied, "skipped": len(dst) - copied}

    # -- reading -------------------------------------------------------------------
    def read(self, model: nn.Module, images: Tensor) -> Reading:
        """Texts of a batch of transformed images (N, C, H, W) on the model's device."""
        raise InputError(f"a {self.family} checkpoint reads no text")

    def restrict(self, langs: Sequence[str]) -> int:
        """Read only the characters of these languages' charsets (codes or groups);
        returns the number of classes left. `InputError` where the family cannot."""
        raise InputError(f"a {self.family} checkpoint cannot restrict its output to --lang")

    def read_ragged(
        self, model: nn.Module, images: Tensor | Sequence[Tensor], device: torch.device,
        batch_size: int | None = None,
    ) -> Reading:  # fmt: skip
        """Texts of transformed images in input order: a tensor (N, C, H, W) is one
        batch; a list is read one shape at a time, `batch_size` images per batch
        (None: each shape in one batch)."""
        if isinstance(images, Tensor):
            return self.read(model, images.to(device, non_blocking=True))
        parts = []
        for idx in shape_groups(images, batch_size):
            batch = torch.stack([images[i] for i in idx]).to(device, non_blocking=True)
            parts.append((idx, self.read(model, batch)))
        return merge_readings(parts, len(images))

    def set_decoding(self, options: DecodingOptions) -> None:
        """Read-time decoding options (`predict` / `eval --beam --joint-ctc
        --max-width`); `None` fields keep the checkpoint's. `InputError` where the
        family decodes one way."""
        if options.beam is not None or options.joint_ctc is not None:
            raise InputError(
                f"--beam / --joint-ctc: a {self.family} checkpoint has no such decoding "
                "options (they apply to img2seq line and page models)"
            )
        if options.max_width is not None:
            raise InputError(
                f"--max-width: a {self.family} checkpoint reads at its own input size "
                "(the option applies to CTC recognisers)"
            )

    def onnx_module(self) -> tuple[nn.Module, dict[str, str]]:
        """The module `strtool export onnx` exports (images -> logits) and the ONNX
        metadata that decodes its output; `InputError` when the family has none."""
        raise InputError(
            f"a {self.family} checkpoint cannot be exported to ONNX (exportable: CTC "
            "recognisers and the Spotter; a Refiner's Spotter is in its own checkpoint)"
        )

    @torch.inference_mode()
    def read_dataset(
        self, model: nn.Module, ds: Dataset, device: torch.device, batch_size: int,
        workers: int = 0,
    ) -> DatasetReading:  # fmt: skip
        """Read every sample of `ds` in order (its transform: `self.transform` or
        `self.read_transform`)."""
        out = DatasetReading([], [], [], [], 0.0)
        for images, labels, tags in eval_loader(ds, batch_size, workers, ragged=True):
            t0 = time.perf_counter()
            r = self.read_ragged(model, images, device)
            out.seconds += time.perf_counter() - t0
            out.preds += r.texts
            out.confidences += [float(c) for c in r.confidences]
            for name, (texts, _) in r.alternatives.items():
                out.alternatives.setdefault(name, []).extend(texts)
            out.gts += labels
            out.langs += tags
        return out

    def validate(self, model: nn.Module, ds: Dataset, device: torch.device) -> dict[str, Any]:
        """Pooled `wrr`, `wrr_nocase`, `crr`, `ned` of the validation set under
        `eval.profile`, plus `report` (the metrics report dict) and `alternatives`."""
        res = self.read_dataset(model, ds, device, self.cfg.eval.batch_size)
        return scores(res, self.cfg.eval.profile, self.unit, script_acc=False)


def scores(
    res: DatasetReading, profile: str, unit: Unit = "codepoint", script_acc: bool = False
) -> dict[str, Any]:
    """Pooled figures + report dict of a dataset reading (and of its alternatives)."""
    report = score(res.preds, res.gts, langs=res.langs, profile=profile, unit=unit,
                   script_acc=script_acc)  # fmt: skip
    alts = {
        name: score(texts, res.gts, langs=res.langs, profile=profile, unit=unit,
                    script_acc=script_acc).to_dict()
        for name, texts in res.alternatives.items()
    }  # fmt: skip
    return {**pooled(report), "report": report.to_dict(), "alternatives": alts}
