"""Inference and evaluation of CTC recognisers.

`load_recognizer(ckpt)` rebuilds model + tokenizer + transform from a checkpoint
alone; `recognize` runs batches; `recognize_dataset` reads a whole dataset;
`evaluate_samples` scores it with the metrics module (per-language WRR, CRR, 1-NED)
for validation; `evaluate_model` is the library side of
`strtool eval --model CKPT --data LMDB...` (a `CheckpointEvaluation` holding the
metrics `Report`), `evaluate_checkpoint` its dict form.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from strtool.data.dataset import LmdbDataset, collate
from strtool.data.transforms import ResizeNormalize
from strtool.engine.checkpoint import load_checkpoint
from strtool.engine.config import RunConfig, config_from_dict
from strtool.engine.data import build_dataset
from strtool.engine.distributed import pick_device
from strtool.evaluation.report import POOLED, Report
from strtool.models import build_model, count_parameters


@dataclass
class Recognizer:
    """Everything needed to read text: model (eval mode), tokenizer, transform."""

    model: nn.Module
    tokenizer: Any  # strtool.text.tokenizer.CTCTokenizer
    transform: ResizeNormalize
    config: RunConfig
    device: torch.device
    meta: dict[str, Any] = field(default_factory=dict)


def make_tokenizer(chars: Sequence[str], unit: str, unk: bool) -> Any:
    """A CTC tokenizer (blank = 0, chars = 1..N, optional UNK last)."""
    from strtool.text.tokenizer import CTCTokenizer

    return CTCTokenizer(list(chars), unit=unit, unk=unk)


def tokenizer_from_dict(d: dict[str, Any]) -> Any:
    from strtool.text.tokenizer import CTCTokenizer

    return CTCTokenizer.from_dict(d)


def make_transform(cfg: RunConfig) -> ResizeNormalize:
    m = cfg.model
    return ResizeNormalize(m.height, m.width, m.channels, keep_ratio=m.keep_ratio)


def model_from_config(cfg: RunConfig, num_classes: int) -> nn.Module:
    m = cfg.model
    return build_model(m.arch, num_classes, m.channels, (m.height, m.width), **m.options)


def load_recognizer(path: str | Path, device: str = "auto") -> Recognizer:
    """Model + tokenizer + transform from a checkpoint file (nothing else needed)."""
    ckpt = load_checkpoint(path)
    cfg = config_from_dict(ckpt["config"])
    tok = tokenizer_from_dict(ckpt["tokenizer"])
    model = model_from_config(cfg, tok.num_classes)
    model.load_state_dict(ckpt["model"])
    dev = pick_device(device)
    model.to(dev).eval()
    meta = {k: ckpt.get(k) for k in ("arch", "step", "versions", "best")}
    meta["params"] = count_parameters(model)
    return Recognizer(model, tok, make_transform(cfg), cfg, dev, meta)


@torch.inference_mode()
def recognize(rec: Recognizer, images: torch.Tensor) -> tuple[list[str], list[float]]:
    """Texts and confidences of a batch `(N, C, H, W)` of transformed images."""
    logits = rec.model(images.to(rec.device, non_blocking=True))
    return rec.tokenizer.decode(logits.float().cpu())


def score_predictions(
    preds: Sequence[str],
    gts: Sequence[str],
    langs: Sequence[str] | None,
    profile: str,
    unit: str = "codepoint",
    script_acc: bool = False,
) -> Report:
    """The metrics `Report` (per-language rows, then `pooled` and `macro`)."""
    from strtool.evaluation.metrics import score

    return score(
        list(preds), list(gts), langs=list(langs) if langs else None, profile=profile,
        unit=unit, script_acc=script_acc,  # type: ignore[arg-type]
    )  # fmt: skip


def pooled(report: dict[str, Any] | Report) -> dict[str, float]:
    """`wrr`, `wrr_ci`, `crr`, `ned` (1-NED) of the pooled row of a metrics report
    (a `Report` or its `to_dict()` form)."""
    if isinstance(report, Report):
        row = report.pooled.to_dict()
    else:
        row = next(r for r in report["rows"] if r["group"] == POOLED)
    return {"wrr": row["wrr"], "wrr_ci": row["wrr_ci"], "crr": row["crr"], "ned": row["1-ned"]}


@dataclass
class DatasetPredictions:
    """Predictions over a dataset, in dataset order. `seconds`: model forward +
    decode time only (data loading excluded)."""

    preds: list[str]
    confidences: list[float]
    gts: list[str]
    langs: list[str]
    seconds: float

    @property
    def ms_per_image(self) -> float:
        return 1000.0 * self.seconds / max(len(self.preds), 1)


def recognize_dataset(
    rec: Recognizer, ds: LmdbDataset, batch_size: int = 256, workers: int = 0
) -> DatasetPredictions:
    """Recognise every sample of `ds` (a dataset with `rec.transform`) in order."""
    loader = DataLoader(
        ds, batch_size=batch_size, shuffle=False, num_workers=workers, collate_fn=collate
    )
    out = DatasetPredictions([], [], [], [], 0.0)
    for images, labels, tags in loader:
        t0 = time.perf_counter()
        texts, confs = recognize(rec, images)
        out.seconds += time.perf_counter() - t0
        out.preds.extend(texts)
        out.confidences.extend(float(c) for c in confs)
        out.gts.extend(labels)
        out.langs.extend(tags)
    return out


def evaluate_samples(
    rec: Recognizer,
    ds: LmdbDataset,
    batch_size: int = 256,
    workers: int = 0,
    profile: str = "default",
    unit: str = "codepoint",
) -> dict[str, Any]:
    """Recognise every sample of `ds`; return the metrics report dict
    (`Report.to_dict()`) plus `ms_per_image` (model + decode time, data loading
    excluded) and `predictions`."""
    res = recognize_dataset(rec, ds, batch_size, workers)
    report = score_predictions(res.preds, res.gts, res.langs, profile, unit).to_dict()
    report["ms_per_image"] = res.ms_per_image
    report["predictions"] = res.preds
    return report


@dataclass
class CheckpointEvaluation:
    """What `evaluate_checkpoint` measured. `filtered`: samples removed from the data
    by reason (language filter, caps); `predictions` in dataset order."""

    report: Report
    ms_per_image: float
    params: int
    arch: str
    checkpoint: str
    device: str
    filtered: dict[str, int]
    predictions: DatasetPredictions = field(repr=False)

    @property
    def n(self) -> int:
        return self.report.pooled.n

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: `Report.to_dict()` plus the run figures (no predictions)."""
        return {
            **self.report.to_dict(), "ms_per_image": self.ms_per_image, "params": self.params,
            "arch": self.arch, "checkpoint": self.checkpoint, "device": self.device,
            "filtered": self.filtered,
        }  # fmt: skip


