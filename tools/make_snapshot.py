#!/usr/bin/env python3
"""Write a weights-only checkpoint (no optimiser, scheduler or RNG state; floating-point
weights in fp16 unless --fp32) of a training checkpoint: the form strtool ships weights
in, and a warm start for a fresh machine (`strtool train ... --init SNAPSHOT`).

    python tools/make_snapshot.py ~/runs/default/run/best.pt strtool/weights/default.pt
"""

from __future__ import annotations

import argparse
from pathlib import Path

from strtool.engine.checkpoint import load_checkpoint, save_atomic, weights_only_copy


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("output", type=Path)
    ap.add_argument("--fp32", action="store_true", help="keep float32 weights")
    args = ap.parse_args()
    ckpt = load_checkpoint(args.checkpoint)
    slim = weights_only_copy(ckpt, half=not args.fp32)
    save_atomic(slim, args.output)
    size = args.output.stat().st_size / 2**20
    print(f"{args.output}: step {slim.get('step')}, {size:.1f} MiB")


if __name__ == "__main__":
    main()
