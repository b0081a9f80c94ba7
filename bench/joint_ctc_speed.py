"""Speed and CER of joint CTC/attention decoding against plain decoding, same model,
same lines, same run.

An img2seq line model with a CTC head (`img2seq.ctc_weight` > 0 in training) reads the
lines of an LMDB greedily, with beam search, and with joint CTC/attention decoding
(`--joint-ctc W --beam B`). Each variant reads every line once untimed (warm-up), then
`--rounds` times timed, in interleaved order; the figure is the fastest round (other
processes only slow a round down), ms per line at batch `--batch`, and the ratio
against greedy decoding. CER per language and pooled come from the last round.

    .venv/bin/python bench/joint_ctc_speed.py --model snapshots/i2s_h8_long_fp16.pt \\
        --data lines.lmdb [--joint-ctc 0.9] [--beam 3] [--batch 16] [--threads 2]
    .venv/bin/python bench/joint_ctc_speed.py --quick   # smoke run: a tiny hybrid model
        # trained 2 steps, on 6 rendered lines (figures not meaningful)

Lines for a real run: `strtool synth lines --lang en,ar --fonts heldout -n 60 -o lines.lmdb`.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from stopping import run_bench

from strtool.data.dataset import LmdbDataset
from strtool.engine.reader import open_reader
from strtool.evaluation.lines import score_lines
from strtool.tasks.base import DecodingOptions


def _variants(args: argparse.Namespace) -> dict[str, DecodingOptions]:
    return {
        "greedy": DecodingOptions(beam=1, joint_ctc=0.0),
        f"beam {args.beam}": DecodingOptions(beam=args.beam, joint_ctc=0.0),
        f"joint {args.joint_ctc} beam 1": DecodingOptions(beam=1, joint_ctc=args.joint_ctc),
        f"joint {args.joint_ctc} beam {args.beam}": DecodingOptions(
            beam=args.beam, joint_ctc=args.joint_ctc
        ),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    readers = {name: open_reader(args.model, "cpu", decoding=opts)
               for name, opts in _variants(args).items()}  # fmt: skip
    data = LmdbDataset([args.data], transform=next(iter(readers.values())).transform)
    times: dict[str, list[float]] = {name: [] for name in readers}
    cer: dict[str, dict[str, float]] = {}
    names = list(readers)
    for r in range(args.rounds + 1):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            t0 = time.perf_counter()
            res = readers[name].read_dataset(data, args.batch)
            dt = time.perf_counter() - t0
            if r == 0:
                continue  # warm-up
            times[name].append(1000 * dt / len(res.preds))
            report = score_lines(res.preds, res.gts, res.langs)
            cer[name] = {row.name: row.cer for row in report.rows}
    return {"ms": {n: min(v) for n, v in times.items()}, "cer": cer, "lines": len(data)}


def report(args: argparse.Namespace, res: dict[str, Any]) -> None:
    base = res["ms"]["greedy"]
    langs = sorted(res["cer"]["greedy"], key=lambda k: (k == "pooled", k))
    print(f"{res['lines']} lines, batch {args.batch}; ms/line = fastest of {args.rounds} rounds")
    print(f"{'decoding':<22} {'ms/line':>8} {'x greedy':>9}  " + "  ".join(
        f"CER {g:>6}" for g in langs))  # fmt: skip
    for name, ms in res["ms"].items():
        cers = "  ".join(f"{100 * res['cer'][name][g]:9.1f}%" for g in langs)
        print(f"{name:<22} {ms:8.1f} {ms / base:9.2f}  {cers}")


def _quick_model(tmp: Path) -> tuple[Path, Path]:
    """An untrained tiny hybrid img2seq checkpoint (2 steps) and a few rendered lines."""
    from typer.testing import CliRunner

    from strtool.cli import app
    from strtool.engine.config import load_run_config
    from strtool.engine.loop import train

    lines = tmp / "lines.lmdb"
    res = CliRunner().invoke(app, ["synth", "lines", "--lang", "en", "-n", "6", "-o",
                                   str(lines), "-q"])  # fmt: skip
    assert res.exit_code == 0, res.output
    cfg = load_run_config("img2seq_line_tiny", [
        f"data.train=[{lines}]", "train.steps=2", "train.batch_size=2", "train.threads=1",
        "img2seq.ctc_weight=0.3", "data.workers=0", "data.max_len=120",
    ])  # fmt: skip
    train(cfg, tmp / "run")
    return tmp / "run" / "last.pt", lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, help="img2seq checkpoint with a CTC head")
    ap.add_argument("--data", type=Path, help="LMDB of text lines")
    ap.add_argument("--joint-ctc", type=float, default=0.9)
    ap.add_argument("--beam", type=int, default=3)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="smoke run (figures not meaningful)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"torch {torch.__version__}, {args.threads} threads, load average {load}")
    if args.quick:
        with tempfile.TemporaryDirectory() as tmp:
            args.model, args.data = _quick_model(Path(tmp))
            args.rounds, args.batch = 1, 4
            report(args, run(args))
        return
    if args.model is None or args.data is None:
        ap.error("--model and --data are needed (or --quick)")
    report(args, run(args))


if __name__ == "__main__":
    run_bench(main)
