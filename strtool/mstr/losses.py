"""Losses of the mSTR stages.

- `batch_targets`: characters of a batch -> (unique characters = text rows, per-image
  row index). Targets are always built from this character -> index map.
- `multi_positive_infonce`: symmetric InfoNCE where every image of a character is a
  positive of that character's text row (CLIP loss generalised to repeated classes).
- `arcface_loss`: additive angular margin (Deng et al., CVPR 2019) of image embeddings
  against the text embeddings of the batch's classes, with a bounded gradient (below).
- `subtype_loss`: cross-entropy of the subtype head.
- `bank_ctc_loss`: CTC over the Spotter's bank similarities (blank = column 0).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def batch_targets(chars: Sequence[str]) -> tuple[list[str], Tensor]:
    """Unique characters in first-seen order and the (N,) LongTensor mapping each
    image to the row of its character."""
    index: dict[str, int] = {}
    rows = [index.setdefault(c, len(index)) for c in chars]
    return list(index), torch.tensor(rows, dtype=torch.long)


def multi_positive_infonce(
    img: Tensor, txt: Tensor, target: Tensor, scale: Tensor | float
) -> Tensor:
    """Symmetric multi-positive InfoNCE.

    img (N, D) and txt (M, D) are unit vectors; target (N,) gives the text row of each
    image; logits = scale * img @ txt.T (N, M).
    image->text: cross-entropy of each image against its row.
    text->image: for each text row j with at least one image, the target distribution
    is uniform over the images of j: loss_j = -mean_{i: target_i = j} log softmax_i(
    logits[:, j]). Rows without images are skipped. Returns (i2t + t2i) / 2.
    """
    logits = scale * img @ txt.t()
    i2t = F.cross_entropy(logits, target)
    pos = F.one_hot(target, txt.shape[0]).t().to(logits.dtype)  # (M, N)
    count = pos.sum(1)
    has = count > 0
    logp = logits.t().log_softmax(dim=1)  # (M, N) over images
    t2i = -((pos * logp).sum(1)[has] / count[has]).mean()
    return 0.5 * (i2t + t2i)


def arcface_loss(
    img: Tensor, txt: Tensor, target: Tensor, scale: float = 30.0, margin: float = 0.2
) -> Tensor:
    """ArcFace: cross-entropy of `scale * cos(theta + margin)` for the target class and
    `scale * cos(theta)` for the others, with the text rows as class centres. Unit inputs.

    The value is exactly ArcFace's. The gradient is not: the target logit is computed as
    `cos - delta` with `delta = cos - cos(theta + margin)` held constant, so it has the
    gradient of a cosine margin. The exact derivative of cos(theta + m) with respect to
    cos(theta) is `cos m + cos(theta) sin m / sin(theta)`, which grows without bound as
    theta -> 0. Here the text centres are learned too and start close together. With the
    exact gradient, the pull towards the own centre outweighed the push from the others,
    and both towers collapsed to one point (all pairwise cosines 0.9999 within 100 steps
    of the tiny mCLIP, accuracy at chance). With this gradient they separate as under
    InfoNCE alone.
    """
    cos = img @ txt.t()
    target_cos = cos.gather(1, target[:, None])
    with torch.no_grad():  # acos needs |x| < 1; the clamp touches no gradient
        theta = torch.acos(target_cos.clamp(-1 + 1e-6, 1 - 1e-6))
        delta = target_cos - torch.cos(theta + margin)
    logits = cos.scatter(1, target[:, None], target_cos - delta)
    return F.cross_entropy(scale * logits, target)


def subtype_loss(logits: Tensor, subtypes: Tensor) -> Tensor:
    """Cross-entropy of the subtype head (N, S) against (N,) subtype ids."""
    return F.cross_entropy(logits, subtypes)


def bank_ctc_loss(logits: Tensor, targets: Tensor, lengths: Tensor) -> Tensor:
    """Mean CTC loss over Spotter logits (N, T, 1 + K) (blank = 0, bank row r = r + 1);
    float32 log-softmax, `zero_infinity=True`."""
    log_probs = logits.float().log_softmax(-1).transpose(0, 1)
    n, t = logits.shape[:2]
    input_lengths = torch.full((n,), t, dtype=torch.long)
    return F.ctc_loss(
        log_probs, targets, input_lengths, lengths, blank=0, reduction="mean", zero_infinity=True
    )
