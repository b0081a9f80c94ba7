#!/usr/bin/env python3
"""Inference latency of a recogniser through strtool's reader: ms per crop at batch 1
and at batch N, end to end (resize, model, CTC decoding: `Reader.read_arrays`,
what `strtool predict` runs), with PyTorch and (when onnxruntime is installed) with
`--runtime onnx`, next to each other in the same run.

    python bench/infer_speed.py --model ~/runs/default/run/last.pt      # a checkpoint
    python bench/infer_speed.py --arch crnn_small --classes 8017 --width 192   # untrained

Crops are grey or RGB as the model expects, 32 px high, random text-like content (the
cost does not depend on the content). Each figure is the median of `--repeat` timed
calls after warm-up. The default model's target: at most 5 ms per crop at batch 1 on 2
cores (Tesseract takes 7-16 ms per crop here). The reader folds each BatchNorm into
the convolution before it; the same model unfolded is timed as the baseline, in rounds
interleaved with the folded one.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch


def timed(fn: Callable[[], object], repeat: int, warmup: int = 3) -> float:
    """Median seconds of `fn()` over `repeat` calls after `warmup` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def untrained_checkpoint(arch: str, classes: int, width: int, channels: int, out: Path) -> Path:
    """A checkpoint of an untrained CTC model (speed does not depend on the weights)."""
    from strtool.engine.checkpoint import save_atomic
    from strtool.engine.config import load_run_config
    from strtool.tasks.ctc import CtcTask

    chars = [chr(0x4E00 + i) for i in range(classes - 1)]
    cfg = load_run_config(None, [f"model.arch={arch}", f"model.width={width}",
                                 f"model.channels={channels}", "model.keep_ratio=true",
                                 "data.train=[unused]"])  # fmt: skip
    tok = {"type": "ctc", "chars": chars, "unit": "codepoint", "unk": False, "space": False}
    task = CtcTask(cfg, {"tokenizer": tok, "charset": chars})
    return save_atomic({**task.payload(), "model": task.model.state_dict()}, out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None, help="checkpoint (default: untrained)")
    ap.add_argument("--arch", default="crnn_small")
    ap.add_argument("--classes", type=int, default=8017)
    ap.add_argument("--width", type=int, default=192)
    ap.add_argument("--channels", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from strtool.engine.reader import open_reader
    from strtool.errors import InputError

    with tempfile.TemporaryDirectory() as tmp:
        ckpt = args.model or untrained_checkpoint(
            args.arch, args.classes, args.width, args.channels, Path(tmp) / "m.pt"
        )
        rec = open_reader(ckpt, "cpu")
        m = rec.config.model
        rng = np.random.default_rng(0)
        shape = (32, 100) if m.channels == 1 else (32, 100, 3)
        crops = [rng.integers(0, 255, shape, dtype=np.uint8) for _ in range(args.batch)]
        print(f"model {m.arch} ({rec.params:,} parameters), input {m.channels}x{m.height}x"
              f"{m.width}, {args.threads} threads, median of {args.repeat}")  # fmt: skip
        # the baseline in the same run: the model as trained, BatchNorms not folded
        # (`open_reader(fuse=False)`); timed interleaved in rounds with the folded one
        plain = open_reader(ckpt, "cpu", fuse=False)
        rounds = 3
        ones, plains = [], []
        for _ in range(rounds):
            plains.append(timed(lambda: plain.read_arrays(crops[:1]), args.repeat))
            ones.append(timed(lambda: rec.read_arrays(crops[:1]), args.repeat))
        one, one_plain = statistics.median(ones), statistics.median(plains)
        many = timed(lambda: rec.read_arrays(crops), max(5, args.repeat // 5))
        print(f"  pytorch, not folded, batch 1: {1000 * one_plain:7.2f} ms per crop (baseline)")
        print(
            f"  pytorch  batch 1: {1000 * one:7.2f} ms per crop (resize + model + CTC decoding;"
            f" {rec.meta.get('fused', 0)} BatchNorms folded, x{one_plain / one:.2f} vs baseline)"
        )
        print(
            f"  pytorch  batch {args.batch}: {1000 * many / args.batch:7.2f} ms per crop "
            f"({args.batch / many:.0f} crops/s; x{one * args.batch / many:.1f} vs batch 1)"
        )
        try:
            ort_rec = open_reader(ckpt, "cpu", runtime="onnx")
        except InputError as e:
            print(f"  onnxrt: {e}")
            return
        o1 = timed(lambda: ort_rec.read_arrays(crops[:1]), args.repeat)
        on = timed(lambda: ort_rec.read_arrays(crops), max(5, args.repeat // 5))
        same = ort_rec.read_arrays(crops).texts == rec.read_arrays(crops).texts
        print(
            f"  onnxrt   batch 1: {1000 * o1:7.2f} ms per crop (same path, --runtime onnx; "
            f"x{one / o1:.2f} vs pytorch)"
        )
        print(f"  onnxrt   batch {args.batch}: {1000 * on / args.batch:7.2f} ms per crop")
        print(f"  same texts from both runtimes on the {args.batch} crops: {same}")


if __name__ == "__main__":
    main()
