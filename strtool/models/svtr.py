"""SVTR: a single visual model for scene text recognition (Du et al., IJCAI 2022),
Tiny variant as adapted by the CLL-STR multilingual benchmark.

Shapes for the default 3x32x100 input:

- patch embedding: two 3x3 stride-2 ConvBN+GELU (C -> 32 -> 64): 64 x 8 x 25;
- stage 1: 3 blocks, width 64, 2 heads; merge conv 3x3 stride (2,1) -> 128 x 4 x 25;
- stage 2: 6 blocks, width 128, 4 heads; merge -> 256 x 2 x 25;
- stage 3: 3 blocks, width 256, 8 heads; merge -> 512 x 1 x 25;
- mixers: [Local] * 6 + [Global] * 6 over the 12 blocks; a local mixer attends
  within a 7 x 11 (height x width) window around each token;
- last stage: mean over height, Linear(512, 512), Hardswish, Dropout -> 25 steps;
- CTC head Linear(512, classes).

Parameter count at 4,680 classes (computed, checked in the tests): blocks
12*d^2+13*d each -> 3.71M; merges 0.08M + 0.30M + 1.18M; patch embed 0.02M,
position embedding 0.01M; projection 0.26M; head 2.40M -> about 7.96M.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TypedDict

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from strtool.models.blocks import ConvBNAct, CTCHead, DropPath, Mlp
from strtool.models.spec import ModelSpec

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack is 3.11+


def local_mask(h: int, w: int, window: tuple[int, int], device: torch.device) -> Tensor:
    """Bool (h*w, h*w) mask: True where token j lies in the `window` (kh, kw) centred
    on token i (row-major token order)."""
    ys = torch.arange(h, device=device).repeat_interleave(w)
    xs = torch.arange(w, device=device).repeat(h)
    dy = (ys[:, None] - ys[None, :]).abs()
    dx = (xs[:, None] - xs[None, :]).abs()
    return (dy <= window[0] // 2) & (dx <= window[1] // 2)


class Attention(nn.Module):
    """Multi-head self-attention over (N, L, C) tokens; `mask` (L, L) bool or None."""

    def __init__(self, dim: int, heads: int, drop: float = 0.0) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.drop = drop

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        n, length, c = x.shape
        qkv = self.qkv(x).reshape(n, length, 3, self.heads, c // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        p = self.drop if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        return self.proj(y.transpose(1, 2).reshape(n, length, c))


class MixingBlock(nn.Module):
    """Pre-norm transformer block with a local (windowed) or global mixer.
    (N, L, C) -> (N, L, C); the caller passes the token grid size for local masks."""

    def __init__(
        self,
        dim: int,
        heads: int,
        mixer: str,
        window: tuple[int, int] = (7, 11),
        mlp_ratio: float = 4.0,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        if mixer not in ("local", "global"):
            raise ValueError(f"mixer must be 'local' or 'global', got {mixer!r}")
        self.mixer, self.window = mixer, window
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, mlp_ratio)
        self.drop_path = DropPath(drop_path)
        self.out_channels = dim
        self._mask_key: tuple[int, int, str] | None = None
        self._mask: Tensor | None = None

    def _get_mask(self, hw: tuple[int, int], device: torch.device) -> Tensor | None:
        if self.mixer == "global":
            return None
        key = (hw[0], hw[1], str(device))
        if self._mask_key != key:
            self._mask = local_mask(hw[0], hw[1], self.window, device)
            self._mask_key = key
        return self._mask

    def forward(self, x: Tensor, hw: tuple[int, int]) -> Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x), self._get_mask(hw, x.device)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class Merging(nn.Module):
    """Height-merging conv: (N, C, H, W) -> 3x3 conv stride (2,1) -> LayerNorm over
    channels -> (N, C_out, ceil(H/2), W)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, (2, 1), 1)
        self.norm = nn.LayerNorm(out_channels)
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        y = self.conv(x)
        return self.norm(y.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class SVTRStage(nn.Module):
    """Blocks of one width followed by a height merge; (N,C,H,W) -> (N,C',H/2,W)."""

    def __init__(
        self, dim: int, depth: int, heads: int, mixers: Sequence[str],
        out_channels: int, window: tuple[int, int], drop_paths: Sequence[float],
    ) -> None:  # fmt: skip
        super().__init__()
        self.blocks = nn.ModuleList(
            MixingBlock(dim, heads, mixers[i], window, drop_path=drop_paths[i])
            for i in range(depth)
        )
        self.norm = nn.LayerNorm(dim)
        self.merge = Merging(dim, out_channels)
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        t = x.flatten(2).transpose(1, 2)
        for blk in self.blocks:
            t = blk(t, (h, w))
        t = self.norm(t)
        return self.merge(t.transpose(1, 2).reshape(n, c, h, w))


class SVTR(nn.Module):
    """SVTR recogniser: (N, C, H, W) -> (N, W/4, num_classes) CTC logits."""

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 3,
        img_size: tuple[int, int] = (32, 100),
        dims: Sequence[int] = (64, 128, 256),
        depths: Sequence[int] = (3, 6, 3),
        heads: Sequence[int] = (2, 4, 8),
        num_local: int = 6,
        window: tuple[int, int] = (7, 11),
        out_channels: int = 512,
        drop_path: float = 0.1,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.in_channels, self.num_classes = in_channels, num_classes
        self.patch_embed = nn.Sequential(
            ConvBNAct(in_channels, dims[0] // 2, 3, 2, 1, bn=True, act=nn.GELU),
            ConvBNAct(dims[0] // 2, dims[0], 3, 2, 1, bn=True, act=nn.GELU),
        )
        self.grid = (img_size[0] // 4, img_size[1] // 4)
        self.pos_embed = nn.Parameter(torch.zeros(1, dims[0], *self.grid))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        total = sum(depths)
        mixers = ["local"] * num_local + ["global"] * (total - num_local)
        dpr = torch.linspace(0, drop_path, total).tolist()
        outs = [*dims[1:], out_channels]
        stages, start = [], 0
        for i, d in enumerate(depths):
            sl = slice(start, start + d)
            stages.append(SVTRStage(dims[i], d, heads[i], mixers[sl], outs[i], window, dpr[sl]))
            start += d
        self.backbone = nn.Sequential(*stages)
        self.neck = nn.Sequential(
            nn.Linear(out_channels, out_channels), nn.Hardswish(), nn.Dropout(dropout)
        )
        self.head = CTCHead(out_channels, num_classes)
        self.apply(_init_weights)

    def forward(self, images: Tensor) -> Tensor:
        x = self.patch_embed(images)
        pos: Tensor = self.pos_embed
        if pos.shape[2:] != x.shape[2:]:
            pos = F.interpolate(pos, size=x.shape[2:], mode="bilinear", align_corners=False)
        x = self.backbone(x + pos)
        seq = x.mean(dim=2).transpose(1, 2)  # (N, W/4, C)
        return self.head(self.neck(seq))


def _init_weights(m: nn.Module) -> None:
    if isinstance(m, nn.Linear):
        nn.init.trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)


class SVTROptions(TypedDict, total=False):
    """Options of the SVTR builders (a run config's `model.options`)."""

    dims: Sequence[int]
    depths: Sequence[int]
    heads: Sequence[int]
    num_local: int
    window: tuple[int, int]
    out_channels: int
    drop_path: float
    dropout: float


def svtr_tiny(spec: ModelSpec, **kw: Unpack[SVTROptions]) -> SVTR:
    """SVTR-Tiny as adapted by CLL-STR (about 8.0M parameters at 4,680 classes)."""
    return SVTR(spec.num_classes, spec.channels, spec.img_size, **kw)


def svtr_nano(spec: ModelSpec, **kw: Unpack[SVTROptions]) -> SVTR:
    """A tiny SVTR for tests and CPU demos (~0.44M parameters + 128 x classes)."""
    opts: SVTROptions = {
        "dims": (32, 64, 96), "depths": (1, 2, 1), "heads": (1, 2, 3),
        "num_local": 2, "out_channels": 128, "drop_path": 0.0, **kw,
    }  # fmt: skip
    return SVTR(spec.num_classes, spec.channels, spec.img_size, **opts)
