"""Training tasks of the mSTR stages: what the engine's single loop needs per model
family. A task builds the trainable model, computes the loss of a batch
(`(images, labels, langs)` from `strtool.data.dataset.collate`), validates, and
gives the static checkpoint entries (config, bank, frozen Spotter).

- `MclipTask`: multi-positive InfoNCE (+ optional ArcFace and subtype losses) between
  the character crops of the batch and the prompts of its unique characters.
- `SpotterTask`: CTC over bank similarities; the checkpoint carries the bank.
- `RefinerTask`: cross-entropy of the Refiner with the Spotter frozen (eval mode, no
  gradient); top-k inputs from the real Spotter or from `SpotterSimulator`
  (`mstr.source`, recorded in the run config).
"""

from __future__ import annotations

import random
import unicodedata
from collections import Counter
from functools import lru_cache
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from strtool.data.dataset import collate
from strtool.data.transforms import ResizeNormalize
from strtool.models.mclip import MCLIP_REGISTRY, SUBTYPES, tokenize_prompts
from strtool.mstr import decode as dec
from strtool.mstr.bank import PrototypeBank, load_bank
from strtool.mstr.config import MstrRunConfig, mstr_config_to_dict
from strtool.mstr.infer import MstrModel, build_spotter, load_mstr_payload, refine_batch
from strtool.mstr.losses import (
    arcface_loss,
    bank_ctc_loss,
    batch_targets,
    multi_positive_infonce,
    subtype_loss,
)
from strtool.mstr.simulate import SpotterSimulator
from strtool.text.langs import lang_group

Batch = tuple[Tensor, list[str], list[str]]


@lru_cache(maxsize=4096)
def subtype_of(char: str, lang: str) -> str:
    """Subtype of a character: its category in the language's charset, else from the
    Unicode general category (M* diacritic, Nd digit, P* punctuation, L* letter)."""
    try:
        from strtool.text.charset import load_charset

        cat = load_charset(lang).category_of(char)
        if cat:
            return {"letters": "letter", "diacritics": "diacritic", "digits": "digit"}.get(cat, cat)
    except Exception:  # noqa: BLE001 - unknown language: fall back to Unicode
        pass
    gc = unicodedata.category(char[0]) if char else "Cn"
    return {"M": "diacritic", "N": "digit", "P": "punctuation", "L": "letter"}.get(gc[0], "common")


def _group_or_unknown(lang: str) -> str:
    try:
        return lang_group(lang)
    except Exception:  # noqa: BLE001
        return "?"


def _loader(ds: Dataset, batch_size: int) -> DataLoader:
    return DataLoader(ds, batch_size=batch_size, shuffle=False, collate_fn=collate)


