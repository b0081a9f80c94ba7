"""Training and inference speed of the full-size CLL-STR presets (`crnn`, `svtr_tiny`)
on the CPU, with and without CPU speed-ups, and end to end from an LMDB.

For each model (3x32x100 input, 4,680 classes, batch 64):
- model step (forward, float32 CTC, backward, clip, AdamW) in images/s, contiguous
  vs channels_last, and with bf16 autocast (CPUs with AVX512-BF16/AMX; speed only:
  a tiny CRNN did not learn in bf16 on CPU, see `strtool.engine.loop._amp`);
- inference images/s at batch 64 (same variants) and ms per crop at batch 1;
- end-to-end training images/s through the engine (`strtool.engine.loop.train`: the
  LmdbDataset -> DataLoader workers -> tokenizer -> step path) on a synthetic LMDB,
  next to the model step alone with the same settings; the ratio shows whether data
  loading is hidden (target >= 0.90).
Reference (CLL-STR, 2 cores): training 32 img/s CRNN, 37 img/s SVTR; inference 102
and 131 img/s. Figures depend on the machine's load: the load average is printed.

    /work/venv/bin/python bench/train_speed.py [--threads 2] [--seconds 8] [--workers 1]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from strtool.engine.loop import ctc_loss
from strtool.models import build_model, count_parameters

REFERENCE = {"crnn": (32.0, 102.0), "svtr_tiny": (37.0, 131.0)}
CLASSES, BATCH, H, W = 4680, 64, 32, 100


def _timed(step: Callable[[], None], seconds: float, warmup: int = 2, min_iters: int = 3) -> float:
    """Seconds per call of `step` (after `warmup` calls), timed for >= `seconds`."""
    for _ in range(warmup):
        step()
    n, t0 = 0, time.perf_counter()
    while n < min_iters or time.perf_counter() - t0 < seconds:
        step()
        n += 1
    return (time.perf_counter() - t0) / n


def _autocast(bf16: bool) -> contextlib.AbstractContextManager:
    if bf16:
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _inputs(n: int, cl: bool) -> torch.Tensor:
    x = torch.randn(n, 3, H, W)
    return x.contiguous(memory_format=torch.channels_last) if cl else x


def train_img_s(arch: str, cl: bool, bf16: bool, seconds: float) -> float:
    """Model step alone: images/s of forward + CTC + backward + clip + AdamW."""
    torch.manual_seed(0)
    model = build_model(arch, CLASSES, 3, (H, W)).train()
    if cl:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), 1e-4)
    x = _inputs(BATCH, cl)
    targets = torch.randint(1, CLASSES, (BATCH * 8,))
    lengths = torch.full((BATCH,), 8, dtype=torch.long)

    def step() -> None:
        with _autocast(bf16):
            logits = model(x)
        loss = ctc_loss(logits, targets, lengths)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()

    return BATCH / _timed(step, seconds)


def infer(arch: str, cl: bool, bf16: bool, batch: int, seconds: float) -> float:
    """Seconds per forward pass of `batch` crops (eval mode, inference_mode)."""
    model = build_model(arch, CLASSES, 3, (H, W)).eval()
    if cl:
        model = model.to(memory_format=torch.channels_last)
    x = _inputs(batch, cl)

    @torch.inference_mode()
    def step() -> None:
        with _autocast(bf16):
            model(x)

    return _timed(step, seconds, warmup=3)


def make_lmdb(folder: Path, num: int, workers: int) -> tuple[Path, Path]:
    """A synthetic LMDB (en, ar, zh words; PNG crops 32 px high) and a charset file of
    4,679 entries (the labels' characters, padded with other CJK ideographs)."""
    from strtool.synth.words import synth_words

    db = folder / "bench.lmdb"
    synth_words(db, num, "en,ar,zh", workers=workers, seed=0)
    from strtool.engine.data import label_units

    chars = [c for c in label_units([db], "codepoint") if c != " "]
    extra = (chr(c) for c in range(0x4E00, 0x9FFF) if chr(c) not in set(chars))
    chars += [next(extra) for _ in range(CLASSES - 1 - len(chars))]
    cs = folder / "charset.txt"
    cs.write_text("\n".join(chars) + "\n", encoding="utf-8")
    return db, cs


def e2e_img_s(arch: str, db: Path, cs: Path, workers: int, cl: bool, bf16: bool,
              seconds: float, out: Path) -> float:  # fmt: skip
    """Median training images/s over the engine's log windows (after the first)."""
    from strtool.engine.config import load_run_config
    from strtool.engine.loop import train

    est = train_img_s(arch, cl, bf16, 2.0)
    steps = max(12, int(seconds * est / BATCH))
    cfg = load_run_config(None, [
        f"model.arch={arch}", f"data.train=[{db}]", f"data.charset={cs}", "data.unk=true",
        f"data.workers={workers}", f"train.batch_size={BATCH}", f"train.steps={steps}",
        f"train.log_every={max(2, steps // 6)}", "train.val_every=100000",
        "train.ckpt_every=100000", f"train.channels_last={str(cl).lower()}",
        f"train.amp={'bf16' if bf16 else 'none'}", "train.device=cpu",
        f"train.threads={torch.get_num_threads()}",
    ])  # fmt: skip
    rates: list[float] = []
    train(cfg, out, on_event=lambda e: rates.append(e["img_s"]) if e["kind"] == "train" else None)
    rates = sorted(rates[1:] or rates)
    return rates[len(rates) // 2]


def bench_model(arch: str, args: argparse.Namespace, data: tuple[Path, Path], tmp: Path) -> None:
    sec = args.seconds
    bf16_ok = torch.backends.mkldnn.is_available() and not args.no_bf16
    params = count_parameters(build_model(arch, CLASSES, 3, (H, W)))
    print(f"\n== {arch}: {params / 1e6:.2f}M parameters at {CLASSES} classes, 3x{H}x{W}, "
          f"batch {BATCH}")  # fmt: skip
    variants = [("contiguous", False, False), ("channels_last", True, False)]
    if bf16_ok:
        variants.append(("channels_last+bf16", True, True))
    ref_tr, ref_inf = REFERENCE[arch]
    base_tr = base_inf = 0.0
    best = ("", 0.0, False, False)
    for name, cl, bf16 in variants:
        tr = train_img_s(arch, cl, bf16, sec)
        inf = BATCH / infer(arch, cl, bf16, BATCH, sec)
        base_tr, base_inf = base_tr or tr, base_inf or inf
        vs_tr = f"x{tr / base_tr:.2f}; {tr / ref_tr:.2f} x ref"
        vs_inf = f"x{inf / base_inf:.2f}; {inf / ref_inf:.2f} x ref"
        print(f"{name:<20} train {tr:7.1f} img/s ({vs_tr})  infer {inf:7.1f} img/s ({vs_inf})")
        if tr > best[1]:
            best = (name, tr, cl, bf16)
    for name, cl, bf16 in variants:
        ms = 1000 * infer(arch, cl, bf16, 1, sec / 2)
        print(f"{name:<20} batch 1: {ms:6.2f} ms per crop")
    name, _, cl, bf16 = best
    step = train_img_s(arch, cl, bf16, sec)
    for w in args.workers:
        e2e = e2e_img_s(arch, *data, w, cl, bf16, 2 * sec, tmp / f"{arch}-{w}-{time.time_ns()}")
        print(f"end to end ({name}, {w} DataLoader worker(s)): {e2e:7.1f} img/s vs model step "
              f"{step:7.1f} img/s: ratio {e2e / step:.2f}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=8.0, help="per measurement")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--images", type=int, default=3000, help="LMDB size (end to end)")
    ap.add_argument("--models", nargs="+", default=["crnn", "svtr_tiny"])
    ap.add_argument("--no-bf16", action="store_true", help="skip the bf16 autocast variant")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, {os.cpu_count()} CPUs, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")  # fmt: skip
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        data = make_lmdb(tmp, args.images, 2)
        for arch in args.models:
            bench_model(arch, args, data, tmp)
    print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