def evaluate_model(
    model: str | Path,
    data: Sequence[str | Path],
    langs: Sequence[str] | None = None,
    batch_size: int = 256,
    profile: str = "default",
    device: str = "auto",
    workers: int = 0,
    max_samples: int | None = None,
    unit: str = "codepoint",
    script_acc: bool = False,
) -> CheckpointEvaluation:
    """Evaluate checkpoint `model` on LMDBs `data` (optionally only `langs`, at most
    `max_samples` per language): per-language WRR, WRR-ci, CRR, 1-NED under metric
    `profile` counting `unit`s (and script detection accuracy with `script_acc`),
    ms per image (model + decode), parameters, and the predictions. The library side
    of `strtool eval --model CKPT --data LMDB...`."""
    rec = load_recognizer(model, device)
    ds = build_dataset(
        data, rec.transform, langs=langs, unit=rec.config.data.unit, caps=max_samples
    )
    res = recognize_dataset(rec, ds, batch_size, workers)
    return CheckpointEvaluation(
        report=score_predictions(res.preds, res.gts, res.langs, profile, unit, script_acc),
        ms_per_image=res.ms_per_image, params=rec.meta["params"], arch=rec.config.model.arch,
        checkpoint=str(model), device=str(rec.device),
        filtered={k: v for k, v in ds.report.removed.items() if v}, predictions=res,
    )  # fmt: skip


def evaluate_checkpoint(
    model: str | Path,
    data: Sequence[str | Path],
    langs: Sequence[str] | None = None,
    batch_size: int = 256,
    profile: str = "default",
    device: str = "auto",
    workers: int = 0,
    max_samples: int | None = None,
    unit: str = "codepoint",
) -> dict[str, Any]:
    """`evaluate_model(...).to_dict()`: the report dict (`rows`, `n`, ...) with
    `ms_per_image`, `params`, `arch`, `checkpoint`, `device`, `filtered`."""
    return evaluate_model(
        model, data, langs, batch_size, profile, device, workers, max_samples, unit
    ).to_dict()
