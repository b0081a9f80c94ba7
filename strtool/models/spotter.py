"""Spotter (stage 2a of mSTR): a word image -> a sequence of character embeddings,
classified by cosine similarity against the frozen prototype bank.

Encoder (shapes for a 3 x 32 x 128 input, T = W / 4 = 32 steps):
- stage 1: ConvBN-ReLU 3x3 (C -> w0) + ConvBN-ReLU 3x3 stride 2 -> w0 x 16 x 64;
- stage 2: ResNet BasicBlock stride 2 -> w1 x 8 x 32;
- stage 3: BasicBlock stride (2, 1) -> w2 x 4 x 32;
- mean over height -> (N, 32, w2) -> Linear -> width d + learned positions ->
  pre-norm Transformer encoder (`layers` x `heads`) -> Linear -> D, L2-normalised.
Stages 2 and 3 are returned as the multi-scale visual memory of the Refiner.

Head: logits[n, t, 0] = s * cos(e_nt, blank) and logits[n, t, 1 + k] = s * cos(e_nt,
bank_k), with a learned blank vector and a learnable scale s = exp(logit_scale) clamped
to [1, 100], starting at `init_scale` (30). The bank's nearest-neighbour cosines are
high (median 0.92 for a briefly trained tiny mCLIP), so a row can only win by a clear
margin at a large scale; started at 10, the scale grew to just 14 in 1,500 steps and the
Spotter learned more slowly. The bank (K, D) is a frozen buffer saved with the weights;
`set_bank` swaps it (e.g. a bank extended with new languages). Trained with CTC over
these logits (`strtool.mstr.losses.bank_ctc_loss`); greedy decoding takes the argmax per
step, merges repeats and drops blanks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple, TypedDict

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from strtool.models.blocks import ConvBNAct
from strtool.models.mclip import BasicBlock
from strtool.models.spec import ModelSpec

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack is 3.11+


class SpotterOutput(NamedTuple):
    logits: Tensor  # (N, T, 1 + K)
    steps: Tensor  # (N, T, D) unit embeddings
    levels: list[Tensor]  # [(N, w1, H/4, W/4), (N, w2, H/8, W/4)]


class Spotter(nn.Module):
    """`forward(images (N,C,H,W)) -> logits (N, T, 1 + K)`; `features()` gives all."""

    bank: Tensor  # (K, D) unit rows, a registered buffer

    def __init__(
        self,
        bank: Tensor,
        in_channels: int = 3,
        img_size: tuple[int, int] = (32, 128),
        widths: Sequence[int] = (64, 128, 256),
        width: int = 256,
        layers: int = 2,
        heads: int = 8,
        dropout: float = 0.1,
        init_scale: float = 30.0,
    ) -> None:
        super().__init__()
        w0, w1, w2 = widths
        self.stage1 = nn.Sequential(
            ConvBNAct(in_channels, w0, bn=True), ConvBNAct(w0, w0, stride=2, bn=True)
        )
        self.stage2 = BasicBlock(w0, w1, 2)
        self.stage3 = BasicBlock(w1, w2, (2, 1))
        self.steps = img_size[1] // 4
        self.level_channels = (w1, w2)
        self.embed = nn.Linear(w2, width)
        self.pos = nn.Parameter(torch.zeros(1, self.steps, width))
        nn.init.normal_(self.pos, std=0.02)
        layer = nn.TransformerEncoderLayer(
            width, heads, 4 * width, dropout=dropout, activation="gelu", batch_first=True,
            norm_first=True,
        )  # fmt: skip
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        dim = bank.shape[1]
        self.proj = nn.Linear(width, dim)
        self.blank = nn.Parameter(torch.randn(dim) / math.sqrt(dim))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(init_scale)))
        self.register_buffer("bank", F.normalize(bank.float(), dim=-1))
        self.out_channels = 1 + bank.shape[0]

    def set_bank(self, bank: Tensor) -> None:
        """Replace the frozen bank (same D); the classes become 1 + bank rows."""
        if bank.shape[1] != self.bank.shape[1]:
            raise ValueError(f"bank dim {bank.shape[1]} != {self.bank.shape[1]}")
        self.bank = F.normalize(bank.float(), dim=-1).to(self.bank.device)
        self.out_channels = 1 + bank.shape[0]

    def scale(self) -> Tensor:
        return self.logit_scale.clamp(0.0, math.log(100.0)).exp()

    def features(self, images: Tensor) -> SpotterOutput:
        """Logits, step embeddings and the two visual levels of a batch."""
        f2 = self.stage2(self.stage1(images))
        f3 = self.stage3(f2)
        x = self.embed(f3.mean(dim=2).transpose(1, 2))
        x = self.encoder(x + self.pos[:, : x.shape[1]])
        steps = F.normalize(self.proj(self.norm(x)), dim=-1)
        protos = torch.cat([F.normalize(self.blank, dim=0)[None], self.bank.to(steps.dtype)])
        logits = self.scale() * steps @ protos.t()
        return SpotterOutput(logits, steps, [f2, f3])

    def forward(self, images: Tensor) -> Tensor:
        return self.features(images).logits


class SpotterOptions(TypedDict, total=False):
    """Options of the Spotter builders (a run config's `model.options`)."""

    widths: Sequence[int]
    width: int
    layers: int
    heads: int
    dropout: float
    init_scale: float


def spotter(spec: ModelSpec, **overrides: Unpack[SpotterOptions]) -> Spotter:
    """Default Spotter: widths 64-128-256, width 256, 2 layers x 8 heads."""
    bank = spec.need_bank("spotter")
    return Spotter(bank, spec.channels, spec.img_size, **overrides)


def spotter_tiny(spec: ModelSpec, **overrides: Unpack[SpotterOptions]) -> Spotter:
    """Test-size Spotter: widths 16-32-64, width 64, 1 layer x 2 heads."""
    kw: SpotterOptions = {"widths": (16, 32, 64), "width": 64, "layers": 1, "heads": 2}
    kw.update(overrides)
    bank = spec.need_bank("spotter_tiny")
    return Spotter(bank, spec.channels, spec.img_size, **kw)