class MclipTask:
    """Stage 1. `model` is an `MCLIP`."""

    stage = "mclip"

    def __init__(self, cfg: MstrRunConfig) -> None:
        m = cfg.model
        self.cfg, self.m = cfg, cfg.mstr
        self.model: nn.Module = MCLIP_REGISTRY[m.arch](m.channels, **m.options)
        self.unknown: Counter[str] = Counter()
        self.rng = random.Random(cfg.train.seed)

    def static_payload(self) -> dict[str, Any]:
        return {}

    def prompts(self, chars: list[str], langs: list[str]) -> Tensor:
        """Prompt ids of the unique characters; the group token with prob p."""
        items = []
        for ch, lang in zip(chars, langs, strict=True):
            tag = _group_or_unknown(lang) if self.rng.random() < self.m.group_token_p else lang
            items.append((ch, tag, subtype_of(ch, lang)))
        return tokenize_prompts(items)

    def loss(self, model: nn.Module, batch: Batch, device: torch.device) -> Tensor:
        images, labels, langs = batch
        uniq, target = batch_targets(labels)
        first_lang = {c: lang for c, lang in zip(reversed(labels), reversed(langs), strict=True)}
        ids = self.prompts(uniq, [first_lang[c] for c in uniq]).to(device)
        target = target.to(device)
        img, txt, scale = model(images.to(device), ids)
        img, txt = img.float(), txt.float()
        loss = multi_positive_infonce(img, txt, target, scale)
        if self.m.arcface_weight > 0:
            arc = arcface_loss(img, txt, target, self.m.arcface_scale, self.m.arcface_margin)
            loss = loss + self.m.arcface_weight * arc
        if self.m.subtype_weight > 0:
            pairs = zip(labels, langs, strict=True)
            sub = torch.tensor([SUBTYPES.index(subtype_of(c, g)) for c, g in pairs])
            head = self.model.subtype_logits  # type: ignore[attr-defined]
            loss = loss + self.m.subtype_weight * subtype_loss(head(img), sub.to(device))
        return loss

    @torch.inference_mode()
    def validate(self, model: nn.Module, ds: Any, device: torch.device) -> dict[str, Any]:
        """Top-1 accuracy of classifying each crop among the validation set's unique
        characters (group-token prompts, as in a default bank); reported as wrr/crr/ned."""
        embs, labels, langs = [], [], []
        for images, labs, tags in _loader(ds, self.cfg.eval.batch_size):
            embs.append(model.encode_image(images.to(device)).float())  # type: ignore[operator]
            labels += labs
            langs += tags
        uniq, target = batch_targets(labels)
        first = {c: g for c, g in zip(reversed(labels), reversed(langs), strict=True)}
        items = [(c, _group_or_unknown(first[c]), subtype_of(c, first[c])) for c in uniq]
        txt = model.encode_text(tokenize_prompts(items).to(device)).float()  # type: ignore[operator]
        pred = (torch.cat(embs) @ txt.t()).argmax(1).cpu()
        acc = float((pred == target).float().mean()) if len(pred) else 0.0
        return {"wrr": acc, "crr": acc, "ned": acc, "accuracy": acc, "classes": len(uniq)}


class SpotterTask:
    """Stage 2a. `model` is a `Spotter` holding the bank of `mstr.bank`."""

    stage = "spotter"

    def __init__(self, cfg: MstrRunConfig, bank: PrototypeBank | None = None) -> None:
        self.cfg = cfg
        self.bank = bank or load_bank(str(cfg.mstr.bank))
        self.model: nn.Module = build_spotter(cfg, self.bank)
        self.unknown: Counter[str] = Counter()

    def static_payload(self) -> dict[str, Any]:
        return {"bank": self.bank.to_payload(), "charset": self.bank.chars}

    def loss(self, model: nn.Module, batch: Batch, device: torch.device) -> Tensor:
        images, labels, langs = batch
        rows, unknown = dec.label_rows(self.bank, labels, langs)
        self.unknown.update(unknown)
        targets, lengths = dec.ctc_targets(rows)
        return bank_ctc_loss(model(images.to(device)), targets, lengths)

    def validate(self, model: nn.Module, ds: Any, device: torch.device) -> dict[str, Any]:
        mm = MstrModel(model, None, self.bank, _transform(self.cfg), self.cfg, device)  # type: ignore[arg-type]
        return evaluate_dataset(mm, ds, self.cfg.eval.batch_size, self.cfg.eval.profile, "spotter")


