"""Image-to-sequence recogniser for text lines and pages (after FPHTR: Singh & Karayev
2021, "Full Page Handwriting Recognition via Image to Sequence Extraction").

- Encoder: a ResNet-style CNN (basic residual blocks); a stride-2 stem and one stride
  per stage, total stride `2 * prod(strides)` in both directions, then a 1x1 conv to
  the decoder width. Sizes: tiny (tests), small (CPU), ResNet-18/34-like (GPU, FPHTR).
- Memory: the feature map (N, d, H', W') flattened to (N, H' * W', d) plus a 2-D
  sinusoidal position (half the channels encode the row, half the column).
- Decoder: pre-norm Transformer decoder layers (causal self-attention, cross-attention
  over the memory, feed-forward) over token embeddings + 1-D sinusoidal positions, and
  a linear classifier over the vocabulary.

`forward(images (N, C, H, W), tokens (N, L)) -> logits (N, L, V)` (teacher forcing:
`tokens` start with BOS); with `ctc_head` and `with_ctc=True` also CTC logits of the
encoder (hybrid CTC/attention training, as in speech recognition: Watanabe et al.
2017; the CTC loss makes the encoder's columns read characters early, which the
attention decoder otherwise learns slowly). For inference, `encode` once, `memory_kv` once (the
cross-attention keys/values of every layer), then `decode` one step at a time with a
key/value cache of the self-attention (`strtool.models.img2seq_search`). The model
knows nothing of vocabularies: BOS/EOS ids are arguments of the search.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, TypedDict

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from strtool.models.blocks import ConvBNAct, Mlp
from strtool.models.h8 import H8Features, H8Options, RowAttentionPool
from strtool.models.refiner import sincos_2d
from strtool.models.spec import ModelSpec

if TYPE_CHECKING:
    from typing_extensions import Unpack

#: Per-layer key/value tensors, each (N, heads, length, head_dim).
KV = tuple[Tensor, Tensor]


class BasicBlock(nn.Module):
    """ResNet basic block: two 3x3 conv-BN, identity (or 1x1 conv-BN) shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = ConvBNAct(in_channels, out_channels, 3, stride, 1, bn=True)
        self.conv2 = ConvBNAct(out_channels, out_channels, 3, 1, 1, bn=True, act=None)
        self.short: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.short = ConvBNAct(in_channels, out_channels, 1, stride, 0, bn=True, act=None)
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.conv2(self.conv1(x)) + self.short(x))


class ResNetEncoder(nn.Module):
    """(N, C, H, W) -> (N, widths[-1], H / s, W / s), s = 2 * prod(strides)."""

    def __init__(
        self,
        in_channels: int,
        stem: int,
        widths: tuple[int, ...],
        depths: tuple[int, ...],
        strides: tuple[int, ...],
    ) -> None:
        super().__init__()
        if not len(widths) == len(depths) == len(strides):
            raise ValueError("widths, depths and strides need one entry per stage")
        layers: list[nn.Module] = [ConvBNAct(in_channels, stem, 3, 2, 1, bn=True)]
        c = stem
        for w, d, s in zip(widths, depths, strides, strict=True):
            for i in range(d):
                layers.append(BasicBlock(c, w, s if i == 0 else 1))
                c = w
        self.body = nn.Sequential(*layers)
        self.out_channels = c
        self.stride = 2 * math.prod(strides)

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)


