"""Distributed data parallel helpers and the resumable, rank-sharded batch sampler.

Launch with `torchrun --nproc_per_node G [--nnodes N ...] -m strtool train ...`:
torchrun sets RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR; the process group uses NCCL
on GPUs and gloo on CPU. Without those variables everything runs in one process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist

from strtool.device import resolve_device


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits: global `rank` of `world` processes, its device."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        return self.rank == 0


def pick_device(spec: str, local_rank: int = 0) -> torch.device:
    """`strtool.device.resolve_device`: `auto` -> this process's CUDA device if
    available, else CPU; a device this machine lacks is a one-line `ConfigError`."""
    return resolve_device(spec, local_rank)


def init_distributed(device: str = "auto") -> DistInfo:
    """Join the process group when launched by torchrun (or with RANK/WORLD_SIZE set,
    e.g. `init_method=file://` in tests via MASTER_ADDR/PORT); a no-op otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    dev = pick_device(device, local)
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if dev.type == "cuda" else "gloo"
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
    return DistInfo(rank, world, local, dev)


def barrier(info: DistInfo) -> None:
    if info.world > 1:
        dist.barrier()


def cleanup(info: DistInfo) -> None:
    if info.world > 1 and dist.is_initialized():
        dist.destroy_process_group()


class ResumableBatchSampler:
    """Batches of dataset indices for one epoch, the same order on every rank and
    sharded by rank, starting at `start` batches into the epoch.

    Epoch `e` order: a permutation of `n` (or, with `weights`, `n` draws with
    replacement proportional to the weights: language balancing) from a generator
    seeded `seed + e`. Rank `r` takes batches `r, r+world, ...`; the last partial round
    is dropped so every rank does the same number of steps. `len()` is batches per
    rank per epoch.
    """

    def __init__(
        self,
        n: int,
        batch_size: int,
        seed: int,
        epoch: int = 0,
        start: int = 0,
        rank: int = 0,
        world: int = 1,
        weights: torch.Tensor | None = None,
    ) -> None:
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.epoch, self.start, self.rank, self.world = epoch, start, rank, world
        self.weights = weights

    def __len__(self) -> int:
        return self.n // (self.batch_size * self.world)

    def order(self) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        if self.weights is not None:
            return torch.multinomial(self.weights, self.n, replacement=True, generator=g)
        return torch.randperm(self.n, generator=g)

    def __iter__(self) -> Iterator[list[int]]:
        order = self.order()
        b, w = self.batch_size, self.world
        for k in range(self.start, len(self)):
            first = (k * w + self.rank) * b
            yield order[first : first + b].tolist()
