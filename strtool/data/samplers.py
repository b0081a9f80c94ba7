"""Samplers over datasets that carry a language tag per sample."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import Sampler


class LanguageBalancedSampler(Sampler[int]):
    """Draw samples so that languages are balanced, deterministically by seed.

    Each draw first picks a language with probability proportional to
    `n_lang ** alpha` (`alpha=0`: uniform over languages, `alpha=1`: proportional to
    size, i.e. plain shuffling), then the next sample of that language from a fresh
    random permutation (small languages cycle through all their samples before any
    repeats). An epoch has `num_samples` draws in total (default: the dataset size),
    split across DDP ranks: rank `r` of `world_size` gets draws `r, r+W, r+2W, ...`
    of the same global sequence (padded to a multiple of `world_size`). Call
    `set_epoch(e)` each epoch for a different order.
    """

    def __init__(
        self,
        langs: Sequence[str | None],
        num_samples: int | None = None,
        alpha: float = 0.0,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if not langs:
            raise ValueError("LanguageBalancedSampler needs at least one sample")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} out of range for world_size {world_size}")
        groups: dict[str, list[int]] = {}
        for i, lang in enumerate(langs):
            groups.setdefault(lang or "unknown", []).append(i)
        self.names = sorted(groups)
        self.pools = [torch.tensor(groups[k], dtype=torch.long) for k in self.names]
        sizes = torch.tensor([len(p) for p in self.pools], dtype=torch.float64)
        self.probs = sizes.pow(alpha) / sizes.pow(alpha).sum()
        total = num_samples if num_samples is not None else len(langs)
        self.per_rank = math.ceil(total / world_size)
        self.seed, self.rank, self.world_size, self.epoch = seed, rank, world_size, 0

    def set_epoch(self, epoch: int) -> None:
        """Select the order of epoch `epoch` (same on every rank)."""
        self.epoch = epoch

    def global_order(self) -> torch.Tensor:
        """All draws of this epoch, for every rank: LongTensor (per_rank * world_size,)."""
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        n = self.per_rank * self.world_size
        which = torch.multinomial(self.probs, n, replacement=True, generator=g)
        order = torch.empty(n, dtype=torch.long)
        for k, pool in enumerate(self.pools):
            slots = (which == k).nonzero(as_tuple=True)[0]
            if len(slots) == 0:
                continue
            reps = math.ceil(len(slots) / len(pool))
            perms = [pool[torch.randperm(len(pool), generator=g)] for _ in range(reps)]
            order[slots] = torch.cat(perms)[: len(slots)]
        return order

    def __iter__(self) -> Iterator[int]:
        return iter(self.global_order()[self.rank :: self.world_size].tolist())

    def __len__(self) -> int:
        return self.per_rank