class RefinerTask:
    """Stage 2b. `model` is a `Refiner`; the Spotter of `mstr.spotter` is frozen."""

    stage = "refiner"

    def __init__(self, cfg: MstrRunConfig) -> None:
        payload = load_mstr_payload(str(cfg.mstr.spotter), expect="spotter")
        self.spotter_payload = payload
        self.bank = PrototypeBank.from_payload(payload["bank"])
        spot_cfg = payload["config"]["model"]
        for key in ("channels", "height", "width", "keep_ratio"):  # the Spotter's geometry
            setattr(cfg.model, key, spot_cfg[key])
        self.cfg, self.m = cfg, cfg.mstr
        self.spotter = _frozen_spotter(payload, self.bank)
        from strtool.models.refiner import REFINER_REGISTRY

        self.model: nn.Module = REFINER_REGISTRY[cfg.model.arch](
            self.bank.embeddings, self.spotter.level_channels,
            **{"topk": self.m.topk, "max_len": cfg.data.max_len, **cfg.model.options},
        )  # fmt: skip
        self.topk = self.model.topk  # type: ignore[assignment]
        gen = torch.Generator().manual_seed(cfg.train.seed)
        self.sim = SpotterSimulator(
            self.bank.embeddings, self.m.sim_sub, self.m.sim_ins, self.m.sim_del,
            self.m.sim_neighbours, gen,
        )  # fmt: skip
        self.unknown: Counter[str] = Counter()

    def static_payload(self) -> dict[str, Any]:
        sp = self.spotter_payload
        spotter = {"model": sp["model"], "config": sp["config"], "arch": sp["arch"]}
        return {"bank": sp["bank"], "charset": self.bank.chars, "spotter": spotter}

    def loss(self, model: nn.Module, batch: Batch, device: torch.device) -> Tensor:
        images, labels, langs = batch
        self.spotter.to(device)
        rows, unknown = dec.label_rows(self.bank, labels, langs)
        self.unknown.update(unknown)
        with torch.no_grad():
            out = self.spotter.features(images.to(device))
        if self.m.source == "simulate":
            idx, prob = self.sim.simulate(rows, out.logits.shape[1], self.topk)
            idx, prob = idx.to(device), prob.to(device)
        else:
            idx, prob = dec.topk(out.logits, self.topk)
        tgt_in, tgt = dec.refiner_io(rows, self.cfg.data.max_len)
        logits = model(idx, prob, [f.detach() for f in out.levels], tgt_in.to(device))
        return F.cross_entropy(logits.float().flatten(0, 1), tgt.to(device).flatten())

    def validate(self, model: nn.Module, ds: Any, device: torch.device) -> dict[str, Any]:
        mm = MstrModel(self.spotter.to(device), model, self.bank, _transform(self.cfg),  # type: ignore[arg-type]
                       self.cfg, device)  # fmt: skip
        return evaluate_dataset(mm, ds, self.cfg.eval.batch_size, self.cfg.eval.profile, "refined")


def _frozen_spotter(payload: dict[str, Any], bank: PrototypeBank) -> nn.Module:
    from strtool.mstr.config import mstr_config_from_dict

    spotter = build_spotter(mstr_config_from_dict(payload["config"]), bank)
    spotter.load_state_dict(payload["model"])
    for p in spotter.parameters():
        p.requires_grad_(False)
    return spotter.eval()


def _transform(cfg: MstrRunConfig) -> ResizeNormalize:
    m = cfg.model
    return ResizeNormalize(m.height, m.width, m.channels, keep_ratio=m.keep_ratio)


def evaluate_dataset(
    mm: MstrModel, ds: Any, batch_size: int, profile: str, key: str
) -> dict[str, Any]:
    """Score `ds` with Spotter alone and (if present) Spotter + Refiner; the pooled
    wrr/crr/ned of `key` ("spotter" or "refined") are lifted to the top level."""
    from strtool.engine.evaluate import pooled
    from strtool.evaluation.metrics import score

    preds: dict[str, list[str]] = {"spotter": [], "refined": []}
    labels: list[str] = []
    langs: list[str] = []
    for images, labs, tags in _loader(ds, batch_size):
        out = refine_batch(mm, images)
        for k in preds:
            preds[k].extend(out.get(k, []))
        labels += labs
        langs += tags
    report: dict[str, Any] = {}
    for k, texts in preds.items():
        if texts:
            rep = score(texts, labels, langs=langs, profile=profile, script_acc=True).to_dict()
            rep["script"] = dec.script_accuracy(texts, langs)
            report[k] = rep
    top = pooled(report[key] if key in report else report["spotter"])
    return {**top, "report": report}


def build_task(cfg: MstrRunConfig) -> MclipTask | SpotterTask | RefinerTask:
    return {"mclip": MclipTask, "spotter": SpotterTask, "refiner": RefinerTask}[cfg.stage](cfg)


__all__ = ["MclipTask", "RefinerTask", "SpotterTask", "build_task", "mstr_config_to_dict"]
