"""Training-step speed of strtool's CTC models next to a reference measured in the same run.

The reference is the CLL-STR CRNN training step (ku21fan/CLL-STR, which uses the CRNN of
the clovaai deep-text-recognition-benchmark), re-implemented below from its description:
- VGG features: 3x3 convs 64, 128, 256, 256, 512, 512 (ReLU; BN without conv bias on the
  5th and 6th), max-pools 2x2 after the 1st and 2nd, (2,1) after the 4th and 6th, then a
  2x2 valid conv 512: 3x32x100 -> 512x1x24;
- adaptive average pool of the height to 1, two BiLSTM blocks (LSTM 512 -> 2x256 +
  Linear -> 256, then 256 -> 2x256 -> 256), Linear(256, classes);
- the step: forward, `log_softmax(2).permute(1, 0, 2)`, `nn.CTCLoss(zero_infinity=True)`,
  `model.zero_grad()`, backward, `clip_grad_norm_(5)`, AdamW (lr 1e-3).

strtool's step is the engine's: forward, `strtool.tasks.ctc.ctc_loss` (float32
log-softmax), zero_grad, backward, clip 5, AdamW. Every model gets the same batch,
threads and input (3x32x100, random images and 8-character targets of 4,680 classes),
fp32, in contiguous and channels_last memory format. `tiny` (`crnn_tiny`, the demo
preset) runs on its own preset input, 1x32x128, with the same batch.

The variants are timed interleaved (one call of each per round, several rounds), so a
change in the machine's load hits all of them alike; the rate comes from the faster
quartile of a variant's calls (other processes only slow calls down), the median call's
rate follows in parentheses. Ratios are against the reference measured here: for
`crnn` the same architecture, so the ratio is the implementation's efficiency; for
`svtr` and `tiny` (other architectures) it is their throughput relative to the reference
CRNN on this machine. The last lines say which memory format is faster per
architecture, and by how much.

    .venv/bin/python bench/train_speed.py [--threads 2] [--batch 64] [--rounds 8] [--infer]
    .venv/bin/python bench/train_speed.py --quick   # a smoke run (~20 s), figures not meaningful
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from strtool.models import ModelSpec, build_model, count_parameters
from strtool.tasks.ctc import ctc_loss

CLASSES, LABEL_LEN, GRAD_CLIP = 4680, 8, 5.0
FORMATS = ("contiguous", "channels_last")


# -- the reference: CLL-STR's CRNN and training step, re-implemented -----------------


def _vgg_features(in_channels: int, width: int = 512) -> nn.Sequential:
    """The benchmark's VGG feature extractor: (N, C, 32, W) -> (N, 512, 1, W/4 - 1)."""
    c1, c2, c3 = width // 8, width // 4, width // 2

    def conv(cin: int, cout: int, bn: bool = False, k: int = 3, p: int = 1) -> list[nn.Module]:
        layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, 1, p, bias=not bn)]
        return layers + ([nn.BatchNorm2d(cout)] if bn else []) + [nn.ReLU(inplace=True)]

    return nn.Sequential(
        *conv(in_channels, c1), nn.MaxPool2d(2, 2),
        *conv(c1, c2), nn.MaxPool2d(2, 2),
        *conv(c2, c3), *conv(c3, c3), nn.MaxPool2d((2, 1), (2, 1)),
        *conv(c3, width, bn=True), *conv(width, width, bn=True), nn.MaxPool2d((2, 1), (2, 1)),
        *conv(width, width, k=2, p=0),
    )  # fmt: skip


class _RefBiLSTM(nn.Module):
    """LSTM (bidirectional, batch first) + Linear(2 x hidden, out), as in the benchmark."""

    def __init__(self, cin: int, hidden: int, cout: int) -> None:
        super().__init__()
        self.rnn = nn.LSTM(cin, hidden, bidirectional=True, batch_first=True)
        self.linear = nn.Linear(2 * hidden, cout)

    def forward(self, x: Tensor) -> Tensor:
        self.rnn.flatten_parameters()
        y, _ = self.rnn(x)
        return self.linear(y)


