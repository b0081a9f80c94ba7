"""Throughput of the CTC tokenizer on the all-languages vocabulary: encode (labels/s)
and greedy decode (samples/s) of (N, T, C) logits, vectorised vs a per-sample loop.

    python bench/bench_tokenizer.py [--batch 256] [--steps 40] [--threads 1]
"""

from __future__ import annotations

import argparse
import random
import time

import torch

from strtool.text.charset import load_charsets, union_chars
from strtool.text.tokenizer import CTCTokenizer


def timeit(fn, repeat: int = 5) -> float:
    """Best wall time of `repeat` calls, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    chars = union_chars(load_charsets("all"))
    tok = CTCTokenizer(chars, space=True, unk=True)
    rng = random.Random(0)
    labels = ["".join(rng.choices(chars, k=rng.randint(3, 20))) for _ in range(args.batch)]
    n = args.batch
    t_enc = timeit(lambda: tok.encode(labels))
    print(f"vocab {tok.num_classes} classes, batch {n}, T={args.steps}, threads={args.threads}")
    print(f"encode:                  {n / t_enc:12,.0f} labels/s")
    for name, logits in (
        ("random", random_logits(tok, n, args.steps)),
        ("ctc-like", ctc_like_logits(tok, n, args.steps)),
    ):
        t_dec = timeit(lambda lg=logits: tok.decode(lg))
        t_loop = timeit(lambda lg=logits: [tok.decode(lg[i : i + 1]) for i in range(n)], 2)
        print(f"decode {name:9} batched: {n / t_dec:12,.0f} samples/s ({t_dec * 1e3:.1f} ms)")
        print(f"decode {name:9} 1-by-1:  {n / t_loop:12,.0f} samples/s")
        t_sm = timeit(lambda lg=logits: lg.softmax(-1).max(-1), 3)
        print(f"  (reference: full softmax + max alone {t_sm * 1e3:.1f} ms)")


def random_logits(tok: CTCTokenizer, n: int, t: int) -> torch.Tensor:
    """Every step emits (worst case: the confidence needs every step)."""
    return torch.randn(n, t, tok.num_classes) * 4


def ctc_like_logits(tok: CTCTokenizer, n: int, t: int) -> torch.Tensor:
    """Blank wins ~70% of the steps, as in a trained CTC model."""
    lg = torch.randn(n, t, tok.num_classes)
    lg[..., tok.blank] += 8.0 * (torch.rand(n, t) < 0.7)
    return lg


if __name__ == "__main__":
    main()
