"""The training loop's endless DataLoader over LMDBs, the synthetic stream, or both."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import DataLoader

from strtool.data.dataset import collate_train
from strtool.data.stream import MixedSource
from strtool.engine.data import EpochChain, MixedBatchSampler, balance_weights, stream_share
from strtool.engine.distributed import DistInfo, ResumableBatchSampler
from strtool.engine.setup import RunParts
from strtool.engine.stop import ignore_stop_signals
from strtool.errors import DataError


def one_cv2_thread() -> None:
    """Render with one OpenCV thread per process, as `synth words` does: set here,
    before the workers fork (changing it inside a forked worker can deadlock on the
    parent's thread pool), so they inherit it; the model step owns the cores."""
    import cv2

    cv2.setNumThreads(1)


def pins_memory(info: DistInfo) -> bool:
    """Whether the training loaders pin their batches (for non-blocking GPU copies)."""
    return info.device.type == "cuda"


def train_loader(
    parts: RunParts, info: DistInfo, epoch: int, start: int, micro: int
) -> tuple[DataLoader, int]:
    """The endless training loader and its LMDB batches per epoch (0: stream only).

    LMDB only: `ResumableBatchSampler` epochs from (`epoch`, `start`). With a stream
    (`data.synth`): `MixedBatchSampler` keys from micro-batch `micro` on, each batch
    `stream_share` stream items then LMDB items (the LMDB batches resume as above)."""
    cfg, ds = parts.cfg, parts.train_set
    n_stream = stream_share(cfg)
    n_lmdb = cfg.train.batch_size - n_stream
    sampler = None
    if ds is not None:
        weights = balance_weights(ds.langs) if cfg.data.balanced else None
        sampler = ResumableBatchSampler(
            len(ds), n_lmdb, cfg.train.seed, epoch, start, info.rank, info.world, weights
        )
        if len(sampler) == 0:
            raise DataError(
                f"{len(ds)} training samples: fewer than one batch of {n_lmdb} "
                f"x {info.world} processes (lower train.batch_size)"
            )
    w = cfg.data.workers
    common: dict[str, Any] = dict(
        num_workers=w, pin_memory=pins_memory(info), persistent_workers=w > 0,
        prefetch_factor=4 if w > 0 else None, generator=torch.Generator().manual_seed(0),
        worker_init_fn=ignore_stop_signals if w > 0 else None,
    )  # fmt: skip
    per_epoch = len(sampler) if sampler is not None else 0
    if parts.stream is None:
        assert ds is not None and sampler is not None
        chain = EpochChain(sampler)
        return DataLoader(ds, batch_sampler=chain, collate_fn=collate_train, **common), per_epoch
    one_cv2_thread()
    batches = MixedBatchSampler(n_stream, micro, info.rank, info.world, sampler)
    source = MixedSource(parts.stream, ds)
    loader = DataLoader(source, batch_sampler=batches, collate_fn=collate_train, **common)
    return loader, per_epoch
