"""CRNN: VGG feature extractor + 2 bidirectional LSTMs + CTC head.

Shi, Bai & Yao, "An End-to-End Trainable Neural Network for Image-based Sequence
Recognition" (TPAMI 2016), in the variant of the clovaai deep-text-recognition-benchmark
that the CLL-STR multilingual benchmark uses:

- VGG convs with widths (w/8, w/4, w/2, w/2, w, w, w), `w = 512`; BN on the 5th and
  6th convs; max-pools 2x2, 2x2, (2,1), (2,1); a final 2x2 valid conv.
  Input 3x32x100 -> feature map 512x1x24 -> 24 time steps.
- BiLSTM(512 -> 256 hidden -> 256), BiLSTM(256 -> 256 -> 256), Linear(256, classes).
  At 4,680 classes: 9,647,024 parameters (5.55M convs, 2.89M LSTMs, 1.20M head).

`bn_all=True` (small presets) puts BN after every conv: much faster early
training on CPU budgets. `stem_stride=2` replaces the first conv + 2x2 pool by one
stride-2 conv (the same output size, ~2x cheaper first stage): small presets too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from torch import Tensor, nn

from strtool.models.blocks import BiLSTM, ConvBNAct, CTCHead, seq_from_map
from strtool.models.spec import ModelSpec

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack is 3.11+


class VGGBackbone(nn.Module):
    """(N, C_in, 32, W) -> (N, width, H', W/4 - 1); H' is averaged away by the model.

    Heights other than 32 work (the remaining height is mean-pooled).
    """

    def __init__(
        self, in_channels: int = 3, width: int = 512, stem_stride: int = 1, bn_all: bool = False
    ) -> None:
        super().__init__()
        b = bn_all
        c = [width // 8, width // 4, width // 2, width // 2, width, width, width]
        if stem_stride == 2:
            stem: list[nn.Module] = [ConvBNAct(in_channels, c[0], 3, 2, 1, bn=b)]
        elif stem_stride == 1:
            stem = [ConvBNAct(in_channels, c[0], bn=b), nn.MaxPool2d(2, 2)]
        else:
            raise ValueError(f"stem_stride must be 1 or 2, got {stem_stride}")
        self.features = nn.Sequential(
            *stem,
            ConvBNAct(c[0], c[1], bn=b),
            nn.MaxPool2d(2, 2),
            ConvBNAct(c[1], c[2], bn=b),
            ConvBNAct(c[2], c[3], bn=b),
            nn.MaxPool2d((2, 1), (2, 1)),
            ConvBNAct(c[3], c[4], bn=True),
            ConvBNAct(c[4], c[5], bn=True),
            nn.MaxPool2d((2, 1), (2, 1)),
            ConvBNAct(c[5], c[6], kernel=2, stride=1, padding=0, bn=b),
        )
        self.out_channels = c[6]

    def forward(self, x: Tensor) -> Tensor:
        return self.features(x)


class CRNN(nn.Module):
    """CRNN recogniser: (N, C, H, W) images -> (N, T, num_classes) CTC logits,
    T = W/4 - 1 (24 for W = 100)."""

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 3,
        width: int = 512,
        hidden: int = 256,
        stem_stride: int = 1,
        bn_all: bool = False,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.backbone = VGGBackbone(in_channels, width, stem_stride, bn_all)
        self.neck = nn.Sequential(
            BiLSTM(self.backbone.out_channels, hidden, hidden),
            BiLSTM(hidden, hidden, hidden),
        )
        self.head = CTCHead(hidden, num_classes)

    def forward(self, images: Tensor) -> Tensor:
        feats = seq_from_map(self.backbone(images))  # (N, T, C)
        return self.head(self.neck(feats.contiguous()))


class CRNNOptions(TypedDict, total=False):
    """Options of the CRNN builders (a run config's `model.options`)."""

    width: int
    hidden: int
    stem_stride: int
    bn_all: bool


def crnn(spec: ModelSpec, **kw: Unpack[CRNNOptions]) -> CRNN:
    """The CLL-STR CRNN (about 9.65M parameters at 4,680 classes)."""
    opts: CRNNOptions = {"width": 512, "hidden": 256, **kw}
    return CRNN(spec.num_classes, spec.channels, **opts)


def crnn_small(spec: ModelSpec, **kw: Unpack[CRNNOptions]) -> CRNN:
    """A ~2.1M-parameter CRNN (width 256, hidden 128, stride-2 stem) for CPU runs."""
    opts: CRNNOptions = {"width": 256, "hidden": 128, "stem_stride": 2, "bn_all": True, **kw}
    return CRNN(spec.num_classes, spec.channels, **opts)


def crnn_tiny(spec: ModelSpec, **kw: Unpack[CRNNOptions]) -> CRNN:
    """A tiny CRNN for tests and the demo (~0.53M parameters + 64 x classes)."""
    opts: CRNNOptions = {"width": 128, "hidden": 64, "stem_stride": 2, "bn_all": True, **kw}
    return CRNN(spec.num_classes, spec.channels, **opts)
