"""Distributed data parallel helpers and the resumable, rank-sharded batch sampler.

Launch with `torchrun --nproc_per_node G [--nnodes N ...] -m strtool train ...`:
torchrun sets RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR; the process group uses NCCL
on GPUs and gloo on CPU. Under torchrun the process joins the group and the model is
wrapped in DDP even for one process (`--nproc_per_node 1`), so a one-GPU job runs the
same code path as a cluster job. Without those variables (a plain `strtool train`)
everything runs in one process, without a group.
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
    group: bool = False  # joined a process group (torchrun, or WORLD_SIZE > 1)

    @property
    def main(self) -> bool:
        return self.rank == 0


def pick_device(spec: str, local_rank: int = 0) -> torch.device:
    """`strtool.device.resolve_device`: `auto` -> this process's CUDA device if
    available, else CPU; a device this machine lacks is a one-line `ConfigError`."""
    return resolve_device(spec, local_rank)


def launched_by_torchrun() -> bool:
    """torchrun (torch.distributed.run) started this process: it sets
    `TORCHELASTIC_RUN_ID` besides RANK / WORLD_SIZE / MASTER_ADDR."""
    return "TORCHELASTIC_RUN_ID" in os.environ and "MASTER_ADDR" in os.environ


def backend_for(device: torch.device) -> str:
    """NCCL on CUDA devices, gloo elsewhere."""
    return "nccl" if device.type == "cuda" else "gloo"


def init_distributed(device: str = "auto") -> DistInfo:
    """Join the process group when launched by torchrun (one process included) or with
    WORLD_SIZE > 1 (RANK / MASTER_ADDR / MASTER_PORT set by hand); a no-op otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    dev = pick_device(device, local)
    group = world > 1 or launched_by_torchrun()
    if group and not dist.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group(backend=backend_for(dev), rank=rank, world_size=world)
    return DistInfo(rank, world, local, dev, group)


def barrier(info: DistInfo) -> None:
    if info.group:
        dist.barrier()


def cleanup(info: DistInfo) -> None:
    if info.group and dist.is_initialized():
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