class RefCRNN(nn.Module):
    """CLL-STR's CRNN (`Model` with VGG / BiLSTM / CTC): (N, 3, 32, 100) -> (N, 24, classes)."""

    def __init__(self, num_classes: int, in_channels: int = 3, hidden: int = 256) -> None:
        super().__init__()
        self.features = _vgg_features(in_channels)
        self.pool = nn.AdaptiveAvgPool2d((None, 1))
        self.sequence = nn.Sequential(_RefBiLSTM(512, hidden, hidden),
                                      _RefBiLSTM(hidden, hidden, hidden))  # fmt: skip
        self.prediction = nn.Linear(hidden, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        f = self.features(x).permute(0, 3, 1, 2)  # (N, W, C, H)
        f = self.pool(f).squeeze(3)  # (N, W, C)
        return self.prediction(self.sequence(f).contiguous())


def ref_step(model: nn.Module, x: Tensor, targets: Tensor, lengths: Tensor) -> Callable[[], None]:
    """The reference training step (CLL-STR `train.py`, CTC branch)."""
    criterion = nn.CTCLoss(zero_infinity=True)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def step() -> None:
        preds = model(x)
        sizes = torch.IntTensor([preds.size(1)] * preds.size(0))
        loss = criterion(preds.log_softmax(2).permute(1, 0, 2), targets, sizes, lengths)
        model.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        opt.step()

    return step


# -- strtool's models and step -------------------------------------------------------


def strtool_step(
    model: nn.Module, x: Tensor, targets: Tensor, lengths: Tensor
) -> Callable[[], None]:
    """The engine's CTC step: forward, float32 CTC, zero_grad, backward, clip, AdamW."""
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)

    def step() -> None:
        loss = ctc_loss(model(x), targets, lengths)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        opt.step()

    return step


@dataclass(frozen=True)
class Model:
    """A benchmarked model: `label` in the output, how to build it, its input (C, H, W)."""

    label: str
    build: Callable[[], nn.Module]
    shape: tuple[int, int, int]
    reference: bool = False


def models(names: list[str]) -> list[Model]:
    def ours(arch: str, c: int, h: int, w: int) -> Callable[[], nn.Module]:
        return lambda: build_model(
            arch, ModelSpec(channels=c, img_size=(h, w), num_classes=CLASSES)
        )

    table = {
        "ref": Model("ref-crnn", lambda: RefCRNN(CLASSES), (3, 32, 100), reference=True),
        "crnn": Model("crnn", ours("crnn", 3, 32, 100), (3, 32, 100)),
        "svtr": Model("svtr_tiny", ours("svtr_tiny", 3, 32, 100), (3, 32, 100)),
        "tiny": Model("crnn_tiny", ours("crnn_tiny", 1, 32, 128), (1, 32, 128)),
    }
    return [table["ref"], *(table[n] for n in names)]


# -- timing --------------------------------------------------------------------------


def _variant(m: Model, fmt: str, batch: int, train: bool) -> tuple[Callable[[], None], int]:
    """A closure running one training step (or inference pass) of `m` in format `fmt`."""
    torch.manual_seed(0)
    model = m.build().train(train)
    x = torch.randn(batch, *m.shape)
    if fmt == "channels_last":
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        x = x.contiguous(memory_format=torch.channels_last)
    targets = torch.randint(1, CLASSES, (batch * LABEL_LEN,))
    lengths = torch.full((batch,), LABEL_LEN, dtype=torch.long)
    if train:
        make = ref_step if m.reference else strtool_step
        return make(model, x, targets, lengths), count_parameters(model)

    @torch.inference_mode()
    def infer() -> None:
        model(x)

    return infer, count_parameters(model)


@dataclass(frozen=True)
class Timing:
    """`rounds` interleaved calls per variant (one call of each per round) after
    `warmup` calls of each."""

    rounds: int = 8
    warmup: int = 2


QUICK = Timing(rounds=1, warmup=0)


