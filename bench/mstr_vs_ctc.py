"""mSTR (Spotter, Spotter + Refiner) vs a CTC baseline on one small synthetic
multilingual set covering all seven MLT script groups, with the same CPU time budget.

    /work/venv/bin/python bench/mstr_vs_ctc.py --workdir /tmp/mstr_bench --budget 600

`--vocab demo` (default): the closed vocabulary of `strtool demo` (`strtool.demo_data`:
the 100 most frequent 2-6 code-point words per language), rendered with the demo's
synth settings: `train` (default 20000 crops), `val` (the same words, new renderings)
and `unseen` (other words made only of characters of the training words); `synth
chars` and the prototype bank are restricted to the vocabulary's characters, as the
CTC charset is to the training labels. `--vocab open`: `synth words` from the full
open vocabularies (train + a disjoint-seed `test`) and the full charsets (at small
budgets no tiny model learns anything there: thousands of CJK characters).

CTC baseline (`configs/tiny.yaml` CRNN, charset = training labels) trained for `budget`
seconds; mSTR (tiny variants, batch 32 like the baseline) gets the same total: mCLIP 25
%, Spotter 50 %, Refiner 25 % (bank exported in between, not counted), each at the
learning rate of its tiny preset (CTC 5e-3, Spotter 3e-3, Refiner 2e-3; mCLIP 1e-3 at
batch 256). Training time is turned into steps by a short calibration run per model.
Prints per-script WRR/CRR (profile mstr) per test split and img/s. Outputs go to
`<workdir>/<vocab>/` and are reused when present."""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from cputime import tree_cpu_seconds
from stopping import run_bench

LANGS = "en,ar,bn,hi,zh,ja,ko"  # one language per MLT group


def synth(work: Path, langs: str, words: int, test: int, per_char: int) -> dict[str, Path]:
    """Open vocabulary: `synth words` train/test and `synth chars` of the charsets."""
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


