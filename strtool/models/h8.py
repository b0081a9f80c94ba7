"""`h8`: a small CTC recogniser that keeps the feature map at H/8 before collapsing it,
one of the changes SVTRv2 (Du et al., ICCV 2025, "SVTRv2: CTC Beats Encoder-Decoder
Models in Scene Text Recognition") found to matter for small CTC models. Written for
strtool's CPU budgets; it is not the SVTRv2 architecture itself.

- Stem: two stride-2 3x3 convs (BN, GELU): (N, C, H, W) -> (N, d1, H/4, W/4).
- Stage 1: local mixing blocks (depthwise 5x5 conv + MLP, residual) at H/4 x W/4.
- Down-sampling of the height only (3x3 conv, stride (2, 1)) -> (N, d2, H/8, W/4): the
  width resolution stays at W/4 frames, the height keeps H/8 rows (4 rows at 32 px), so
  a vertical stroke or an Indic matra above the headline is still a separate row.
- Stage 2: global self-attention over all H/8 x W/4 positions (pre-norm Transformer
  blocks, a depthwise 3x3 conv as position encoding, so any width works).
- Collapse: attention over the H/8 rows of each column (a learned score per position,
  softmax over the rows), instead of averaging them away -> (N, W/4, d2).
- CTC head: Linear(d2, classes). T = W/4 frames (32 for a 128-px-wide crop).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TypedDict

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from strtool.models.blocks import CTCHead, DropPath, Mlp
from strtool.models.spec import ModelSpec

if TYPE_CHECKING:
    from typing_extensions import Unpack


class ConvMixer(nn.Module):
    """Local mixing: x + dwconv5x5(BN(x)), then x + MLP (1x1 convs); (N, C, H, W)."""

    def __init__(self, dim: int, drop_path: float = 0.0) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(dim)
        self.dw = nn.Conv2d(dim, dim, 5, 1, 2, groups=dim)
        self.norm2 = nn.BatchNorm2d(dim)
        self.mlp = nn.Sequential(nn.Conv2d(dim, 2 * dim, 1), nn.GELU(), nn.Conv2d(2 * dim, dim, 1))
        self.drop = DropPath(drop_path)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.drop(self.dw(self.norm1(x)))
        return x + self.drop(self._mlp(self.norm2(x)))

    def _mlp(self, x: Tensor) -> Tensor:
        """`self.mlp(x)`. On a contiguous (N, C, H, W) map the two 1x1 convolutions run
        as matmuls over the channels (the same weights and numbers, about 2x faster on
        the CPU at batch 1); on a channels_last map the convolutions are as fast."""
        if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
            return self.mlp(x)
        fc1, act, fc2 = self.mlp
        assert isinstance(fc1, nn.Conv2d) and isinstance(fc2, nn.Conv2d)
        y = F.linear(x.permute(0, 2, 3, 1), fc1.weight.flatten(1), fc1.bias)
        y = F.linear(act(y), fc2.weight.flatten(1), fc2.bias)
        return y.permute(0, 3, 1, 2)


class GlobalBlock(nn.Module):
    """Pre-norm Transformer block over the flattened map (N, H*W, C)."""

    def __init__(self, dim: int, heads: int, drop_path: float = 0.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, 2.0)
        self.drop = DropPath(drop_path)

    def forward(self, x: Tensor) -> Tensor:
        y = self.norm1(x)
        if torch.onnx.is_in_onnx_export():
            a = self._attention(y)
        else:
            a = self.attn(y, y, y, need_weights=False)[0]
        x = x + self.drop(a)
        return x + self.drop(self.mlp(self.norm2(x)))

    def _attention(self, y: Tensor) -> Tensor:
        """`self.attn(y, y, y)`'s arithmetic, written with the sequence length left
        free (-1) in every reshape: the ONNX exporter traces `nn.MultiheadAttention`
        with the example's length fixed in its graph, so a graph exported this way
        reads any input width (`strtool export onnx`, `--runtime onnx`)."""
        m, n, c = self.attn, y.shape[0], y.shape[2]
        heads = m.num_heads
        qkv = F.linear(y, m.in_proj_weight, m.in_proj_bias)  # (N, L, 3C)
        qkv = qkv.reshape(n, -1, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
        att = (qkv[0] @ qkv[1].transpose(-2, -1)) * (c // heads) ** -0.5
        out = (att.softmax(-1) @ qkv[2]).transpose(1, 2).reshape(n, -1, c)
        return m.out_proj(out)


class RowAttentionPool(nn.Module):
    """(N, C, H, W) -> (N, W, C): per column, a softmax over the H rows of a learned
    score weights the rows."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.score = nn.Conv2d(dim, 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        # the 1x1 convolution's arithmetic as a matmul over channels: the same
        # numbers, but Conv2d with one output channel takes PyTorch's slow path on
        # the CPU (~8x slower at batch 1, ~3x in training)
        score = F.linear(x.permute(0, 2, 3, 1), self.score.weight.flatten(1), self.score.bias)
        w = score.permute(0, 3, 1, 2).softmax(dim=2)  # (N, 1, H, W)
        return (x * w).sum(dim=2).transpose(1, 2)


