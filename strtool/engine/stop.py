"""Stopping a training run cleanly on SIGINT (Ctrl-C) or SIGTERM (a scheduler's
pre-emption, `kill`, torchrun passing a signal on).

The first signal only asks: the loop finishes the optimiser step it is in, saves
`last.pt` at that step boundary (so `--resume` continues exactly as after a periodic
checkpoint) and raises `strtool.errors.Interrupted`. A second signal stops at once,
as before (`KeyboardInterrupt`), losing the work since the last checkpoint. DataLoader
workers ignore both signals (`ignore_stop_signals`): a Ctrl-C at the terminal reaches
the whole process group, and so do `pkill -f` and a batch scheduler's SIGTERM, and a
worker killed under the step being finished would take the run down with it. The main
process shuts them down when it stops. Under DDP the ranks agree on the step to stop
at (`requested` takes the maximum over ranks).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any

import torch
import torch.distributed as dist

from strtool.engine.distributed import DistInfo

SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)


def ignore_stop_signals(worker_id: int) -> None:
    """`worker_init_fn` of the training loaders: the worker leaves SIGINT and SIGTERM to
    the main process (which stops at a step boundary and then shuts the workers down;
    a worker whose main process died exits on its own)."""
    for s in SIGNALS:
        signal.signal(s, signal.SIG_IGN)


def close_workers(batches: Any) -> None:
    """Shut down the worker processes of a DataLoader iterator now (a no-op for any
    other iterator). Without it they stop when the iterator is garbage-collected, and
    an exception's traceback can keep it alive until the interpreter exits, where
    multiprocessing stops daemon workers with SIGTERM, which they ignore, and then
    waits for them: the process would hang after its work was saved."""
    shutdown = getattr(batches, "_shutdown_workers", None)  # torch's own teardown
    if callable(shutdown):
        shutdown()


class StopSignals:
    """Context manager that turns the first SIGINT/SIGTERM into a stop request
    (`signum`) and restores the previous handlers on exit. Outside the main thread
    (where Python cannot set handlers) it does nothing."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for s in SIGNALS:
                self._previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:  # asked twice: stop now
            raise KeyboardInterrupt
        self.signum = signum

    def requested(self, info: DistInfo) -> int | None:
        """The signal that asked this run to stop (any rank's, under DDP), or None."""
        if info.group and dist.is_initialized():
            flag = torch.tensor([self.signum or 0], device=info.device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            return int(flag.item()) or None
        return self.signum
