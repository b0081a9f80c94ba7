"""Text lines: the img2seq recogniser vs a CTC line model, same CPU time, tested on
lines rendered with font families held out of training.

    python bench/img2seq_lines.py --workdir /tmp/i2s_lines --langs en,ar --budget 1800

Data (`bench/img2seq_data.py`, reused when present in `--workdir`): `--train` lines
per language rendered with the shipped training fonts, `--test` lines per language
with the held-out families (`role: heldout` in `strtool/fonts/manifest.json`), 15-60
characters of corpus words, numbers and punctuation. Or `--data-dir` holding
`train` and `test` line LMDBs (e.g. from `strtool synth lines`).

Models, each trained for `--budget` CPU-seconds (user + system time of the trainer and
its loader workers, so 2 busy threads spend 2 CPU-seconds per second; a short probe run
turns them into steps, `mstr_vs_ctc.steps_for`), charset = the languages'
charsets, unknown characters -> UNK:
- img2seq: `configs/img2seq_line.yaml` with `--img2seq-arch` (default img2seq_small),
  lines fit into `--height` x `--width` (aspect kept, padded), greedy (`--beam`);
  with `--hybrid W` also the same model trained with `img2seq.ctc_weight=W` (a CTC
  loss on the encoder beside the decoder's cross-entropy).
- CTC: `configs/tiny.yaml` with `--ctc-arch` (default crnn_small), height 32, width
  `--ctc-width` (long input: 127 CTC steps at 512), aspect kept, space class on.
- `--from-default`: both families started from the shipped default model, which
  already reads words (its CPU-hours are not in `--budget`): `img2seq_h8_init`
  (`configs/img2seq_line_h8.yaml`, its h8 encoder and CTC head, 32 x `--width`) and
  `ctc_h8_init` (the default model fine-tuned as a line model at `--ctc-width`), both
  at `--init-lr`. The held-out test fonts are held out of the default model too.
- `--joint-ctc W`: the models with a CTC head (`img2seq_hybrid`, `img2seq_h8_init`)
  are also read with joint CTC/attention decoding at weight W (rows `NAME+joint`;
  `strtool predict/eval --joint-ctc`). Trained runs are reused, so adding it later
  only reads.

Prints per language CER (with its 95 % interval) and WER (strings,
`strtool.evaluation.lines` via `img2seq_eval.py`; no WER for CJK) and inference ms
per line at batch `--batch` on this machine, as a table on stderr and JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch
from img2seq_data import write_set
from img2seq_eval import evaluate
from mstr_vs_ctc import steps_for
from stopping import run_bench

from strtool.engine.config import load_run_config
from strtool.engine.loop import train
from strtool.engine.reader import resolve_model
from strtool.tasks.base import DecodingOptions


def lines_data(args: argparse.Namespace) -> dict[str, Path]:
    if args.data_dir:
        d = Path(args.data_dir)
        return {"train": d / "train", "test": d / "test"}
    work, langs = Path(args.workdir), args.langs.split(",")
    work.mkdir(parents=True, exist_ok=True)
    return {
        "train": write_set(work / "train", langs, "train", args.train, 1, "lines", 48),
        "test": write_set(work / "test", langs, "heldout", args.test, 2, "lines", 48),
    }


def common(args: argparse.Namespace, data: dict[str, Path], steps: int) -> list[str]:
    return [
        f"data.train=[{data['train']}]", f"data.charset={args.langs}", "data.unk=true",
        "data.max_len=64", "data.workers=1", f"train.threads={args.threads}",
        f"train.steps={steps}", "train.log_every=1", f"train.val_every={steps}",
        f"train.ckpt_every={max(steps, 1)}", f"train.batch_size={args.batch_size}",
    ]  # fmt: skip


def img2seq_fn(args: argparse.Namespace, data: dict[str, Path], ctc_weight: float = 0.0) -> Any:
    def fn(steps: int, output: Path, on_event: Any = None) -> None:
        cfg = load_run_config("img2seq_line", common(args, data, steps) + [
            f"model.arch={args.img2seq_arch}", f"model.height={args.height}",
            f"model.width={args.width}", f"img2seq.beam_width={args.beam}",
            f"train.lr={args.img2seq_lr}", f"img2seq.ctc_weight={ctc_weight}",
        ])  # fmt: skip
        train(cfg, output, on_event=on_event)

    return fn


def h8_init_fn(args: argparse.Namespace, data: dict[str, Path]) -> Any:
    """`--from-default`: `img2seq_line_h8` (32 px high, `--width`) started from the
    shipped default model (`--init default`: its h8 encoder and CTC head)."""

    def fn(steps: int, output: Path, on_event: Any = None) -> None:
        cfg = load_run_config("img2seq_line_h8", common(args, data, steps) + [
            "model.height=32", f"model.width={args.width}", f"img2seq.beam_width={args.beam}",
            f"train.lr={args.init_lr}",
        ])  # fmt: skip
        train(cfg, output, init=resolve_model("default"), on_event=on_event)

    return fn


def ctc_init_fn(args: argparse.Namespace, data: dict[str, Path]) -> Any:
    """`--from-default`: the default model itself (h8_small CTC, right-to-left runs in
    visual order, as it was trained) fine-tuned on the lines at `--ctc-width`."""

    def fn(steps: int, output: Path, on_event: Any = None) -> None:
        cfg = load_run_config("tiny", common(args, data, steps) + [
            "model.arch=h8_small", "model.height=32", f"model.width={args.ctc_width}",
            "model.keep_ratio=true", "model.channels=1", "data.space=true",
            "data.ctc_order=visual", f"train.lr={args.init_lr}",
        ])  # fmt: skip
        train(cfg, output, init=resolve_model("default"), on_event=on_event)

    return fn


def ctc_fn(args: argparse.Namespace, data: dict[str, Path]) -> Any:
    def fn(steps: int, output: Path, on_event: Any = None) -> None:
        cfg = load_run_config("tiny", common(args, data, steps) + [
            f"model.arch={args.ctc_arch}", "model.height=32", f"model.width={args.ctc_width}",
            "model.keep_ratio=true", "model.channels=1", "data.space=true",
            f"train.lr={args.ctc_lr}",
        ])  # fmt: skip
        train(cfg, output, on_event=on_event)

    return fn


def run_model(name: str, fn: Any, work: Path, budget: float) -> Path:
    out = work / f"run_{name}"
    if not (out / "last.pt").is_file():
        print(f"{name}: calibrating", file=sys.stderr)
        fn(steps_for(fn, budget, probe_steps=12, warmup=4), out)
    return out / "last.pt"


def print_table(results: dict[str, Any]) -> None:
    print(f"{'model':10} {'lang':6} {'n':>5} {'CER % [95 % CI]':>20} {'WER %':>7} "
          f"{'ms/line':>8}", file=sys.stderr)  # fmt: skip
    for name, r in results.items():
        for lang, row in r["rows"].items():
            w = "-" if row["wer"] is None else f"{100 * row['wer']:.1f}"
            lo, hi = row["cer_95"]
            ci = f"{100 * row['cer']:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]"
            print(f"{name:10} {lang:6} {row['n']:5d} {ci:>20} {w:>7} "
                  f"{r['ms_per_image']:8.1f}", file=sys.stderr)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", default="/tmp/img2seq_lines")
    ap.add_argument("--data-dir", default=None, help="folder with train/test line LMDBs")
    ap.add_argument("--langs", default="en,ar")
    ap.add_argument("--train", type=int, default=4000, help="training lines per language")
    ap.add_argument("--test", type=int, default=200, help="test lines per language")
    ap.add_argument("--budget", type=float, default=1800.0, help="CPU seconds per model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--img2seq-arch", default="img2seq_small")
    ap.add_argument("--img2seq-lr", type=float, default=5e-4)
    ap.add_argument("--height", type=int, default=48)
    ap.add_argument("--width", type=int, default=768)
    ap.add_argument("--beam", type=int, default=1)
    ap.add_argument(
        "--hybrid",
        type=float,
        default=0.0,
        help="also an img2seq model with img2seq.ctc_weight=W (hybrid CTC/attention)",
    )
    ap.add_argument("--ctc-arch", default="crnn_small")
    ap.add_argument("--ctc-width", type=int, default=512)
    ap.add_argument("--ctc-lr", type=float, default=2e-3)
    ap.add_argument("--batch", type=int, default=16, help="inference batch")
    ap.add_argument(
        "--from-default",
        action="store_true",
        help="also both families started from the shipped default model: img2seq_line_h8 "
        "(its encoder and CTC head) and the default model fine-tuned as a CTC line model",
    )
    ap.add_argument("--init-lr", type=float, default=3e-4, help="learning rate of those two")
    ap.add_argument(
        "--joint-ctc",
        type=float,
        default=0.0,
        help="also read every img2seq model that has a CTC head with joint CTC/attention "
        "decoding at this weight (rows NAME+joint, beam --beam)",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    data = lines_data(args)
    results = {}
    models = [("img2seq", img2seq_fn(args, data)), ("ctc", ctc_fn(args, data))]
    if args.hybrid > 0:
        models.insert(1, ("img2seq_hybrid", img2seq_fn(args, data, args.hybrid)))
    if args.from_default:
        models += [
            ("img2seq_h8_init", h8_init_fn(args, data)),
            ("ctc_h8_init", ctc_init_fn(args, data)),
        ]
    for name, fn in models:
        ckpt = run_model(name, fn, work, args.budget)
        results[name] = evaluate(ckpt, data["test"], args.batch)
        if args.joint_ctc > 0 and name in ("img2seq_hybrid", "img2seq_h8_init"):
            joint = DecodingOptions(args.beam, args.joint_ctc)
            results[f"{name}+joint"] = evaluate(ckpt, data["test"], args.batch, decoding=joint)
    print_table(results)
    print(json.dumps({"args": vars(args), "results": results}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    run_bench(main)
