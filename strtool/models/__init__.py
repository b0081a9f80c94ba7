"""Recognition models: pure `nn.Module`s. `REGISTRY` is the one explicit table of
architectures: name -> `Arch(family, builder)`, every builder
`builder(spec: ModelSpec, **options) -> nn.Module` (see `strtool.models.spec`).

The family names the training task (`strtool.tasks`): `ctc` models map images
(N, C, H, W) to logits (N, T, classes); `mclip` is the dual encoder of mSTR stage 1;
`spotter` and `refiner` are mSTR stage 2; `img2seq` models (lines and pages) map images
and teacher-forced tokens to logits (N, L, vocabulary).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from strtool.errors import ConfigError
from strtool.models.blocks import count_parameters
from strtool.models.crnn import crnn, crnn_small, crnn_tiny
from strtool.models.h8 import h8_small, h8_tiny
from strtool.models.img2seq import (
    img2seq_h8,
    img2seq_r18,
    img2seq_r34,
    img2seq_small,
    img2seq_tiny,
)
from strtool.models.mclip import mclip, mclip_tiny
from strtool.models.refiner import refiner, refiner_tiny
from strtool.models.spec import ModelSpec
from strtool.models.spotter import spotter, spotter_tiny
from strtool.models.svtr import svtr_nano, svtr_tiny

Builder = Callable[..., nn.Module]


@dataclass(frozen=True)
class Arch:
    """A registered architecture: its task family, its builder, and the memory format
    its training step is faster in on CPU (`bench/train_speed.py`: channels_last x1.1-1.2
    for the CRNNs, level or slower for SVTR; the engine's default, `train.channels_last`)."""

    family: str
    builder: Builder
    channels_last: bool = True
    #: reads an input of any width as it reads its training width (convolutions,
    #: recurrence, convolutional position encoding: nothing sized to the input), so a
    #: crop wider than the training width can be read at its own width, not squeezed
    any_width: bool = False


REGISTRY: dict[str, Arch] = {
    "crnn": Arch("ctc", crnn, any_width=True),
    "crnn_small": Arch("ctc", crnn_small, any_width=True),
    "crnn_tiny": Arch("ctc", crnn_tiny, any_width=True),
    "svtr_tiny": Arch("ctc", svtr_tiny, channels_last=False),
    "svtr_nano": Arch("ctc", svtr_nano, channels_last=False),
    "h8_small": Arch("ctc", h8_small, any_width=True),
    "h8_tiny": Arch("ctc", h8_tiny, any_width=True),
    "mclip": Arch("mclip", mclip),
    "mclip_tiny": Arch("mclip", mclip_tiny),
    "spotter": Arch("spotter", spotter),
    "spotter_tiny": Arch("spotter", spotter_tiny),
    "refiner": Arch("refiner", refiner),
    "refiner_tiny": Arch("refiner", refiner_tiny),
    "img2seq_tiny": Arch("img2seq", img2seq_tiny),
    "img2seq_small": Arch("img2seq", img2seq_small),
    "img2seq_h8": Arch("img2seq", img2seq_h8),
    "img2seq_r18": Arch("img2seq", img2seq_r18),
    "img2seq_r34": Arch("img2seq", img2seq_r34),
}


def arch_entry(arch: str) -> Arch:
    """The registry entry of `arch`; an unknown name is a `ConfigError` naming the key."""
    try:
        return REGISTRY[arch]
    except KeyError:
        raise ConfigError(
            f"model.arch: unknown architecture '{arch}' (known: {', '.join(REGISTRY)})"
        ) from None


def reads_any_width(arch: str) -> bool:
    """Whether `arch` reads inputs wider than its training width as it reads that
    width (`Arch.any_width`); SVTR's learnt position grid would be stretched."""
    return arch_entry(arch).any_width


def family_of(arch: str) -> str:
    """The task family of `arch` (`ctc`, `mclip`, `spotter`, `refiner`, `img2seq`)."""
    return arch_entry(arch).family


def build_model(arch: str, spec: ModelSpec, **options: Any) -> nn.Module:
    """Build a registered architecture; unknown names or options raise `ConfigError`."""
    entry = arch_entry(arch)
    try:
        return entry.builder(spec, **options)
    except TypeError as e:
        raise ConfigError(f"model.options for '{arch}': {e}") from None


__all__ = ["REGISTRY", "Arch", "ModelSpec", "arch_entry", "build_model", "count_parameters",
           "family_of"]  # fmt: skip
