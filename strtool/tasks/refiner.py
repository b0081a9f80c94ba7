"""mSTR stage 2b: the Refiner, an attention decoder over the frozen Spotter's top-k
classes and visual features. Checkpoints carry the Spotter and its bank."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from strtool.engine.checkpoint import checkpoint_family, load_checkpoint
from strtool.engine.config import RunConfig, config_from_dict
from strtool.errors import InputError
from strtool.models import ModelSpec, build_model
from strtool.models.refiner import Refiner
from strtool.models.spotter import Spotter
from strtool.mstr import decode as dec
from strtool.mstr.bank import PrototypeBank
from strtool.mstr.simulate import SpotterSimulator
from strtool.tasks.base import Batch, Reading
from strtool.tasks.spotter import BankTask, build_spotter, read_spotter
from strtool.text.bidi import frame_order


def load_spotter_payload(path: str) -> dict[str, Any]:
    """A Spotter checkpoint, or `InputError` naming what the file is instead."""
    ckpt = load_checkpoint(path)
    family = checkpoint_family(ckpt)
    if family != "spotter":
        raise InputError(f"{path}: not a spotter checkpoint (family: {family})")
    return ckpt


def frozen_spotter(payload: dict[str, Any], bank: PrototypeBank) -> Spotter:
    """The Spotter of a checkpoint payload, frozen (eval mode, no gradients)."""
    spotter = build_spotter(config_from_dict(payload["config"]), bank)
    spotter.load_state_dict(payload["model"])
    for p in spotter.parameters():
        p.requires_grad_(False)
    assert isinstance(spotter, Spotter)
    return spotter.eval()


class RefinerTask(BankTask):
    """Stage 2b. `model` is a `Refiner`; the Spotter of `mstr.spotter` is frozen."""

    family = "refiner"

    def __init__(self, cfg: RunConfig, stored: dict[str, Any] | None = None) -> None:
        super().__init__(cfg, stored)
        if stored is not None:
            sp = dict(stored["spotter"])
            sp["bank"] = stored["bank"]
        else:
            sp = load_spotter_payload(str(cfg.mstr.spotter))
        self.spotter_payload = sp
        self.bank = PrototypeBank.from_payload(sp["bank"])
        spot_cfg = sp["config"]["model"]
        for key in ("channels", "height", "width", "keep_ratio"):  # the Spotter's geometry
            setattr(cfg.model, key, spot_cfg[key])
        self.m = cfg.mstr
        self.spotter = frozen_spotter(sp, self.bank)
        # the order of the Spotter's frames (its readings and the simulator's input)
        self.spotter_order = config_from_dict(sp["config"]).data.ctc_order
        spec = ModelSpec(bank=self.bank.embeddings, level_channels=self.spotter.level_channels,
                         max_len=cfg.data.max_len)  # fmt: skip
        model = build_model(cfg.model.arch, spec, **{"topk": self.m.topk, **cfg.model.options})
        assert isinstance(model, Refiner)
        self.refiner = model
        self.model: nn.Module = model
        gen = torch.Generator().manual_seed(cfg.train.seed)
        self.sim = SpotterSimulator(
            self.bank.embeddings, self.m.sim_sub, self.m.sim_ins, self.m.sim_del,
            self.m.sim_neighbours, gen,
        )  # fmt: skip

    def payload(self) -> dict[str, Any]:
        sp = self.spotter_payload
        spotter = {"model": sp["model"], "config": sp["config"], "arch": sp["arch"]}
        return {**super().payload(), "bank": sp["bank"], "charset": self.bank.chars,
                "spotter": spotter}  # fmt: skip

    def loss(self, model: nn.Module, batch: Batch, device: torch.device) -> Tensor:
        images, labels, langs = batch
        idx, prob, levels, tgt_in, tgt = self.inputs(images, labels, langs, device)
        logits = model(idx, prob, levels, tgt_in)
        return F.cross_entropy(logits.float().flatten(0, 1), tgt.flatten())

    def inputs(
        self, images: Tensor, labels: Sequence[str], langs: Sequence[str | None],
        device: torch.device,
    ) -> tuple[Tensor, Tensor, list[Tensor], Tensor, Tensor]:  # fmt: skip
        """What the Refiner learns a labeled batch from: the Spotter's top-k classes and
        probabilities (real, or simulated from the labels with `mstr.source:
        simulate`), its visual levels, and the teacher-forcing input and target rows
        of the labels (`mstr.decode.refiner_io`; unknown characters counted)."""
        rows, unknown = dec.label_rows(self.bank, labels, langs)
        self.unknown.update(unknown)
        idx, prob, levels = self.spotter_view(images)
        if self.m.source == "simulate":  # the Spotter's output: its rows in frame order
            shown = [frame_order(x, self.spotter_order) for x in labels]
            seen, _ = dec.label_rows(self.bank, shown, langs)
            idx, prob = self.sim.simulate(seen, idx.shape[1], self.refiner.topk)
            idx, prob = idx.to(device), prob.to(device)
        tgt_in, tgt = dec.refiner_io(rows, self.cfg.data.max_len)
        return idx, prob, levels, tgt_in.to(device), tgt.to(device)

    def spotter_view(self, images: Tensor) -> tuple[Tensor, Tensor, list[Tensor]]:
        """The frozen Spotter's top-k classes, their probabilities and its visual
        levels for a batch of images (no gradients)."""
        self.spotter.to(images.device)
        with torch.no_grad():
            out = self.spotter.features(images)
        idx, prob = dec.topk(out.logits, self.refiner.topk)
        return idx, prob, [f.detach() for f in out.levels]

    def read(self, model: nn.Module, images: Tensor) -> Reading:
        """Spotter + Refiner texts; the Spotter's own reading as alternative `spotter`."""
        self.spotter.to(images.device)
        out = self.spotter.features(images)
        spot = read_spotter(self.bank, out.logits, self.spotter_order)
        idx, prob = dec.topk(out.logits, self.refiner.topk)
        assert isinstance(model, Refiner)
        rows, conf = model.generate(idx, prob, out.levels)
        texts = [dec.rows_to_text(self.bank, r) for r in rows]
        return Reading(texts, [float(c) for c in conf], {"spotter": spot})
