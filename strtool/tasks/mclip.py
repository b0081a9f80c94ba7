"""mSTR stage 1: mCLIP, a dual encoder trained on character crops against character
prompts (multi-positive InfoNCE, optional ArcFace and subtype losses). It reads no
words: its product is the prototype bank (`strtool bank export`). Checkpoints store
the text tower's prompt-token vocabulary (`prompt_tokens`), so adding a language to
`strtool.text.langs` never changes the weight shapes of an existing checkpoint."""

from __future__ import annotations

import random
import unicodedata
from functools import lru_cache
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from strtool.engine.config import RunConfig
from strtool.errors import InputError
from strtool.models import ModelSpec, build_model
from strtool.models.mclip import MCLIP, SUBTYPES, default_prompt_tokens
from strtool.mstr.losses import arcface_loss, batch_targets, multi_positive_infonce, subtype_loss
from strtool.tasks.base import Batch, Task, eval_loader
from strtool.text.langs import lang_group
from strtool.text.normalize import Unit


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


def group_or_unknown(lang: str) -> str:
    """The MLT group of a language tag, `?` when it has none."""
    try:
        return lang_group(lang)
    except Exception:  # noqa: BLE001
        return "?"


def build_mclip(cfg: RunConfig, stored: dict[str, Any] | None = None) -> MCLIP:
    """The mCLIP of `cfg` with the prompt tokens of `stored` (a checkpoint; a
    checkpoint written before they were stored used today's defaults)."""
    tokens = tuple((stored or {}).get("prompt_tokens") or default_prompt_tokens())
    m = cfg.model
    spec = ModelSpec(m.channels, (m.height, m.width), prompt_tokens=tokens)
    model = build_model(m.arch, spec, **m.options)
    assert isinstance(model, MCLIP)
    return model


class MclipTask(Task):
    """Stage 1. `model` is an `MCLIP`."""

    family = "mclip"

    def __init__(self, cfg: RunConfig, stored: dict[str, Any] | None = None) -> None:
        super().__init__(cfg, stored)
        self.m = cfg.mstr
        self.mclip = build_mclip(cfg, stored)
        self.model: nn.Module = self.mclip
        self.rng = random.Random(cfg.train.seed)

    @property
    def unit(self) -> Unit:
        return "codepoint"

    def payload(self) -> dict[str, Any]:
        return {**super().payload(), "prompt_tokens": list(self.mclip.vocab.tokens)}

    def onnx_module(self) -> tuple[nn.Module, dict[str, str]]:
        raise InputError(
            "an mclip checkpoint is not exported to ONNX: export its prototype bank with "
            "`strtool bank export`, which the Spotter uses"
        )

    def prompts(self, chars: list[str], langs: list[str]) -> Tensor:
        """Prompt ids of the unique characters; the group token with prob p."""
        items = []
        for ch, lang in zip(chars, langs, strict=True):
            tag = group_or_unknown(lang) if self.rng.random() < self.m.group_token_p else lang
            items.append((ch, tag, subtype_of(ch, lang)))
        return self.mclip.tokenize(items)

    def loss(self, model: nn.Module, batch: Batch, device: torch.device) -> Tensor:
        images, labels, langs = batch
        uniq, target = batch_targets(labels)
        first_lang = {c: lang for c, lang in zip(reversed(labels), reversed(langs), strict=True)}
        ids = self.prompts(uniq, [first_lang[c] for c in uniq]).to(device)
        target = target.to(device)
        img, txt, scale = model(images, ids)
        img, txt = img.float(), txt.float()
        loss = multi_positive_infonce(img, txt, target, scale)
        if self.m.arcface_weight > 0:
            arc = arcface_loss(img, txt, target, self.m.arcface_scale, self.m.arcface_margin)
            loss = loss + self.m.arcface_weight * arc
        if self.m.subtype_weight > 0:
            pairs = zip(labels, langs, strict=True)
            sub = torch.tensor([SUBTYPES.index(subtype_of(c, g)) for c, g in pairs])
            loss = loss + self.m.subtype_weight * subtype_loss(
                self.mclip.subtype_logits(img), sub.to(device)
            )
        return loss

    @torch.inference_mode()
    def validate(self, model: nn.Module, ds: Dataset, device: torch.device) -> dict[str, Any]:
        """Top-1 accuracy of classifying each crop among the validation set's unique
        characters (group-token prompts, as in a default bank); reported as wrr/crr/ned."""
        mc = self.mclip
        embs, labels, langs = [], [], []
        for images, labs, tags in eval_loader(ds, self.cfg.eval.batch_size):
            embs.append(mc.encode_image(images.to(device)).float())
            labels += labs
            langs += tags
        uniq, target = batch_targets(labels)
        first = {c: g for c, g in zip(reversed(labels), reversed(langs), strict=True)}
        items = [(c, group_or_unknown(first[c]), subtype_of(c, first[c])) for c in uniq]
        txt = mc.encode_text(mc.tokenize(items).to(device)).float()
        pred = (torch.cat(embs) @ txt.t()).argmax(1).cpu()
        acc = float((pred == target).float().mean()) if len(pred) else 0.0
        return {"wrr": acc, "crr": acc, "ned": acc, "accuracy": acc, "classes": len(uniq)}