class H8Options(TypedDict, total=False):
    """Sizes of `H8Features` (and so of an `img2seq` model's `h8` encoder options)."""

    dims: Sequence[int]
    local_depth: int
    global_depth: int
    heads: int
    drop_path: float


class H8Features(nn.Module):
    """`features(images (N, C, H, W)) -> (N, d2, H/8, W/4)`: the stem, the local and
    global stages and the final norm of `H8`, without its collapse and head. The
    encoder of `H8` and of the `img2seq` family's `encoder: h8` (same parameter names,
    so an `h8` CTC checkpoint initialises that encoder)."""

    def __init__(
        self,
        in_channels: int = 1,
        dims: Sequence[int] = (64, 128),
        local_depth: int = 2,
        global_depth: int = 3,
        heads: int = 4,
        drop_path: float = 0.05,
    ) -> None:
        super().__init__()
        d1, d2 = dims
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, d1 // 2, 3, 2, 1, bias=False), nn.BatchNorm2d(d1 // 2),
            nn.GELU(), nn.Conv2d(d1 // 2, d1, 3, 2, 1, bias=False), nn.BatchNorm2d(d1),
            nn.GELU(),
        )  # fmt: skip
        rates = torch.linspace(0, drop_path, local_depth + global_depth).tolist()
        self.local = nn.Sequential(*(ConvMixer(d1, rates[i]) for i in range(local_depth)))
        self.down = nn.Sequential(
            nn.Conv2d(d1, d2, 3, (2, 1), 1, bias=False), nn.BatchNorm2d(d2), nn.GELU()
        )
        self.pos = nn.Conv2d(d2, d2, 3, 1, 1, groups=d2)
        self.blocks = nn.ModuleList(
            GlobalBlock(d2, heads, rates[local_depth + i]) for i in range(global_depth)
        )
        self.norm = nn.LayerNorm(d2)
        self.feature_channels = d2

    def features(self, images: Tensor) -> Tensor:
        x = self.down(self.local(self.stem(images)))
        x = x + self.pos(x)
        n, c, h, w = x.shape
        seq = x.flatten(2).transpose(1, 2)  # (N, H*W, C)
        for blk in self.blocks:
            seq = blk(seq)
        return self.norm(seq).transpose(1, 2).reshape(n, c, h, w)

    def forward(self, images: Tensor) -> Tensor:
        return self.features(images)


class H8(H8Features):
    """`forward(images (N, C, H, W)) -> logits (N, W/4, num_classes)`."""

    def __init__(self, num_classes: int, in_channels: int = 1, **sizes: Unpack[H8Options]) -> None:
        super().__init__(in_channels, **sizes)
        self.pool = RowAttentionPool(self.feature_channels)
        self.head = CTCHead(self.feature_channels, num_classes)
        self.out_channels = num_classes

    def forward(self, images: Tensor) -> Tensor:
        return self.head(self.pool(self.features(images)))


def h8_small(spec: ModelSpec, **kw: object) -> H8:
    """About 0.6M parameters + 128 x classes: dims 64/128, 2 local + 3 global blocks."""
    return H8(spec.num_classes, spec.channels, **kw)  # type: ignore[arg-type]


def h8_tiny(spec: ModelSpec, **kw: object) -> H8:
    """Test size: dims 32/64, 1 local + 1 global block."""
    base: dict[str, object] = {"dims": (32, 64), "local_depth": 1, "global_depth": 1, "heads": 2}
    return H8(spec.num_classes, spec.channels, **{**base, **kw})  # type: ignore[arg-type]
