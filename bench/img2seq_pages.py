"""Pages: an img2seq page model initialised from a line model (the curriculum), trained
on synthetic pages of 3-8 lines, tested on pages in font families held out of training.

    python bench/img2seq_pages.py --workdir /tmp/i2s_pages --langs en,ar \
        --line-model /tmp/i2s_lines/run_img2seq/last.pt --budget 5400

Data (`bench/img2seq_data.py`, reused when present in `--workdir`): `--train` pages per
language with the training fonts, `--test` pages with the held-out families, each
3-8 lines of 10-45 characters (ragged right, indents, varied spacing, slight skew,
paper-like backgrounds), label = lines joined by "\\n"; `--line-px` pixels per line
box. Or `--data-dir` with `train` and `test` page LMDBs (`strtool synth pages`). Or
`--stream`: the page model trains on pages streamed by `synth pages` (`data.synth.kind:
pages`, the training fonts; `--min-lines`/`--max-lines`, `--page-set key=value`) and
is tested on `synth pages` drawn with the held-out families.

Budgets are CPU-seconds of the trainer and its loader workers (2 busy threads spend 2
CPU-seconds per second; `mstr_vs_ctc.steps_for`). Without `--line-model`, a line model
is trained first (`--line-budget` CPU-seconds on
`--line-train` lines per language, `configs/img2seq_line.yaml`); the page model
(`configs/img2seq_page.yaml`, same arch, pages fit into `--height` x `--width`) starts
from it with `--init` and trains for `--budget` CPU-seconds. Prints per language the page
CER (with its 95 % interval), WER and the line CER (`strtool.evaluation.lines` via
`img2seq_eval.py`), the share of pages read with the right number of lines, the gt
lines dropped or merged, the split and inserted lines, and ms per page; a table on
stderr, JSON on stdout.
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


def overrides(args: argparse.Namespace, lmdb: Path | None, steps: int) -> list[str]:
    """Settings of a line or page run; `lmdb` None = pages streamed (`--stream`)."""
    if lmdb is not None:
        data = [f"data.train=[{lmdb}]"]
    else:
        data = ["data.synth.kind=pages", f"data.synth.langs={args.langs}",
                f"data.synth.overrides=[{','.join(repr(x) for x in page_sets(args))}]"]  # fmt: skip
    return data + [
        f"data.charset={args.langs}", "data.unk=true",
        "data.workers=1", f"train.threads={args.threads}", f"train.steps={steps}",
        "train.log_every=1", f"train.val_every={steps}", f"train.ckpt_every={steps}",
        f"model.arch={args.arch}",
    ]  # fmt: skip


def line_model(args: argparse.Namespace, work: Path) -> Path:
    if args.line_model:
        return Path(args.line_model)
    out = work / "run_line"
    if (out / "last.pt").is_file():
        return out / "last.pt"
    langs = args.langs.split(",")
    lines = write_set(work / "lines", langs, "train", args.line_train, 3, "lines", args.line_px)

    def fn(steps: int, output: Path, on_event: Any = None) -> None:
        cfg = load_run_config("img2seq_line", overrides(args, lines, steps) + [
            f"model.height={args.line_px}", f"model.width={args.line_width}",
            f"train.batch_size={args.line_batch}",
        ])  # fmt: skip
        train(cfg, output, on_event=on_event)

    print("line model: calibrating", file=sys.stderr)
    fn(steps_for(fn, args.line_budget, probe_steps=12, warmup=4), out)
    return out / "last.pt"


def page_sets(args: argparse.Namespace) -> list[str]:
    """`synth pages` settings of `--stream` (training stream and test pages alike)."""
    return [f"page.lines=[{args.min_lines},{args.max_lines}]", *args.page_set]


def synth_test(args: argparse.Namespace, work: Path) -> Path:
    """`--stream`'s test pages: `synth pages` with the held-out font families."""
    from strtool.config import load_config
    from strtool.synth.config import SynthConfig
    from strtool.synth.page import PAGE_PRESET, synth_pages

    out = work / "test_synth"
    if not out.exists():
        cfg = load_config(SynthConfig, PAGE_PRESET, page_sets(args))
        n = args.test * len(args.langs.split(","))
        synth_pages(out, n, args.langs, cfg, ["heldout"], seed=2, width=args.width)
    return out