def synth_demo(
    work: Path, langs: str, words: int, test: int, per_char: int
) -> tuple[dict[str, Path], list[str]]:
    """Closed demo vocabulary: train/val/unseen LMDBs rendered by `demo_data` and
    `synth chars` of the vocabulary's characters. Returns (paths, characters)."""
    from strtool.demo.data import build_vocabulary, render_set
    from strtool.synth.chars import synth_chars

    codes = langs.split(",")
    vocab = build_vocabulary(codes)
    chars = sorted({c for ws in vocab.train.values() for w in ws for c in w})
    print(f"  demo vocabulary {vocab.fingerprint()}: {len(chars)} characters, "
          f"unseen words {sum(map(len, vocab.unseen.values()))}", file=sys.stderr)  # fmt: skip
    paths = {k: work / k for k in ("train", "val", "unseen", "chars")}
    render_set(paths["train"], words, vocab.train, seed=1, workers=2, tag="train")
    render_set(paths["val"], test, vocab.train, seed=2, workers=2, tag="val")
    render_set(paths["unseen"], test // 2, vocab.unseen, seed=3, workers=2, tag="unseen")
    if not paths["chars"].exists():
        synth_chars(paths["chars"], codes, per_char=per_char, seed=4, workers=2, only=chars)
    return paths, chars


def _common(threads: int) -> list[str]:
    return [f"train.threads={threads}", "train.device=cpu", "train.channels_last=false",
            "data.workers=1", "train.log_every=10", "train.amp=none"]  # fmt: skip


def steps_for(train_fn: Any, seconds: float, probe_steps: int = 16, warmup: int = 4) -> int:
    """Optimiser steps that fit in `seconds` of CPU time (this process and its loader
    workers, `cputime.tree_cpu_seconds`, so other load on the machine does not change
    the count), from a short probe run: the median CPU time between logged steps after
    `warmup` steps (setup, first-batch allocation and loader start-up excluded; they
    made a 6-step mean 10x too slow)."""
    tmp = Path(tempfile.mkdtemp(prefix="probe-"))
    times: list[float] = []

    def on_event(e: dict[str, Any]) -> None:
        if e["kind"] == "train":
            times.append(tree_cpu_seconds())

    start = tree_cpu_seconds()
    train_fn(probe_steps, tmp / "run", on_event)
    shutil.rmtree(tmp, ignore_errors=True)
    gaps = [b - a for a, b in zip(times[warmup:], times[warmup + 1 :], strict=False)]
    per_step = statistics.median(gaps) if gaps else (tree_cpu_seconds() - start) / probe_steps
    steps = max(int(seconds / max(per_step, 1e-3)), 24)
    print(f"  {per_step:.3f} CPU-s/step -> {steps} steps for {seconds:.0f} CPU-s", file=sys.stderr)
    return steps


def run_ctc(paths: dict[str, Path], out: Path, budget: float, threads: int) -> Path:
    from strtool.engine.config import load_run_config
    from strtool.engine.loop import train
    from strtool.paths import configs_dir

    def fn(steps: int, output: Path, on_event: Any = None) -> None:
        cfg = load_run_config(configs_dir() / "tiny.yaml", _common(threads) + [
            f"data.train=[{paths['train']}]", f"train.steps={steps}", "train.log_every=1",
            f"train.val_every={steps}", "model.channels=3", "model.keep_ratio=true",
        ])  # fmt: skip
        train(cfg, output, on_event=on_event)

    fn(steps_for(fn, budget), out)
    return out / "last.pt"


def _mstr(config: str, overrides: list[str], steps: int, output: Path, on_event: Any) -> None:
    from strtool.engine.config import load_run_config
    from strtool.engine.loop import train
    from strtool.paths import configs_dir

    cfg = load_run_config(configs_dir() / config, overrides + [
        f"train.steps={steps}", f"train.val_every={steps}", "train.log_every=1",
    ])  # fmt: skip
    train(cfg, output, on_event=on_event)


def make_bank(ckpt: Path, langs: str, only: list[str] | None) -> Any:
    """The prototype bank of the mCLIP checkpoint: the charsets of `langs`, restricted
    to the characters `only` when given."""
    from dataclasses import replace

    from strtool.mstr.bank import build_bank, export_bank, file_sha256, load_mclip
    from strtool.text.charset import load_charsets

    if only is None:
        return export_bank(ckpt, langs)[0]
    keep = set(only)
    charsets = [
        replace(cs, categories={k: tuple(c for c in v if c in keep) for k, v in
                                cs.categories.items()}, clusters=())
        for cs in load_charsets(langs)
    ]  # fmt: skip
    return build_bank(load_mclip(ckpt), charsets, False, file_sha256(ckpt))[0]


def run_mstr(
    paths: dict[str, Path], work: Path, budget: float, threads: int, langs: str,
    only: list[str] | None = None,
) -> Path:  # fmt: skip
    base = _common(threads)
    stages = [
        ("mclip.yaml", base + [f"data.train=[{paths['chars']}]", "train.batch_size=256",
                               "model.arch=mclip_tiny"], 0.25, "mclip"),
    ]  # fmt: skip
    for config, ov, share, name in stages:

        def fn(steps: int, output: Path, on_event: Any = None, c=config, o=ov) -> None:
            _mstr(c, o, steps, output, on_event)

        fn(steps_for(fn, share * budget), work / name)
    bank = make_bank(work / "mclip" / "last.pt", langs, only)
    print(f"  bank: {len(bank)} rows", file=sys.stderr)
    bank.save(work / "bank.pt")
    words = [f"data.train=[{paths['train']}]", "train.batch_size=32"]
    for config, ov, share, name in [
        ("spotter.yaml", base + words + [f"mstr.bank={work / 'bank.pt'}", "train.lr=3e-3",
                                         "model.arch=spotter_tiny"], 0.5, "spotter"),
        ("refiner.yaml", base + words + [f"mstr.spotter={work / 'spotter' / 'last.pt'}",
                                         "mstr.source=spotter", "model.arch=refiner_tiny",
                                         "train.lr=2e-3"], 0.25, "refiner"),
    ]:  # fmt: skip

        def fn2(steps: int, output: Path, on_event: Any = None, c=config, o=ov) -> None:
            _mstr(c, o, steps, output, on_event)

        fn2(steps_for(fn2, share * budget), work / name)
    return work / "refiner" / "last.pt"


def rows(report: dict[str, Any]) -> dict[str, tuple[float, float, int]]:
    return {r["group"]: (r["wrr"], r["crr"], r["n"]) for r in report["rows"]}


def evaluate(work: Path, ctc: Path, test: Path) -> tuple[dict[str, Any], dict[str, float], int]:
    """Per-group (WRR, CRR, n) of the three systems on `test`, their img/s, and n.

    img/s is the same measure for all three: test images over the wall time of the whole
    evaluation call (checkpoint load, decoding, scoring; batch 128), best of 2 runs."""
    from strtool.engine.evaluate import evaluate_model

    def call(ckpt: Path) -> Any:
        return lambda: evaluate_model(ckpt, [test], batch_size=128, profile="mstr",
                                      device="cpu").to_dict()  # fmt: skip

    calls = {"ctc": call(ctc), "spotter": call(work / "spotter" / "last.pt"),
             "spotter+refiner": call(work / "refiner" / "last.pt")}  # fmt: skip
    reports: dict[str, Any] = {}
    speed: dict[str, float] = {}
    for name, call in calls.items():
        best = float("inf")
        for _ in range(2):
            t0 = time.perf_counter()
            reports[name] = call()
            best = min(best, time.perf_counter() - t0)
        speed[name] = reports[name]["n"] / best
    table = {"ctc": rows(reports["ctc"]), "spotter": rows(reports["spotter"]),
             "spotter+refiner": rows(reports["spotter+refiner"])}  # fmt: skip
    return table, speed, reports["ctc"]["n"]


def show(name: str, table: dict[str, Any], speed: dict[str, float], n: int) -> None:
    """Print one split's per-group table (stdout)."""
    print(f"[{name}] test n={n}, profile mstr")
    print(f"{'group':<8}" + "".join(f"{k:>24}" for k in table))
    groups = list(dict.fromkeys(g for t in table.values() for g in t))
    for g in groups:
        cells = "".join(
            f"{f'WRR {100 * t[g][0]:5.1f} CRR {100 * t[g][1]:5.1f}':>24}" if g in t else " " * 24
            for t in table.values()
        )
        print(f"{g:<8}{cells}")
    print(f"{'img/s':<8}" + "".join(f"{speed[k]:>24.1f}" for k in table))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/mstr_bench"))
    ap.add_argument("--vocab", choices=("demo", "open"), default="demo")
    ap.add_argument("--langs", default=LANGS)
    ap.add_argument("--words", type=int, default=None, help="train crops (demo 20000, open 3500)")
    ap.add_argument("--test", type=int, default=700, help="test (demo: val) crops; unseen: half")
    ap.add_argument("--per-char", type=int, default=None, help="mCLIP crops per char (16 / 2)")
    ap.add_argument("--budget", type=float, default=600.0, help="CPU seconds per system")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    demo = args.vocab == "demo"
    words = args.words or (20000 if demo else 3500)
    per_char = args.per_char or (16 if demo else 2)
    torch.set_num_threads(args.threads)
    work = args.workdir / args.vocab
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    only: list[str] | None = None
    if demo:
        paths, only = synth_demo(work, args.langs, words, args.test, per_char)
        tests = ["val", "unseen"]
    else:
        paths, tests = synth(work, args.langs, words, args.test, per_char), ["test"]
    print(f"  data ready in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    ctc = work / "ctc" / "last.pt"
    if not ctc.exists():
        ctc = run_ctc(paths, work / "ctc", args.budget, args.threads)
    if not (work / "refiner" / "last.pt").exists():
        run_mstr(paths, work, args.budget, args.threads, args.langs, only)
    out: dict[str, Any] = {"vocab": args.vocab, "budget": args.budget, "train": words}
    print(f"vocab {args.vocab}, budget {args.budget:.0f} s per system, train n={words}")
    for name in tests:
        table, speed, n = evaluate(work, ctc, paths[name])
        show(name, table, speed, n)
        out[name] = {"table": table, "img_s": speed, "n": n}
    (work / "results.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    run_bench(main)
