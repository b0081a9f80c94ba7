"""Refiner (stage 2b of mSTR): a light autoregressive Transformer decoder that corrects
the Spotter, trained with the Spotter frozen.

Memories (concatenated, the decoder cross-attends to both):
- prefix memory: one token per character the Spotter's greedy CTC keeps (top-1 not
  blank, not a repeat), in order; a token merges (Linear) its step's k candidates, each
  embedded as proj(bank row) (or a learned blank vector) + Linear(score) + rank
  embedding; sinusoidal position of the kept index (padding masked);
- visual memory: every Spotter level (N, C_i, H_i, W_i) -> 1x1 conv to width d,
  flattened, + 2-D sinusoidal position + level embedding. With the two Spotter levels
  (H/4 x W/4 and H/8 x W/4) small marks keep their spatial evidence.

Vocabulary (tied to the bank, so new bank rows need no new weights): id 0 = EOS,
1 = BOS, 2 + r = bank row r. Targets use -100 as padding (ignored by cross-entropy).
Output logits = s * cos(W h, [eos, bos, proj(bank)]) with a learnable scale s.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, TypedDict

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from strtool.models.spec import ModelSpec

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack is 3.11+

EOS, BOS, OFFSET = 0, 1, 2


def sincos_1d(n: int, dim: int, device: torch.device) -> Tensor:
    """(n, dim) sinusoidal positions (Vaswani et al. 2017)."""
    pos = torch.arange(n, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(
        torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(1e4) / dim)
    )
    out = torch.zeros(n, dim, device=device)
    out[:, 0::2] = torch.sin(pos * freq)
    out[:, 1::2] = torch.cos(pos * freq[: dim // 2])
    return out


def sincos_2d(h: int, w: int, dim: int, device: torch.device) -> Tensor:
    """(h * w, dim) positions: half the channels encode the row, half the column."""
    half = dim // 2
    rows = sincos_1d(h, half, device)[:, None, :].expand(h, w, half)
    cols = sincos_1d(w, dim - half, device)[None, :, :].expand(h, w, dim - half)
    return torch.cat([rows, cols], dim=-1).reshape(h * w, dim)


class Refiner(nn.Module):
    """`forward(topk_idx, topk_p, levels, tgt_in) -> logits (N, L, 2 + K)`.

    topk_idx (N, T, k) Spotter classes (0 = blank, 1 + r = bank row r); topk_p (N, T, k)
    their probabilities; levels: Spotter feature maps; tgt_in (N, L) refiner ids
    starting with BOS (teacher forcing)."""

    bank: Tensor  # (K, D) unit rows, a registered buffer

    def __init__(
        self,
        bank: Tensor,
        level_channels: tuple[int, ...],
        topk: int = 5,
        width: int = 256,
        layers: int = 2,
        heads: int = 8,
        max_len: int = 25,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        dim = bank.shape[1]
        self.topk, self.width, self.max_len = topk, width, max_len
        self.register_buffer("bank", F.normalize(bank.float(), dim=-1))
        self.class_proj = nn.Linear(dim, width)
        self.blank = nn.Parameter(torch.randn(width) * 0.02)
        self.special = nn.Parameter(torch.randn(2, width) * 0.02)  # EOS, BOS
        self.score = nn.Linear(1, width)
        self.rank = nn.Embedding(topk, width)
        self.level_proj = nn.ModuleList(nn.Conv2d(c, width, 1) for c in level_channels)
        self.level_embed = nn.Parameter(torch.zeros(len(level_channels), width))
        self.kind = nn.Parameter(torch.zeros(2, width))  # prefix vs visual memory
        layer = nn.TransformerDecoderLayer(
            width, heads, 4 * width, dropout=dropout, activation="gelu", batch_first=True,
            norm_first=True,
        )  # fmt: skip
        self.decoder = nn.TransformerDecoder(layer, layers)
        self.merge = nn.Linear(topk * width, width)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(16.0)))
        self.norm = nn.LayerNorm(width)
        self.out = nn.Linear(width, width)
        self.out_channels = OFFSET + bank.shape[0]

    def set_bank(self, bank: Tensor) -> None:
        self.bank = F.normalize(bank.float(), dim=-1).to(self.bank.device)
        self.out_channels = OFFSET + bank.shape[0]

    def class_table(self) -> Tensor:
        """(2 + K, d) embeddings of EOS, BOS and the bank rows."""
        return torch.cat([self.special, self.class_proj(self.bank)])

    def prefix(self, topk_idx: Tensor, topk_p: Tensor) -> tuple[Tensor, Tensor]:
        """Prefix memory (N, L, d) and its padding mask (N, L) (True = padding).

        The steps kept by greedy CTC (top-1 not blank and not a repeat) become one token
        each, in order: Linear over the concatenated k candidates (class embedding +
        Linear(score) + rank embedding) + sinusoidal position of the kept index, so
        that output position i naturally finds the Spotter's i-th character."""
        n, t, k = topk_idx.shape
        top1 = topk_idx[..., 0]
        prev = F.pad(top1, (1, 0))[:, :-1]
        keep = (top1 != 0) & (top1 != prev)
        lengths = keep.sum(1)
        length = max(int(lengths.max()), 1) if n else 1
        steps = torch.arange(t, device=top1.device)
        order = torch.sort((~keep).long() * t + steps, dim=1).indices[:, :length]
        idx = topk_idx.gather(1, order[..., None].expand(-1, -1, k))
        prob = topk_p.gather(1, order[..., None].expand(-1, -1, k))
        table = torch.cat([self.blank[None], self.class_proj(self.bank)])  # (1 + K, d)
        cand = table[idx] + self.score(prob.unsqueeze(-1).to(table.dtype)) + self.rank.weight[:k]
        tokens = self.merge(cand.reshape(n, -1, k * self.width))
        tokens = tokens + sincos_1d(length, self.width, tokens.device) + self.kind[0]
        pad = torch.arange(length, device=top1.device)[None] >= lengths[:, None]
        return tokens, pad

    def memory(
        self, topk_idx: Tensor, topk_p: Tensor, levels: list[Tensor]
    ) -> tuple[Tensor, Tensor]:
        """(N, L + sum H_i W_i, d) prefix + visual memory and its padding mask."""
        tokens, pad = self.prefix(topk_idx, topk_p)
        parts, masks = [tokens], [pad]
        for i, (proj, f) in enumerate(zip(self.level_proj, levels, strict=True)):
            y = proj(f)
            h, w = y.shape[2:]
            y = y.flatten(2).transpose(1, 2) + sincos_2d(h, w, self.width, y.device)
            parts.append(y + self.level_embed[i] + self.kind[1])
            masks.append(torch.zeros(y.shape[:2], dtype=torch.bool, device=y.device))
        return torch.cat(parts, dim=1), torch.cat(masks, dim=1)

    def decode_step(self, tgt_in: Tensor, memory: tuple[Tensor, Tensor], table: Tensor) -> Tensor:
        """Logits (N, L, 2 + K) for refiner ids `tgt_in` (N, L) given `memory`: cosine
        of the projected state with the class table times a learned scale."""
        length = tgt_in.shape[1]
        x = table[tgt_in] + sincos_1d(length, self.width, tgt_in.device)
        mask = nn.Transformer.generate_square_subsequent_mask(length, device=tgt_in.device)
        h = self.decoder(
            x, memory[0], tgt_mask=mask, tgt_is_causal=True, memory_key_padding_mask=memory[1]
        )
        h = F.normalize(self.out(self.norm(h)), dim=-1)
        scale = self.logit_scale.clamp(0.0, math.log(100.0)).exp()
        return scale * h @ F.normalize(table, dim=-1).t()

    def forward(
        self, topk_idx: Tensor, topk_p: Tensor, levels: list[Tensor], tgt_in: Tensor
    ) -> Tensor:
        return self.decode_step(tgt_in, self.memory(topk_idx, topk_p, levels), self.class_table())

    @torch.no_grad()
    def generate(
        self, topk_idx: Tensor, topk_p: Tensor, levels: list[Tensor], max_len: int | None = None
    ) -> tuple[list[list[int]], list[float]]:
        """Greedy decoding: bank rows per sample (stopping at EOS) and confidences
        (product of the chosen tokens' probabilities, EOS included)."""
        max_len = max_len or self.max_len
        memory, table = self.memory(topk_idx, topk_p, levels), self.class_table()
        n = topk_idx.shape[0]
        ids = torch.full((n, 1), BOS, dtype=torch.long, device=topk_idx.device)
        logp = torch.zeros(n, device=ids.device)
        done = torch.zeros(n, dtype=torch.bool, device=ids.device)
        for _ in range(max_len + 1):
            step = self.decode_step(ids, memory, table)[:, -1].float()
            step[:, BOS] = -math.inf
            lp, nxt = step.log_softmax(-1).max(-1)
            logp += torch.where(done, torch.zeros_like(lp), lp)
            nxt = torch.where(done, torch.full_like(nxt, EOS), nxt)
            ids = torch.cat([ids, nxt[:, None]], dim=1)
            done |= nxt == EOS
            if bool(done.all()):
                break
        rows = []
        for seq in ids[:, 1:].tolist():
            cut = seq.index(EOS) if EOS in seq else len(seq)
            rows.append([x - OFFSET for x in seq[:cut]])
        return rows, logp.exp().tolist()


class RefinerOptions(TypedDict, total=False):
    """Options of the Refiner builders (a run config's `model.options`)."""

    topk: int
    width: int
    layers: int
    heads: int
    max_len: int
    dropout: float


def refiner(spec: ModelSpec, **overrides: Unpack[RefinerOptions]) -> Refiner:
    """Default Refiner: width 256, 2 layers x 8 heads, top-5 prefix."""
    kw: RefinerOptions = {"max_len": spec.max_len, **overrides}
    return Refiner(spec.need_bank("refiner"), spec.level_channels, **kw)


def refiner_tiny(spec: ModelSpec, **overrides: Unpack[RefinerOptions]) -> Refiner:
    """Test-size Refiner: width 64, 1 layer x 2 heads, top-3 prefix, no dropout."""
    kw: RefinerOptions = {"topk": 3, "width": 64, "layers": 1, "heads": 2, "dropout": 0.0}
    kw.update({"max_len": spec.max_len, **overrides})
    return Refiner(spec.need_bank("refiner_tiny"), spec.level_channels, **kw)
