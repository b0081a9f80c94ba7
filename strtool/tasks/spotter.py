"""mSTR stage 2a: the Spotter, CTC over cosine similarities with a frozen prototype
bank (from `strtool bank export`). Checkpoints carry the bank.

Like every CTC model, the Spotter meets a right-to-left line in the order the image
shows it, so with `data.ctc_order: visual` (the default) its targets are the labels in
visual order (`strtool.text.bidi.display_order`) and its readings are turned back into
logical order (`read_spotter`); Spotters written before the setting existed
(`ctc_order: logical` once loaded) keep their order. The Refiner's own targets stay
in logical order: it is an autoregressive decoder and writes text as stored."""

from __future__ import annotations

import json
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from strtool.engine.config import RunConfig
from strtool.errors import ConfigError
from strtool.models import ModelSpec, build_model
from strtool.mstr import decode as dec
from strtool.mstr.bank import PrototypeBank, load_bank
from strtool.mstr.losses import bank_ctc_loss
from strtool.tasks.base import Batch, Reading, Task, scores
from strtool.text.bidi import frame_order
from strtool.text.langs import resolve_langs
from strtool.text.normalize import Unit


def check_bank_langs(bank_langs: list[str], data_langs: list[str]) -> None:
    """`ConfigError` naming `data.langs` if a selected language (code or group) has no
    rows in the bank: its samples would all be dropped as unknown characters."""
    if not data_langs:
        return
    missing = [x for x in resolve_langs(data_langs) if x not in bank_langs]
    if missing:
        raise ConfigError(
            f"data.langs: {', '.join(missing)} not in the bank (bank languages: "
            f"{', '.join(bank_langs) or 'none'}); extend it with `strtool bank export --extend`"
        )


def build_spotter(cfg: RunConfig, bank: PrototypeBank) -> nn.Module:
    """A Spotter of `cfg.model` over `bank` (weights freshly initialised)."""
    m = cfg.model
    spec = ModelSpec(m.channels, (m.height, m.width), bank=bank.embeddings)
    return build_model(m.arch, spec, **m.options)


def read_spotter(
    bank: PrototypeBank, logits: Tensor, order: str = "logical"
) -> tuple[list[str], list[float]]:
    """Greedy CTC texts (logical order) and confidences of Spotter logits (N, T, 1 + K)
    of a Spotter trained with targets in `order`."""
    rows, conf = dec.ctc_greedy(logits.cpu())
    return [frame_order(dec.rows_to_text(bank, r), order) for r in rows], conf


class BankTask(Task):
    """What the stage-2 tasks share: classes are the rows of a prototype bank
    (`self.bank`), labels are code points, validation scores script accuracy too."""

    default_profile = "mstr"
    bank: PrototypeBank

    @property
    def label_chars(self) -> list[str]:
        return self.bank.chars

    @property
    def unit(self) -> Unit:
        return "codepoint"

    def validate(self, model: nn.Module, ds: Dataset, device: torch.device) -> dict[str, Any]:
        res = self.read_dataset(model, ds, device, self.cfg.eval.batch_size)
        return scores(res, self.cfg.eval.profile, "codepoint", script_acc=True)


class SpotterTask(BankTask):
    """Stage 2a. `model` is a `Spotter` holding the bank of `mstr.bank`."""

    family = "spotter"

    def __init__(self, cfg: RunConfig, stored: dict[str, Any] | None = None) -> None:
        super().__init__(cfg, stored)
        if stored is not None:
            self.bank = PrototypeBank.from_payload(stored["bank"])
        else:
            self.bank = load_bank(str(cfg.mstr.bank))
            check_bank_langs(self.bank.meta.get("langs", []), cfg.data.langs)
        self.model: nn.Module = build_spotter(cfg, self.bank)
        self.order = cfg.data.ctc_order  # logical for Spotters from before the setting

    def payload(self) -> dict[str, Any]:
        return {**super().payload(), "bank": self.bank.to_payload(), "charset": self.bank.chars}

    def loss(self, model: nn.Module, batch: Batch, device: torch.device) -> Tensor:
        images, labels, langs = batch
        seen = [frame_order(x, self.order) for x in labels]
        rows, unknown = dec.label_rows(self.bank, seen, langs)
        self.unknown.update(unknown)
        targets, lengths = dec.ctc_targets(rows)
        return bank_ctc_loss(model(images), targets, lengths)

    def read(self, model: nn.Module, images: Tensor) -> Reading:
        return Reading(*read_spotter(self.bank, model(images), self.order))

    def onnx_module(self) -> tuple[nn.Module, dict[str, str]]:
        """Images -> logits (N, T, 1 + K): class 0 is the CTC blank, class 1 + r the bank
        row r whose character is `strtool_bank_rows[r]` (greedy CTC decodes it)."""
        rows = json.dumps(self.bank.chars, ensure_ascii=False)
        return self.model, {"strtool_bank_rows": rows, "strtool_decoder": "ctc-bank",
                            "strtool_ctc_order": self.order}  # fmt: skip
