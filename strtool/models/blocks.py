"""Building blocks shared by the recognisers: conv-BN-activation, bidirectional LSTM,
stochastic depth, MLP and the CTC classification head.

Every block exposes `out_channels` so models chain them without arithmetic.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class ConvBNAct(nn.Module):
    """`Conv2d -> [BatchNorm2d] -> activation`; (N, C_in, H, W) -> (N, C_out, H', W').

    With `bn=True` the convolution has no bias (the BN shift replaces it).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int | tuple[int, int] = 3,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 1,
        bn: bool = False,
        act: type[nn.Module] | None = nn.ReLU,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride, padding, bias=not bn)
        self.bn = nn.BatchNorm2d(out_channels) if bn else nn.Identity()
        self.act = act() if act is not None else nn.Identity()
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.bn(self.conv(x)))


class BiLSTM(nn.Module):
    """Bidirectional LSTM followed by a linear projection (Shi et al. 2016, CRNN;
    the `BidirectionalLSTM` of the clovaai benchmark). (N, T, C_in) -> (N, T, C_out)."""

    def __init__(self, in_channels: int, hidden: int, out_channels: int) -> None:
        super().__init__()
        self.rnn = nn.LSTM(in_channels, hidden, batch_first=True, bidirectional=True)
        self.linear = nn.Linear(2 * hidden, out_channels)
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        if x.is_cuda:
            self.rnn.flatten_parameters()
        y, _ = self.rnn(x)
        return self.linear(y)


class DropPath(nn.Module):
    """Stochastic depth: drop the whole residual branch per sample with prob `p`
    during training (and rescale the kept ones by 1/(1-p))."""

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        shape = (x.shape[0],) + (1,) * (x.ndim - 1)
        mask = x.new_empty(shape).bernoulli_(keep)
        return x * mask / keep


class Mlp(nn.Module):
    """Transformer feed-forward: Linear -> GELU -> Linear; (..., C) -> (..., C)."""

    def __init__(self, dim: int, ratio: float = 4.0, drop: float = 0.0) -> None:
        super().__init__()
        hidden = int(dim * ratio)
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(drop)
        self.out_channels = dim

    def forward(self, x: Tensor) -> Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class CTCHead(nn.Module):
    """Per-time-step classifier: (N, T, C_in) -> (N, T, num_classes) raw logits.

    Class 0 is the CTC blank (tokenizer convention). `fc` is the layer a cascade
    initialisation re-maps when the charset changes.
    """

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.fc = nn.Linear(in_channels, num_classes)
        self.out_channels = num_classes

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(x)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (elements) of `model`."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def seq_from_map(x: Tensor) -> Tensor:
    """Collapse the height of a feature map by averaging: (N, C, H, W) -> (N, W, C)."""
    return torch.mean(x, dim=2).transpose(1, 2)