def page_model(args: argparse.Namespace, work: Path, pages: Path | None, init: Path) -> Path:
    out = work / "run_page"
    if (out / "last.pt").is_file():
        return out / "last.pt"

    def fn(steps: int, output: Path, on_event: Any = None, start: Path | None = None) -> None:
        cfg = load_run_config("img2seq_page", overrides(args, pages, steps) + [
            f"model.height={args.height}", f"model.width={args.width}",
            f"train.batch_size={args.batch_size}", f"train.accum={args.accum}",
            f"data.max_len={args.max_len}",
        ])  # fmt: skip
        train(cfg, output, init=start, on_event=on_event)

    print("page model: calibrating", file=sys.stderr)
    steps = steps_for(fn, args.budget, probe_steps=8, warmup=3)
    fn(steps, out, start=init)
    return out / "last.pt"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", default="/tmp/img2seq_pages")
    ap.add_argument("--data-dir", default=None, help="folder with train/test page LMDBs")
    ap.add_argument("--langs", default="en,ar")
    ap.add_argument("--train", type=int, default=3000, help="training pages per language")
    ap.add_argument("--test", type=int, default=100, help="test pages per language")
    ap.add_argument("--budget", type=float, default=5400.0, help="CPU seconds, page model")
    ap.add_argument("--line-model", default=None, help="line checkpoint to start from")
    ap.add_argument("--line-budget", type=float, default=1800.0)
    ap.add_argument("--line-train", type=int, default=4000)
    ap.add_argument("--line-px", type=int, default=32, help="line box height in pixels")
    ap.add_argument("--line-width", type=int, default=512)
    ap.add_argument("--line-batch", type=int, default=16)
    ap.add_argument("--arch", default="img2seq_small")
    ap.add_argument("--height", type=int, default=320)
    ap.add_argument("--width", type=int, default=448)
    ap.add_argument("--max-len", type=int, default=400)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--accum", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8, help="inference batch")
    ap.add_argument("--stream", action="store_true",
                    help="train on pages streamed by `synth pages` (training fonts), test "
                         "on `synth pages` with the held-out families")  # fmt: skip
    ap.add_argument("--min-lines", type=int, default=3)
    ap.add_argument("--max-lines", type=int, default=8)
    ap.add_argument("--page-set", action="append", default=[],
                    help="more `synth pages` settings for --stream (key=value)")  # fmt: skip
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    langs = args.langs.split(",")
    pages: Path | None
    if args.data_dir:
        pages, test = Path(args.data_dir) / "train", Path(args.data_dir) / "test"
    elif args.stream:
        pages, test = None, synth_test(args, work)
    else:
        pages = write_set(work / "train", langs, "train", args.train, 1, "pages", args.line_px)
        test = write_set(work / "test", langs, "heldout", args.test, 2, "pages", args.line_px)
    line = line_model(args, work)
    result = evaluate(page_model(args, work, pages, line), test, args.batch)
    print(f"{'lang':6} {'n':>5} {'CER % [95 % CI]':>20} {'WER %':>7} {'line CER %':>10} "
          f"{'lines ok %':>10} {'dropped':>7} {'merged':>6} {'split':>5} {'extra':>5} "
          f"{'ms/page':>8}", file=sys.stderr)  # fmt: skip
    for lang, r in result["rows"].items():
        w = "-" if r["wer"] is None else f"{100 * r['wer']:.1f}"
        lo, hi = r["cer_95"]
        ci = f"{100 * r['cer']:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]"
        print(f"{lang:6} {r['n']:5d} {ci:>20} {w:>7} {100 * r['line_cer']:10.1f} "
              f"{100 * r['line_count_ok']:10.1f} {r['dropped_lines']:7d} "
              f"{r['merged_lines']:6d} {r['split_lines']:5d} {r['inserted_lines']:5d} "
              f"{result['ms_per_image']:8.1f}", file=sys.stderr)  # fmt: skip
    print(json.dumps({"args": vars(args), "line_model": str(line), "result": result},
                     ensure_ascii=False, indent=1))  # fmt: skip


if __name__ == "__main__":
    run_bench(main)
