"""Batches of images that may differ in width.

A recogniser that takes any input width reads a crop wider than its training width at
the crop's own width (`ResizeNormalize(max_width=...)`) instead of squeezing it, so
the tensors of a batch can differ in width. They are never padded to one another:
padding a short word out to a long line's width would feed the model far more
padding than it saw in training. Instead, `collate_ragged` keeps such a batch as a
list and `shape_groups` splits any list into runs of one shape, each read as one
batch (every crop that fits the training width has the same shape, so a batch of
word crops is still one batch).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def shape_groups(tensors: Sequence[Tensor], batch_size: int | None = None) -> list[list[int]]:
    """Indices of `tensors` grouped by shape (groups in order of first appearance,
    indices ascending), each group cut into pieces of at most `batch_size`."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, t in enumerate(tensors):
        groups.setdefault(tuple(t.shape), []).append(i)
    step = batch_size if batch_size and batch_size > 0 else max(len(tensors), 1)
    return [g[s : s + step] for g in groups.values() for s in range(0, len(g), step)]


def stack_or_list(images: Sequence[Tensor]) -> Tensor | list[Tensor]:
    """One stacked tensor when every image has the same shape, else the list."""
    if images and all(t.shape == images[0].shape for t in images):
        return torch.stack(list(images))
    return list(images)


def collate_ragged(
    batch: list[tuple[Tensor, str, str]],
) -> tuple[Tensor | list[Tensor], list[str], list[str]]:
    """`(image, label, lang)` samples: images stacked (N, C, H, W) when they share a
    shape, else a list (see the module docstring); labels; langs."""
    images, labels, langs = zip(*batch, strict=True)
    return stack_or_list(images), list(labels), list(langs)
