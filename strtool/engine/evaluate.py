"""Inference and evaluation of CTC recognisers.

`load_recognizer(ckpt)` rebuilds model + tokenizer + transform from a checkpoint
alone; `recognize` runs batches; `evaluate_samples` scores a dataset with the metrics
module (per-language WRR, CRR, 1-NED); `evaluate_checkpoint` is the library side of
`strtool eval --model CKPT --data LMDB...`.
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
    preds: Sequence[str], gts: Sequence[str], langs: Sequence[str] | None, profile: str
) -> dict[str, Any]:
    """Metrics report as a dict (see `strtool.evaluation.metrics.Report.to_dict`)."""
    from strtool.evaluation.metrics import score

    return score(
        list(preds), list(gts), langs=list(langs) if langs else None, profile=profile
    ).to_dict()


def pooled(report: dict[str, Any]) -> dict[str, float]:
    """`wrr`, `crr`, `ned` (1-NED) of the pooled row of a metrics report dict."""
    rows = report.get("rows", [])
    row = next(
        (r for r in rows if str(r.get("name", r.get("group", ""))).lower() in ("all", "pooled")),
        None,
    )
    row = row or (rows[-1] if rows else {})
    out = {}
    for key, names in {
        "wrr": ("wrr", "WRR"),
        "crr": ("crr", "CRR"),
        "ned": ("1-ned", "1-NED", "ned"),
    }.items():
        out[key] = float(next((row[n] for n in names if n in row), 0.0))
    return out


def evaluate_samples(
    rec: Recognizer,
    ds: LmdbDataset,
    batch_size: int = 256,
    workers: int = 0,
    profile: str = "default",
) -> dict[str, Any]:
    """Recognise every sample of `ds`; return the metrics report dict plus
    `ms_per_image` (model + decode time, data loading excluded), `n` and `predictions`."""
    loader = DataLoader(
        ds, batch_size=batch_size, shuffle=False, num_workers=workers, collate_fn=collate
    )
    preds: list[str] = []
    gts: list[str] = []
    langs: list[str] = []
    seconds = 0.0
    for images, labels, tags in loader:
        t0 = time.perf_counter()
        texts, _ = recognize(rec, images)
        seconds += time.perf_counter() - t0
        preds.extend(texts)
        gts.extend(labels)
        langs.extend(tags)
    report = score_predictions(preds, gts, langs, profile)
    report["ms_per_image"] = 1000.0 * seconds / max(len(ds), 1)
    report["n"] = len(ds)
    report["predictions"] = preds
    return report


def evaluate_checkpoint(
    model: str | Path,
    data: Sequence[str | Path],
    langs: Sequence[str] | None = None,
    batch_size: int = 256,
    profile: str = "default",
    device: str = "auto",
    workers: int = 0,
    max_samples: int | None = None,
) -> dict[str, Any]:
    """Evaluate checkpoint `model` on LMDBs `data`: metrics report dict with per-language
    rows, `ms_per_image`, `params`, `arch`, `filtered` (samples removed by reason)."""
    rec = load_recognizer(model, device)
    ds = build_dataset(
        data, rec.transform, langs=langs, unit=rec.config.data.unit, caps=max_samples
    )
    report = evaluate_samples(rec, ds, batch_size, workers, profile)
    report.pop("predictions")
    report.update(params=rec.meta["params"], arch=rec.config.model.arch, checkpoint=str(model))
    report["filtered"] = {k: v for k, v in ds.report.removed.items() if v}
    return report
