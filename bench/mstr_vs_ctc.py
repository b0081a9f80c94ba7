"""mSTR (Spotter, Spotter + Refiner) vs a CTC baseline on one small synthetic
multilingual set covering all seven MLT script groups, with the same CPU time budget.

    /work/venv/bin/python bench/mstr_vs_ctc.py --workdir /tmp/mstr_bench --budget 300

Steps: `synth words` (train + a disjoint-seed test set) and `synth chars` for the
languages; CTC baseline (`configs/tiny.yaml` CRNN, charset = training labels) trained
for `budget` seconds; mSTR (tiny variants, batch 32 like the baseline) gets the same
total: mCLIP 25 %, Spotter 50 %, Refiner 25 % (bank exported in between, not
counted). Training time is turned into steps by a short calibration run per model.
Prints per-script WRR/CRR (profile mstr) and img/s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

LANGS = "en,ar,bn,hi,zh,ja,ko"  # one language per MLT group


def synth(work: Path, langs: str, words: int, test: int, per_char: int) -> dict[str, Path]:
    from strtool.synth.chars import synth_chars
    from strtool.synth.words import synth_words

    paths = {k: work / k for k in ("train", "test", "chars")}
    if not paths["train"].exists():
        synth_words(paths["train"], words, langs, seed=1, workers=2)
    if not paths["test"].exists():
        synth_words(paths["test"], test, langs, seed=2, workers=2)
    if not paths["chars"].exists():
        synth_chars(paths["chars"], langs, per_char=per_char, seed=3, workers=2)
    return paths


def _common(threads: int) -> list[str]:
    return [f"train.threads={threads}", "train.device=cpu", "train.channels_last=false",
            "data.workers=1", "train.log_every=10", "train.amp=none"]  # fmt: skip


def steps_for(train_fn: Any, seconds: float, probe_steps: int = 6) -> int:
    """Optimiser steps that fit in `seconds`, from a short timed probe run."""
    tmp = Path(tempfile.mkdtemp(prefix="probe-"))
    times: list[float] = []

    def on_event(e: dict[str, Any]) -> None:
        if e["kind"] == "train":
            times.append(time.perf_counter())

    start = time.perf_counter()
    train_fn(probe_steps, tmp / "run", on_event)
    shutil.rmtree(tmp, ignore_errors=True)
    per_step = (time.perf_counter() - start) / probe_steps
    if len(times) >= 2:  # excludes setup: time between the logged steps
        per_step = (times[-1] - times[0]) / max(probe_steps - 1, 1)
    steps = max(int(seconds / max(per_step, 1e-3)), 24)
    print(f"  {per_step:.3f} s/step -> {steps} steps for {seconds:.0f} s", file=sys.stderr)
    return steps


def run_ctc(paths: dict[str, Path], out: Path, budget: float, threads: int) -> Path:
    from strtool.engine.config import load_run_config
    from strtool.engine.loop import train
    from strtool.paths import configs_dir

    def fn(steps: int, output: Path, on_event: Any = None) -> None:
        cfg = load_run_config(configs_dir() / "tiny.yaml", _common(threads) + [
            f"data.train=[{paths['train']}]", f"train.steps={steps}", "train.log_every=1",
            f"train.val_every={steps}", "model.channels=3",
        ])  # fmt: skip
        train(cfg, output, on_event=on_event)

    fn(steps_for(fn, budget), out)
    return out / "last.pt"


def _mstr(config: str, overrides: list[str], steps: int, output: Path, on_event: Any) -> None:
    from strtool.mstr.config import load_mstr_config
    from strtool.mstr.train import train_mstr
    from strtool.paths import configs_dir

    cfg = load_mstr_config(configs_dir() / config, overrides + [
        f"train.steps={steps}", f"train.val_every={steps}", "train.log_every=1",
    ])  # fmt: skip
    train_mstr(cfg, output, on_event=on_event)


def run_mstr(paths: dict[str, Path], work: Path, budget: float, threads: int, langs: str) -> Path:
    from strtool.mstr.bank import export_bank

    base = _common(threads)
    stages = [
        ("mclip.yaml", base + [f"data.train=[{paths['chars']}]", "train.batch_size=256",
                               "model.arch=mclip_tiny"], 0.25, "mclip"),
    ]  # fmt: skip
    for config, ov, share, name in stages:

        def fn(steps: int, output: Path, on_event: Any = None, c=config, o=ov) -> None:
            _mstr(c, o, steps, output, on_event)

        fn(steps_for(fn, share * budget), work / name)
    bank, _ = export_bank(work / "mclip" / "last.pt", langs)
    bank.save(work / "bank.pt")
    words = [f"data.train=[{paths['train']}]", "train.batch_size=32"]
    for config, ov, share, name in [
        ("spotter.yaml", base + words + [f"mstr.bank={work / 'bank.pt'}",
                                         "model.arch=spotter_tiny"], 0.5, "spotter"),
        ("refiner.yaml", base + words + [f"mstr.spotter={work / 'spotter' / 'last.pt'}",
                                         "mstr.source=spotter", "model.arch=refiner_tiny"],
         0.25, "refiner"),
    ]:  # fmt: skip

        def fn2(steps: int, output: Path, on_event: Any = None, c=config, o=ov) -> None:
            _mstr(c, o, steps, output, on_event)

        fn2(steps_for(fn2, share * budget), work / name)
    return work / "refiner" / "last.pt"


def rows(report: dict[str, Any]) -> dict[str, tuple[float, float, int]]:
    return {r["group"]: (r["wrr"], r["crr"], r["n"]) for r in report["rows"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/mstr_bench"))
    ap.add_argument("--langs", default=LANGS)
    ap.add_argument("--words", type=int, default=3500)
    ap.add_argument("--test", type=int, default=700)
    ap.add_argument("--per-char", type=int, default=2)
    ap.add_argument("--budget", type=float, default=300.0, help="CPU seconds per system")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    paths = synth(work, args.langs, args.words, args.test, args.per_char)
    ctc = run_ctc(paths, work / "ctc", args.budget, args.threads) if not (
        work / "ctc" / "last.pt").exists() else work / "ctc" / "last.pt"  # fmt: skip
    ref = work / "refiner" / "last.pt"
    if not ref.exists():
        ref = run_mstr(paths, work, args.budget, args.threads, args.langs)
    from strtool.engine.evaluate import evaluate_checkpoint
    from strtool.mstr.infer import evaluate_mstr

    t0 = time.perf_counter()
    c = evaluate_checkpoint(ctc, [paths["test"]], profile="mstr", device="cpu")
    c_img_s = c["n"] / (time.perf_counter() - t0)
    m = evaluate_mstr(ref, [paths["test"]], profile="mstr", device="cpu")
    s_spot = evaluate_mstr(work / "spotter" / "last.pt", [paths["test"]], profile="mstr",
                           device="cpu")  # fmt: skip
    table = {"ctc": rows(c), "spotter": rows(m["spotter"]), "spotter+refiner": rows(m["refined"])}
    speed = {"ctc": c_img_s, "spotter": s_spot["img_s"], "spotter+refiner": m["img_s"]}
    groups = list(table["ctc"])
    print(f"budget {args.budget:.0f} s per system, test n={c['n']}, profile mstr")
    print(f"{'group':<8}" + "".join(f"{k:>24}" for k in table))
    for g in groups:
        cells = "".join(
            f"{f'WRR {100 * t[g][0]:5.1f} CRR {100 * t[g][1]:5.1f}':>24}" if g in t else " " * 24
            for t in table.values()
        )
        print(f"{g:<8}{cells}")
    print(f"{'img/s':<8}" + "".join(f"{speed[k]:>24.1f}" for k in table))
    (work / "results.json").write_text(json.dumps({"table": table, "img_s": speed}, indent=1))


if __name__ == "__main__":
    main()
