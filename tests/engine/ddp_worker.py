"""Run by `torchrun --nproc_per_node 2` in test_ddp.py: train a tiny model for a few
steps with gloo, then save this rank's final weights to `<out>/../weights-rank<r>.pt`.
Further arguments are config overrides (e.g. a `semi` run). With `SIGTERM_RANK1_AT=n`
rank 1 alone gets SIGTERM at step n; each rank then writes the step it stopped after to
`<out>/../stopped-rank<r>.txt`."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import torch

from strtool.engine.config import load_run_config
from strtool.engine.loop import train
from strtool.errors import Interrupted


def main() -> None:
    db, out = sys.argv[1], Path(sys.argv[2])
    torch.set_num_threads(1)
    cfg = load_run_config(
        None,
        [f"data.train=[{db}]", "data.workers=0", "model.arch=crnn_tiny", "train.steps=6",
         "train.batch_size=4", "train.val_every=100", "train.ckpt_every=3", "train.log_every=2",
         "train.device=cpu", *sys.argv[3:]],
    )  # fmt: skip
    rank = int(os.environ["RANK"])
    at = int(os.environ.get("SIGTERM_RANK1_AT", "0"))

    def on_event(e: dict) -> None:
        if rank == 1 and e["kind"] == "train" and e["step"] == at:
            os.kill(os.getpid(), signal.SIGTERM)

    try:
        result = train(cfg, out, on_event=on_event)
    except Interrupted as stopped:
        (out.parent / f"stopped-rank{rank}.txt").write_text(str(stopped))
        return
    assert result.model is not None
    torch.save(result.model.state_dict(), out.parent / f"weights-rank{rank}.pt")


if __name__ == "__main__":
    main()
