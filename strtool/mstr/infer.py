"""Inference with mSTR checkpoints: a Spotter checkpoint (carries its bank) or a Refiner
checkpoint (carries the bank and the frozen Spotter it was trained on).

`load_mstr(path)` -> `MstrModel`; `refine_batch(mm, images)` -> texts of the Spotter
alone and of Spotter + Refiner; `evaluate_mstr` scores LMDBs (per-language WRR/CRR for
both, and script detection accuracy); `is_mstr_checkpoint` lets `strtool eval/predict`
route a checkpoint here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from strtool.data.transforms import ResizeNormalize
from strtool.engine.checkpoint import load_checkpoint
from strtool.engine.distributed import pick_device
from strtool.errors import InputError
from strtool.mstr import decode as dec
from strtool.mstr.bank import PrototypeBank
from strtool.mstr.config import MstrRunConfig, mstr_config_from_dict

MSTR_STAGES = ("mclip", "spotter", "refiner")


@dataclass
class MstrModel:
    """Spotter (eval), optional Refiner (eval), bank, transform, config, device."""

    spotter: nn.Module
    refiner: nn.Module | None
    bank: PrototypeBank
    transform: ResizeNormalize
    config: MstrRunConfig
    device: torch.device


def build_spotter(cfg: MstrRunConfig, bank: PrototypeBank) -> nn.Module:
    """A Spotter of `cfg.model` over `bank` (weights freshly initialised)."""
    from strtool.models.spotter import SPOTTER_REGISTRY

    m = cfg.model
    arch = m.arch if m.arch in SPOTTER_REGISTRY else "spotter"
    return SPOTTER_REGISTRY[arch](bank.embeddings, m.channels, (m.height, m.width), **m.options)


def is_mstr_checkpoint(ckpt: dict[str, Any]) -> bool:
    return ckpt.get("task") in MSTR_STAGES


def load_mstr_payload(path: str | Path, expect: str | None = None) -> dict[str, Any]:
    """The checkpoint dict; `InputError` if it is not an mSTR checkpoint (of `expect`)."""
    ckpt = load_checkpoint(path)
    task = ckpt.get("task")
    if task not in MSTR_STAGES or (expect is not None and task != expect):
        want = expect or "an mSTR"
        raise InputError(f"{path}: not {want} checkpoint (task: {task or 'ctc'})")
    return ckpt


def load_mstr(path: str | Path, device: str = "auto") -> MstrModel:
    """Spotter or Spotter + Refiner from one checkpoint (needs nothing else)."""
    ckpt = load_mstr_payload(path)
    if ckpt["task"] == "mclip":
        raise InputError(f"{path}: an mCLIP checkpoint reads no words (export a bank instead)")
    cfg = mstr_config_from_dict(ckpt["config"])
    bank = PrototypeBank.from_payload(ckpt["bank"])
    dev = pick_device(device)
    refiner = None
    if ckpt["task"] == "spotter":
        spotter = build_spotter(cfg, bank)
        spotter.load_state_dict(ckpt["model"])
    else:
        sp = ckpt["spotter"]
        spotter = build_spotter(mstr_config_from_dict(sp["config"]), bank)
        spotter.load_state_dict(sp["model"])
        from strtool.models.refiner import REFINER_REGISTRY

        opts = {"max_len": cfg.data.max_len, "topk": cfg.mstr.topk, **cfg.model.options}
        refiner = REFINER_REGISTRY[cfg.model.arch](bank.embeddings, spotter.level_channels, **opts)
        refiner.load_state_dict(ckpt["model"])
        refiner.to(dev).eval()
    spotter.to(dev).eval()
    m = cfg.model
    tf = ResizeNormalize(m.height, m.width, m.channels, keep_ratio=m.keep_ratio)
    return MstrModel(spotter, refiner, bank, tf, cfg, dev)


@torch.inference_mode()
def refine_batch(mm: MstrModel, images: Tensor) -> dict[str, list[Any]]:
    """`spotter` texts + confidences, and `refined` ones when a Refiner is present."""
    out = mm.spotter.features(images.to(mm.device))  # type: ignore[operator]
    rows, conf = dec.ctc_greedy(out.logits.cpu())
    res: dict[str, list[Any]] = {
        "spotter": [dec.rows_to_text(mm.bank, r) for r in rows],
        "spotter_conf": conf,
    }
    if mm.refiner is not None:
        idx, prob = dec.topk(out.logits, mm.refiner.topk)  # type: ignore[arg-type]
        rrows, rconf = mm.refiner.generate(idx, prob, out.levels)  # type: ignore[operator]
        res["refined"] = [dec.rows_to_text(mm.bank, r) for r in rrows]
        res["refined_conf"] = rconf
    return res


def evaluate_mstr(
    model: str | Path,
    data: Sequence[str | Path],
    langs: Sequence[str] | None = None,
    batch_size: int = 128,
    profile: str = "mstr",
    device: str = "auto",
    max_samples: int | None = None,
) -> dict[str, Any]:
    """Per-language WRR/CRR of the Spotter alone and of Spotter + Refiner (Refiner
    checkpoints), script detection accuracy of each, images/s, bank size."""
    import time

    from strtool.engine.data import build_dataset
    from strtool.mstr.tasks import evaluate_dataset

    mm = load_mstr(model, device)
    ds = build_dataset(data, mm.transform, langs=langs, caps=max_samples)
    key = "refined" if mm.refiner is not None else "spotter"
    t0 = time.perf_counter()
    res = evaluate_dataset(mm, ds, batch_size, profile, key)
    seconds = time.perf_counter() - t0
    report = res["report"]
    report.update(
        n=len(ds), img_s=len(ds) / max(seconds, 1e-9), checkpoint=str(model), profile=profile,
        bank_rows=len(mm.bank), stage="refiner" if mm.refiner is not None else "spotter",
        filtered=dict(ds.report.removed),
    )  # fmt: skip
    return report


def predict_images(mm: MstrModel, images: Sequence[bytes], batch_size: int = 64) -> list[dict]:
    """Read encoded images: per image `spotter`, `spotter_conf` (+ `refined`,
    `refined_conf`)."""
    out: list[dict[str, Any]] = []
    for i in range(0, len(images), batch_size):
        batch = torch.stack([mm.transform(b) for b in images[i : i + batch_size]])
        res = refine_batch(mm, batch)
        for j in range(len(batch)):
            out.append({k: v[j] for k, v in res.items()})
    return out
