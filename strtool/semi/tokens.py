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
    probs: Tensor, targets: Tensor, pad: int, threshold: float, per_row: bool,
    unk: int | None = None,
) -> Tensor:  # fmt: skip
    """(N, 1 + L) bool: the positions of `targets[:, 1:]` the student learns (see the
    module docstring); `probs` as `teacher_rows` returns them."""
    real = targets[:, 1:] != pad
    if not per_row:
        return real & (probs >= threshold)
    n = real.sum(1).clamp(min=1)
    conf = (probs * real).sum(1) / n
    keep = (conf >= threshold) & (probs[:, 0] > 0)  # an unended row has probability 0
    if unk is not None:
        keep &= ~(targets[:, 1:] == unk).any(1)
    return real & keep[:, None]


def masked_token_ce(logits: Tensor, targets: Tensor, mask: Tensor, pad: int, per: str) -> Tensor:
    """Cross-entropy of teacher-forced logits (N, 1 + L, V) against `targets[:, 1:]`
    on the masked positions, summed and divided by the number of real (non-PAD)
    positions (`per="position"`: a masked-out position counts as 0, as a masked frame
    does in `losses.frame_consistency`) or of masked ones (`per="kept"`: the mean over
    the learned positions, as a supervised loss over the pseudo-labelled rows). 0 when
    no position is learned."""
    tgt = targets[:, 1:]
    if per == "position":
        denom = int((tgt != pad).sum())
    elif per == "kept":
        denom = int(mask.sum())
    else:
        raise ValueError(f"per: {per!r} (use 'position' or 'kept')")
    ce = F.cross_entropy(logits.float().flatten(0, 1), tgt.flatten(), reduction="none")
    return (ce.view_as(tgt) * mask.float()).sum() / max(denom, 1)


def pad_cat(a: Tensor, b: Tensor, pad: int) -> Tensor:
    """Rows of `a` then of `b` (N, width each), the narrower padded with `pad`."""
    w = max(a.shape[1], b.shape[1])
    a = F.pad(a, (0, w - a.shape[1]), value=pad)
    b = F.pad(b, (0, w - b.shape[1]), value=pad)
    return torch.cat([a, b.to(a.device)])