def measure(
    steps: dict[tuple[str, str], Callable[[], None]], timing: Timing
) -> dict[tuple[str, str], list[float]]:
    """Seconds of every call of every step, one list entry per round."""
    for step in steps.values():
        for _ in range(timing.warmup):
            step()
    times: dict[tuple[str, str], list[float]] = {k: [] for k in steps}
    for _ in range(timing.rounds):
        for key, step in steps.items():
            t0 = time.perf_counter()
            step()
            times[key].append(time.perf_counter() - t0)
    return times


def _quartile(values: list[float]) -> float:
    """The lower quartile: other processes only ever slow a call down, so the faster
    calls estimate the uncontended speed better than the mean or the median."""
    v = sorted(values)
    return v[(len(v) - 1) // 4]


def run(ms: list[Model], batch: int, timing: Timing, train: bool) -> dict:
    """Images/s of every model and format (lower-quartile and median call time), plus
    parameter counts."""
    steps, params = {}, {}
    for m in ms:
        for fmt in FORMATS:
            steps[m.label, fmt], params[m.label] = _variant(m, fmt, batch, train)
    times = measure(steps, timing)
    rate = {k: batch / _quartile(v) for k, v in times.items()}
    median = {k: batch / statistics.median(v) for k, v in times.items()}
    return {"rate": rate, "median": median, "params": params}


# -- report --------------------------------------------------------------------------


def report(title: str, ms: list[Model], res: dict) -> None:
    rate, median, params = res["rate"], res["median"], res["params"]
    ref = ms[0].label
    print(f"\n{title}: images/s from the faster quartile of calls (from the median call)")
    print(f"{'model':<10} {'params':>7} {'input':>9} {'contiguous':>17} {'channels_last':>17}")
    for m in ms:
        cells = [f"{rate[m.label, f]:7.1f} ({median[m.label, f]:6.1f})" for f in FORMATS]
        shape = "x".join(map(str, m.shape))
        print(
            f"{m.label:<10} {params[m.label] / 1e6:6.2f}M {shape:>9} {cells[0]:>17} {cells[1]:>17}"
        )
    best_ref = max(rate[ref, f] for f in FORMATS)
    print(f"ratios against the in-run reference ({ref}, CLL-STR's step re-implemented):")
    for m in ms[1:]:
        same = ", ".join(f"{f} {rate[m.label, f] / rate[ref, f]:.2f}x" for f in FORMATS)
        best = max(rate[m.label, f] for f in FORMATS) / best_ref
        note = "" if m.label == "crnn" else "  (another architecture: relative throughput)"
        print(f"  {m.label:<10} same format: {same}; best vs best {best:.2f}x{note}")
    print("faster memory format per architecture:")
    for m in ms:
        c, cl = (rate[m.label, f] for f in FORMATS)
        fmt, gain = ("channels_last", cl / c) if cl >= c else ("contiguous", c / cl)
        print(f"  {m.label:<10} {fmt} (x{gain:.2f} over the other)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=8, help="interleaved calls per variant")
    ap.add_argument("--models", nargs="+", default=["crnn", "svtr", "tiny"],
                    choices=["crnn", "svtr", "tiny"])  # fmt: skip
    ap.add_argument("--infer", action="store_true", help="also time inference (eval mode)")
    ap.add_argument("--quick", action="store_true", help="smoke run (figures not meaningful)")
    args = ap.parse_args()
    timing = QUICK if args.quick else Timing(args.rounds)
    if args.quick:
        args.batch = 2
    torch.set_num_threads(args.threads)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"torch {torch.__version__}, {args.threads} threads, {os.cpu_count()} CPUs, "
          f"batch {args.batch}, {timing.rounds} rounds, fp32, "
          f"load average {load}")  # fmt: skip
    ms = models(args.models)
    step = "training step (forward + CTC + backward + clip + AdamW)"
    report(step, ms, run(ms, args.batch, timing, train=True))
    if args.infer:
        res = run(ms, args.batch, timing, train=False)
        report("inference (eval mode, inference_mode)", ms, res)
    print(f"\nload average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
