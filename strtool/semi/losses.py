"""Losses and schedules of semi-supervised training (pure functions on tensors).

- `ramp_up(step, length)`: the sigmoid ramp-up of Laine & Aila (2017),
  `exp(-5 (1 - t)^2)` with `t = min(step / length, 1)` (1 when `length` is 0).
- `frame_consistency(student, teacher, threshold, blank_weight)`: per-frame
  cross-entropy of the student's CTC logits against the teacher's argmax classes,
  only on frames where the teacher's top probability is at least `threshold`
  (FixMatch-style masking), frames the teacher reads as blank weighted by
  `blank_weight`; the weighted mean over all frames (masked ones included, so a batch
  without a confident frame adds 0).
- `window_pool(frames, windows)`: SeqCLR instance mapping ("window-to-instance",
  Aberdam et al. CVPR 2021): the T frames of each crop are averaged into `windows`
  equal windows (adaptive average pooling), each window an instance.
- `nt_xent(z1, z2, temperature)`: NT-Xent (SimCLR) over 2M instances: the positive
  of row i of `z1` is row i of `z2`; the 2M - 2 other rows are negatives.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def ramp_up(step: int, length: int) -> float:
    """Weight factor in (0, 1] at optimiser step `step` of a `length`-step ramp-up."""
    if length <= 0:
        return 1.0
    t = min(max(step, 0) / length, 1.0)
    return math.exp(-5.0 * (1.0 - t) ** 2)


def frame_consistency(
    student: Tensor, teacher: Tensor, threshold: float, blank_weight: float = 1.0, blank: int = 0
) -> tuple[Tensor, Tensor]:
    """(loss, mask) for student logits (N, T, C) and teacher logits (N, T, C):
    `sum_f w_f * mask_f * CE_f(student, argmax teacher) / sum_f w_f` over all N*T
    frames, where the mask keeps frames whose teacher probability is >= `threshold`
    and `w_f` is `blank_weight` on frames whose teacher class is `blank`, 1 elsewhere
    (1 everywhere: the plain mean over all frames). Blanks are most of a CTC line, so
    a `blank_weight` below 1 turns the loss towards the characters. `mask` (N, T)
    bool marks the kept frames."""
    with torch.no_grad():
        probs = teacher.detach().float().softmax(-1)
        conf, target = probs.max(-1)
        mask = conf >= threshold
        w = torch.where(target == blank, blank_weight, 1.0).flatten()
    ce = F.cross_entropy(student.float().flatten(0, 1), target.flatten(), reduction="none")
    loss = (ce * w * mask.flatten().float()).sum() / w.sum().clamp(min=1e-12)
    return loss, mask


def window_pool(frames: Tensor, windows: int) -> Tensor:
    """(N, T, D) frame features -> (N * windows, D) instances (T >= 1)."""
    n, _, d = frames.shape
    pooled = F.adaptive_avg_pool1d(frames.float().transpose(1, 2), windows)  # (N, D, W)
    return pooled.transpose(1, 2).reshape(n * windows, d)


def nt_xent(z1: Tensor, z2: Tensor, temperature: float) -> Tensor:
    """Mean NT-Xent loss of M positive pairs (rows of `z1`, `z2`: (M, P)); cosine
    similarities divided by `temperature`, each row against the 2M - 1 others."""
    m = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)
    sim = z @ z.t() / temperature
    sim = sim.masked_fill(torch.eye(2 * m, dtype=torch.bool, device=z.device), float("-inf"))
    target = torch.cat([torch.arange(m, 2 * m), torch.arange(0, m)]).to(z.device)
    return F.cross_entropy(sim, target)
