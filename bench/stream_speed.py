"""End-to-end training speed from the synthetic stream vs from an LMDB vs the model step alone.

Same run, same model, same step: `crnn_small`, grey 32x128, batch 96 (defaults), the
engine's own micro-step + optimiser step (`strtool.engine.loop.Trainer`: forward, CTC,
backward, clip, AdamW, channels_last), fp32, on `--threads` torch threads. Three ways to
feed it:

- `model step`: one fixed batch (taken from the stream) reused: no data cost at all;
- `lmdb`: the engine's LMDB loader over an LMDB rendered in this run by `synth words`
  (same languages, fonts and synth config): decode + resize in `--workers` workers;
- `stream`: the engine's `data.synth` loader: rendering + augmentation + resize in
  `--workers` workers (`strtool.data.stream`).

The variants run in interleaved rounds; each round of a loader variant first takes
`warmup` steps untimed (its prefetch queue, filled while the other variants ran, is
used up), then times `--steps` steps as one window: the rate is samples / window time, so
the workers' rendering competes with the model step for the cores as in training. The
rate comes from the faster quartile of windows (other processes only slow a window
down), the median window follows in parentheses. The last line is the stream's cost
against the model step: 1 - rate(stream) / rate(model step).

    .venv/bin/python bench/stream_speed.py [--langs all] [--workers 2] [--threads 2]
        [--batch 96] [--steps 10] [--rounds 5] [--arch h8_small --set model.width=192 ...]
        [--device cuda]   # on a GPU: the engine's autocast default there (bf16), pinned memory
    .venv/bin/python bench/stream_speed.py --quick   # a smoke run, figures not meaningful
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from stopping import run_bench

from strtool.device import resolve_device
from strtool.engine.config import load_run_config
from strtool.engine.distributed import DistInfo
from strtool.engine.loader import train_loader
from strtool.engine.loop import Trainer
from strtool.engine.setup import RunParts, prepare_run
from strtool.synth.config import SynthConfig
from strtool.synth.words import synth_words
from strtool.text.langs import resolve_langs

VARIANTS = ("model step", "lmdb", "stream")


def _quartile(values: list[float]) -> float:
    """The upper quartile of rates (= the faster quartile of windows)."""
    v = sorted(values, reverse=True)
    return v[(len(v) - 1) // 4]


def _parts(args: argparse.Namespace, root: Path, name: str, data: list[str]) -> RunParts:
    charset = ",".join(resolve_langs(args.langs))
    cfg = load_run_config(None, [
        f"model.arch={args.arch}", "model.channels=1", "model.height=32", "model.width=128",
        f"train.batch_size={args.batch}", f"train.threads={args.threads}",
        f"train.device={args.device}",
        f"data.workers={args.workers}", f"data.charset={charset}", "train.steps=1000000",
        *data, *args.set,
    ])  # fmt: skip
    return prepare_run(cfg, root / name, DistInfo(), resume=False, init=None)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _window(trainer: Trainer, next_batch: Callable[[], Any], warmup: int, steps: int) -> float:
    """Images/s over `steps` steps after `warmup` untimed ones (GPU work finished)."""
    for _ in range(warmup):
        trainer._micro_step(next_batch(), sync=True)
        trainer._opt_step()
    _sync(trainer.info.device)
    t0 = time.perf_counter()
    for _ in range(steps):
        trainer._micro_step(next_batch(), sync=True)
        trainer._opt_step()
    _sync(trainer.info.device)
    return steps * trainer.cfg.train.batch_size / (time.perf_counter() - t0)


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        lmdb = root / "synth.lmdb"
        rep = synth_words(lmdb, args.lmdb_size, args.langs, SynthConfig(), ["train"],
                          seed=1, workers=max(args.workers, 1))  # fmt: skip
        lmdb_s = time.perf_counter() - t0
        stream = _parts(args, root, "s", [f"data.synth.langs={args.langs}"])
        lmdbp = _parts(args, root, "l", [f"data.train=[{lmdb}]"])
        info = DistInfo(device=resolve_device(args.device))
        trainer = Trainer(stream, info, None)  # one model and optimiser for all
        trainer._set_train()
        loaders: dict[str, Iterator[Any]] = {
            "stream": iter(train_loader(stream, info, 0, 0, 0)[0]),
            "lmdb": iter(train_loader(lmdbp, info, 0, 0, 0)[0]),
        }
        fixed = next(loaders["stream"])
        feed: dict[str, Callable[[], Any]] = {
            "model step": lambda: fixed,
            "lmdb": lambda: next(loaders["lmdb"]),
            "stream": lambda: next(loaders["stream"]),
        }
        queue = args.workers * 4 + 2  # prefetched batches (prefetch_factor 4) + margin
        rates: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for r in range(args.rounds):
            order = VARIANTS[r % 3 :] + VARIANTS[: r % 3]
            for v in order:
                warm = 1 if v == "model step" else queue
                rates[v].append(_window(trainer, feed[v], warm, args.steps))
    return {"rates": rates, "lmdb": (rep.written, lmdb_s)}


def report(args: argparse.Namespace, res: dict[str, Any]) -> None:
    rates = res["rates"]
    written, secs = res["lmdb"]
    print(f"lmdb: {written} samples rendered by synth words in {secs:.1f} s "
          f"({written / secs:.0f} img/s, {max(args.workers, 1)} workers)")  # fmt: skip
    print(
        f"\n{args.arch}, grey 32 px, batch {args.batch}, {args.device}: training img/s, "
        f"faster quartile of {args.rounds} windows of {args.steps} steps (median window)"
    )
    best = {v: _quartile(x) for v, x in rates.items()}
    med = {v: statistics.median(x) for v, x in rates.items()}
    for v in VARIANTS:
        print(f"{v:<12} {best[v]:8.1f} ({med[v]:7.1f})  "
              f"windows: {' '.join(f'{x:.0f}' for x in rates[v])}")  # fmt: skip
    step = best["model step"]
    for v in ("lmdb", "stream"):
        print(f"{v}/model step: {best[v] / step:.2f} (median {med[v] / med['model step']:.2f});"
              f" cost against the model step {1 - best[v] / step:.0%}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--langs", default="all")
    ap.add_argument("--arch", default="crnn_small")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=96)
    ap.add_argument("--steps", type=int, default=10, help="steps per timed window")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved windows per variant")
    ap.add_argument("--lmdb-size", type=int, default=2400)
    ap.add_argument("--set", action="append", default=[],
                    help="run-config override for every variant, e.g. model.width=192")  # fmt: skip
    ap.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N (the model step's device)")
    ap.add_argument("--quick", action="store_true", help="smoke run (figures not meaningful)")
    args = ap.parse_args()
    if args.quick:
        args.langs, args.batch, args.steps, args.rounds, args.lmdb_size = "en", 8, 2, 1, 64
        args.workers = 1
    torch.set_num_threads(args.threads)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"torch {torch.__version__}, {args.threads} threads, {args.workers} loader workers, "
          f"{os.cpu_count()} CPUs, langs {args.langs}, load average {load}")  # fmt: skip
    report(args, run(args))
    print(f"\nload average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    run_bench(main)