def sincos_at(pos: Tensor, dim: int) -> Tensor:
    """(L, dim) sinusoidal encodings of integer positions `pos` (L,) (Vaswani et al.),
    so that one decoding step needs only its own position."""
    freq = torch.exp(
        torch.arange(0, dim, 2, device=pos.device, dtype=torch.float32) * (-math.log(1e4) / dim)
    )
    angle = pos.float()[:, None] * freq
    out = torch.zeros(pos.shape[0], dim, device=pos.device)
    out[:, 0::2] = torch.sin(angle)
    out[:, 1::2] = torch.cos(angle[:, : dim // 2])
    return out


class DecoderLayer(nn.Module):
    """Pre-norm decoder layer with an optional self-attention key/value cache.

    `forward(x (N, L, d), memory_kv, cache)`: without a cache, causal self-attention
    over the L tokens; with a cache (the keys/values of the previous tokens), the L new
    tokens attend to the cache and to each other causally. Returns the new hidden
    states and the extended cache."""

    def __init__(self, width: int, heads: int, ffn: int, dropout: float) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not a multiple of heads {heads}")
        self.heads, self.dropout = heads, dropout
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(width) for _ in range(3))
        self.qkv = nn.Linear(width, 3 * width)
        self.self_out = nn.Linear(width, width)
        self.cross_q = nn.Linear(width, width)
        self.cross_kv = nn.Linear(width, 2 * width)
        self.cross_out = nn.Linear(width, width)
        self.mlp = Mlp(width, ffn / width, dropout)
        self.drop = nn.Dropout(dropout)

    def _split(self, x: Tensor) -> Tensor:
        n, length, d = x.shape
        return x.view(n, length, self.heads, d // self.heads).transpose(1, 2)

    def _merge(self, x: Tensor) -> Tensor:
        n, h, length, dh = x.shape
        return x.transpose(1, 2).reshape(n, length, h * dh)

    def memory_kv(self, memory: Tensor) -> KV:
        """Cross-attention keys and values of the memory (computed once per image)."""
        k, v = self.cross_kv(memory).chunk(2, dim=-1)
        return self._split(k), self._split(v)

    def forward(self, x: Tensor, memory_kv: KV, cache: KV | None = None) -> tuple[Tensor, KV]:
        p = self.dropout if self.training else 0.0
        q, k, v = (self._split(t) for t in self.qkv(self.norm1(x)).chunk(3, dim=-1))
        mask = None
        if cache is not None:
            past = cache[0].shape[2]
            k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)
            if q.shape[2] > 1:
                rows = torch.arange(q.shape[2], device=x.device)[:, None] + past
                mask = torch.arange(k.shape[2], device=x.device)[None, :] <= rows
        causal = cache is None and q.shape[2] > 1
        a = F.scaled_dot_product_attention(q, k, v, mask, dropout_p=p, is_causal=causal)
        x = x + self.drop(self.self_out(self._merge(a)))
        q = self._split(self.cross_q(self.norm2(x)))
        a = F.scaled_dot_product_attention(q, memory_kv[0], memory_kv[1], dropout_p=p)
        x = x + self.drop(self.cross_out(self._merge(a)))
        return x + self.mlp(self.norm3(x)), (k, v)


class Img2Seq(nn.Module):
    """CNN encoder + 2-D positions + Transformer decoder (see the module docstring)."""

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        stem: int = 32,
        widths: tuple[int, ...] = (32, 64, 128, 192),
        depths: tuple[int, ...] = (1, 2, 2, 1),
        strides: tuple[int, ...] = (1, 2, 2, 2),
        width: int = 192,
        layers: int = 3,
        heads: int = 6,
        ffn: int = 768,
        dropout: float = 0.1,
        ctc_head: bool = False,
        encoder: str = "resnet",
        h8: H8Options | None = None,
    ) -> None:
        super().__init__()
        self.encoder: ResNetEncoder | H8Features
        if encoder == "resnet":
            self.encoder = ResNetEncoder(in_channels, stem, tuple(widths), tuple(depths),
                                         tuple(strides))  # fmt: skip
            channels = self.encoder.out_channels
        elif encoder == "h8":
            self.encoder = H8Features(in_channels, **(h8 or {}))
            channels = self.encoder.feature_channels
        else:
            raise ValueError(f"encoder '{encoder}': use resnet or h8")
        self.proj = nn.Conv2d(channels, width, 1)
        self.embed = nn.Embedding(num_classes, width)
        # embeddings ~ N(0, 1/d), times sqrt(d) in `decode`: unit scale, like the
        # positions; PyTorch's N(0, 1) would make tokens ~20x the positions at the start,
        # and a decoder that cannot tell its step from the token cannot learn where to
        # look in the memory (it stayed a language model for 1,855 steps of lines)
        nn.init.normal_(self.embed.weight, std=width**-0.5)
        self.layers = nn.ModuleList(DecoderLayer(width, heads, ffn, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, num_classes)
        self.drop = nn.Dropout(dropout)
        self.width = width
        self.out_channels = num_classes
        # hybrid CTC/attention (lines). ResNet: two CTC frames per feature-map column
        # (a column is 16 px) from the projected map, rows averaged. h8: the h8 CTC
        # model's own collapse (attention over the rows) and one frame per column (4 px)
        # from the encoder's map, so an h8 CTC checkpoint initialises all of it
        self.ctc_pool = RowAttentionPool(channels) if ctc_head and encoder == "h8" else None
        ctc_in, frames = (channels, 1) if self.ctc_pool is not None else (width, 2)
        self.ctc = nn.Linear(ctc_in, frames * num_classes) if ctc_head else None

    def encode(self, images: Tensor) -> Tensor:
        """Memory (N, H' * W', d): projected feature map + 2-D sinusoidal positions."""
        return self._memory(self.proj(self.encoder(images)))

    def encode_with_ctc(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """The memory (`encode`) and the CTC head's logits (`ctc_logits`) of one
        encoder pass, for joint CTC/attention decoding."""
        e = self.encoder(images)
        f = self.proj(e)
        return self._memory(f), self.ctc_logits(e, f)

    def _memory(self, f: Tensor) -> Tensor:
        h, w = f.shape[2:]
        pos = sincos_2d(h, w, self.width, f.device).to(f.dtype)
        return self.drop(f.flatten(2).transpose(1, 2) + pos)

    def ctc_logits(self, e: Tensor, f: Tensor) -> Tensor:
        """CTC logits of the encoder's map `e` (N, C, H', W') and its projection `f`
        (N, d, H', W'). ResNet encoder: (N, 2 W', V) from `f`, the rows averaged, two
        frames per column (a column is 16 px of a line, often more than one character).
        h8 encoder: (N, W', V) from `e`, the rows pooled by attention. Blank = class 0
        (PAD, never a target). Only with `ctc_head`."""
        if self.ctc is None:
            raise RuntimeError("this Img2Seq has no CTC head (ctc_head=False)")
        if self.ctc_pool is not None:
            return self.ctc(self.ctc_pool(e))
        x = f.mean(dim=2).transpose(1, 2)  # (N, W', d)
        n, w, _ = x.shape
        return self.ctc(x).view(n, 2 * w, -1)

    def memory_kv(self, memory: Tensor) -> list[KV]:
        """Every layer's cross-attention keys/values of `memory`."""
        return [layer.memory_kv(memory) for layer in self._layers()]

    def _layers(self) -> list[DecoderLayer]:
        return [m for m in self.layers if isinstance(m, DecoderLayer)]

    def decode(
        self, tokens: Tensor, memory_kv: list[KV], caches: list[KV] | None = None
    ) -> tuple[Tensor, list[KV]]:
        """Logits (N, L, V) of `tokens` (N, L) that follow the cached prefix (positions
        start at the cache length), and the extended caches."""
        start = 0 if caches is None else caches[0][0].shape[2]
        pos = torch.arange(start, start + tokens.shape[1], device=tokens.device)
        x = self.embed(tokens) * math.sqrt(self.width) + sincos_at(pos, self.width)
        x = self.drop(x)
        new: list[KV] = []
        for i, layer in enumerate(self._layers()):
            x, kv = layer(x, memory_kv[i], None if caches is None else caches[i])
            new.append(kv)
        return self.head(self.norm(x)), new

    def forward(
        self, images: Tensor, tokens: Tensor, with_ctc: bool = False
    ) -> Tensor | tuple[Tensor, Tensor]:
        """Teacher-forced logits (N, L, V); with `with_ctc` also the CTC logits of the
        encoder (`ctc_logits`), for the hybrid loss."""
        e = self.encoder(images)
        f = self.proj(e)
        logits = self.decode(tokens, self.memory_kv(self._memory(f)))[0]
        return (logits, self.ctc_logits(e, f)) if with_ctc else logits


class Img2SeqOptions(TypedDict, total=False):
    """Options of the img2seq builders (a run config's `model.options`)."""

    stem: int
    widths: tuple[int, ...]
    depths: tuple[int, ...]
    strides: tuple[int, ...]
    width: int
    layers: int
    heads: int
    ffn: int
    dropout: float
    ctc_head: bool
    encoder: str
    h8: H8Options


def _build(spec: ModelSpec, base: Img2SeqOptions, overrides: Img2SeqOptions) -> Img2Seq:
    kw: Img2SeqOptions = {**base, **overrides}
    for key in ("widths", "depths", "strides"):
        if key in kw:
            kw[key] = tuple(kw[key])
    return Img2Seq(spec.channels, spec.num_classes, **kw)


def img2seq_tiny(spec: ModelSpec, **overrides: Unpack[Img2SeqOptions]) -> Img2Seq:
    """Test size (~0.14 M parameters): 3 stages 16-32-64, stride 8, 1 decoder layer of
    width 64, no dropout."""
    base: Img2SeqOptions = {
        "stem": 16, "widths": (16, 32, 64), "depths": (1, 1, 1), "strides": (1, 2, 2),
        "width": 64, "layers": 1, "heads": 2, "ffn": 128, "dropout": 0.0,
    }  # fmt: skip
    return _build(spec, base, overrides)


def img2seq_small(spec: ModelSpec, **overrides: Unpack[Img2SeqOptions]) -> Img2Seq:
    """CPU size (~3 M parameters): 4 stages 32-64-128-192, stride 16, 3 decoder layers
    of width 192 x 6 heads."""
    return _build(spec, {}, overrides)


def img2seq_h8(spec: ModelSpec, **overrides: Unpack[Img2SeqOptions]) -> Img2Seq:
    """The `h8_small` encoder (a map at H/8 x W/4 with global self-attention, 1.56 M
    parameters with its CTC head; `--init` from an `h8_small` CTC checkpoint such as
    the shipped default model copies it, CTC head included) and 3 decoder layers of
    width 128 x 4 heads. For 32 px lines."""
    base: Img2SeqOptions = {"encoder": "h8", "width": 128, "heads": 4, "ffn": 512}
    return _build(spec, base, overrides)


def img2seq_r18(spec: ModelSpec, **overrides: Unpack[Img2SeqOptions]) -> Img2Seq:
    """ResNet-18-like encoder (2-2-2-2 blocks, 64-512 channels, stride 16) and 4
    decoder layers of width 256 x 4 heads (FPHTR's sizes)."""
    base: Img2SeqOptions = {
        "stem": 64, "widths": (64, 128, 256, 512), "depths": (2, 2, 2, 2),
        "strides": (1, 2, 2, 2), "width": 256, "layers": 4, "heads": 4, "ffn": 1024,
    }  # fmt: skip
    return _build(spec, base, overrides)


def img2seq_r34(spec: ModelSpec, **overrides: Unpack[Img2SeqOptions]) -> Img2Seq:
    """ResNet-34-like encoder (3-4-6-3 blocks, 64-512 channels, stride 16) and 6
    decoder layers of width 256 x 4 heads."""
    base: Img2SeqOptions = {
        "stem": 64, "widths": (64, 128, 256, 512), "depths": (3, 4, 6, 3),
        "strides": (1, 2, 2, 2), "width": 256, "layers": 6, "heads": 4, "ffn": 1024,
    }  # fmt: skip
    return _build(spec, base, overrides)
