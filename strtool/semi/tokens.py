"""Teacher targets for attention decoders (the `img2seq` family): per-token
consistency and pseudo-labels (pure functions on tensors).

The teacher greedy-decodes the weak view of each unlabeled crop; its readings become
teacher-forced target rows for the student (BOS, tokens, EOS, then PAD), with the
probability the teacher gave each target position (the tokens and the EOS):

- consistency (`token_mask(..., per_row=False)`): the student learns every position
  whose teacher probability is at least the threshold (FixMatch-style masking, the
  per-character counterpart of `losses.frame_consistency`);
- pseudo (`per_row=True`): every position of the rows whose reading confidence (the
  mean probability of its tokens and EOS, as `strtool predict` reports it) is at least
  the threshold and that hold no UNK.

A row that hit the length limit without EOS (the teacher ran on) teaches nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from strtool.models.img2seq_search import Decoded


def teacher_rows(rows: Sequence[Decoded], bos: int, eos: int, pad: int) -> tuple[Tensor, Tensor]:
    """Target rows (N, 2 + L) `BOS ids EOS PAD...` of decoded readings and the teacher's
    probability of each position of `targets[:, 1:]` (N, 1 + L): the tokens' and the
    EOS's; 0 at PAD and on every position of a row that did not end."""
    width = max((len(r.ids) for r in rows), default=0) + 2
    targets = torch.full((len(rows), width), pad, dtype=torch.long)
    probs = torch.zeros(len(rows), width - 1)
    for i, r in enumerate(rows):
        n = len(r.ids)
        targets[i, 0] = bos
        targets[i, 1 : 1 + n] = torch.tensor(r.ids, dtype=torch.long)
        if r.ended:
            targets[i, 1 + n] = eos
            probs[i, : n + 1] = torch.tensor(r.probs[: n + 1], dtype=torch.float32)
    return targets, probs


def token_mask(
    probs: Tensor, real: Tensor, threshold: float, per_row: bool, exclude: Tensor | None = None
) -> Tensor:
    """(N, L) bool: the target positions the student learns (see the module docstring).
    `probs` (N, L): the teacher's probability of each target position (0 where a row
    did not end); `real` (N, L) bool: the positions that hold a token or the EOS;
    `exclude` (N,) bool: rows never used as pseudo-labels (e.g. holding UNK)."""
    if not per_row:
        return real & (probs >= threshold)
    n = real.sum(1).clamp(min=1)
    conf = (probs * real).sum(1) / n
    keep = (conf >= threshold) & (probs[:, 0] > 0)  # an unended row has probability 0
    if exclude is not None:
        keep &= ~exclude
    return real & keep[:, None]


def masked_token_ce(logits: Tensor, tgt: Tensor, mask: Tensor, real: Tensor, per: str) -> Tensor:
    """Cross-entropy of teacher-forced logits (N, L, V) against target ids `tgt` (N, L)
    on the masked positions, summed and divided by the number of `real` positions
    (`per="position"`: a masked-out position counts as 0, as a masked frame does in
    `losses.frame_consistency`) or of masked ones (`per="kept"`: the mean over the
    learned positions, as a supervised loss over the pseudo-labelled rows). 0 when no
    position is learned. Ids outside the masked positions may be anything (-100 too)."""
    if per == "position":
        denom = int(real.sum())
    elif per == "kept":
        denom = int(mask.sum())
    else:
        raise ValueError(f"per: {per!r} (use 'position' or 'kept')")
    safe = torch.where(mask, tgt, torch.zeros_like(tgt))
    ce = F.cross_entropy(logits.float().flatten(0, 1), safe.flatten(), reduction="none")
    return (ce.view_as(tgt) * mask.float()).sum() / max(denom, 1)


def target_probs(logits: Tensor, tgt: Tensor, real: Tensor) -> Tensor:
    """(N, L) probability a teacher's teacher-forced logits (N, L, V) give each target
    id of `tgt` (0 where not `real`): on its own greedy reading, the probability of
    each token it chose."""
    safe = torch.where(real, tgt, torch.zeros_like(tgt))
    p = logits.float().softmax(-1).gather(-1, safe[..., None])[..., 0]
    return p * real.float()


def pad_cols(x: Tensor, width: int, value: int | bool) -> Tensor:
    """(N, L) `x` widened to (N, `width`) with `value` on the right."""
    return F.pad(x, (0, width - x.shape[1]), value=value)


def pad_cat(a: Tensor, b: Tensor, pad: int) -> Tensor:
    """Rows of `a` then of `b` (N, width each), the narrower padded with `pad`."""
    w = max(a.shape[1], b.shape[1])
    return torch.cat([pad_cols(a, w, pad), pad_cols(b, w, pad).to(a.device)])
