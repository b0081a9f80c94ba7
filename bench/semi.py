"""Semi-supervised training under a domain shift (issue 12): labeled-only fine-tuning
vs pseudo-labelling vs consistency vs contrastive pretraining + consistency, at equal
steps, all from the same supervised checkpoint.

    .venv/bin/python bench/semi.py --workdir /tmp/semi_bench            # default scale
    .venv/bin/python bench/semi.py --workdir /tmp/semi_smoke --tiny     # smoke (minutes)

Data (rendered once into `<workdir>/data`, reused when present):

- `labeled`: `synth words` with the training fonts and the default synth config
  (`--labeled` crops of `--langs`, LAT plus one of ARA / HIN / BEN);
- `source_test`: the same domain, another seed (the "do not lose more than 1 point"
  check);
- `unlabeled` and `test`: the held-out font families (`--fonts heldout`, never in the
  labeled data) with the `synth/domain_shift` augmentation mix (heavier blur, low
  contrast, perspective, noise, JPEG, low resolution); `unlabeled` is written with
  `--unlabeled` (no labels). Their words come from disjoint halves of wordfreq's top
  `--vocab` words per language (even ranks: unlabeled, odd ranks: test), given as
  corpus files, so no test word is ever seen unlabeled.

Runs (`<workdir>/f<fraction>/<name>`; a finished run is reused, a stopped one
resumed): `supervised` trains `--pretrain-steps` from scratch on the labeled data (or
`--supervised CKPT` gives that checkpoint, e.g. the default model, which was trained
on synthetic data of the same kind; its architecture and charset are kept); then,
each for `--steps` optimiser steps from that checkpoint (`--init`): `labeled_only`
(semi.method none), `pseudo`, `consistency`, and `contrastive+consistency`
(`--contrastive-share` of the steps with the contrastive loss plus the supervised one,
the rest consistency from there); `--methods` picks a subset of the last three
(`labeled_only` always runs: it is the baseline), `--semi-weight` sets `semi.weight`.
`--tag T --set KEY=VALUE ...` make a variant: the semi runs (not `labeled_only`, the
shared baseline) get the extra config overrides and live in `<name>-T` folders, so
variants of one method sit side by side and are scored against the same baseline
(`results-T.json`). `--only NAME` trains just that run (two processes can then share
the cores; a run without it reuses both and scores). `--fractions 1,0.1` repeats all of
it with a tenth of the labeled crops (per language, `data.cap`), the supervised
checkpoint included (with `--supervised`, only the fine-tuning runs see fewer labels).
Every run has the same batch size, learning-rate schedule and seed.

Output: WRR (with its 95 % Wilson interval over the test words) and CRR (with its 95 %
delta-method interval; both from `strtool eval`'s report) of each run's last checkpoint
on the shifted test set and on the source-domain test set, as a Markdown table on
stdout and in `<workdir>/results.json`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from figures import wrr_crr
from stopping import run_bench

METHODS: tuple[str, ...] = ("labeled_only", "pseudo", "consistency", "contrastive+consistency")


def split_vocab(langs: list[str], vocab: int) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Disjoint word lists per language: even wordfreq ranks (unlabeled), odd (test)."""
    from strtool.synth.corpus import wordfreq_words

    unl, test = {}, {}
    for lang in langs:
        words = wordfreq_words(lang, vocab)
        unl[lang], test[lang] = words[0::2], words[1::2]
    return unl, test


def build_data(work: Path, a: argparse.Namespace) -> dict[str, Path]:
    """The four LMDBs of the benchmark (see the module docstring)."""
    from strtool.config import load_config
    from strtool.synth.config import SynthConfig
    from strtool.synth.words import synth_words

    d = work / "data"
    d.mkdir(parents=True, exist_ok=True)
    langs = a.langs.split(",")
    unl_words, test_words = split_vocab(langs, a.vocab)
    corpora = {}
    for name, words in (("unlabeled", unl_words), ("test", test_words)):
        corpora[name] = d / f"{name}_words.txt"
        corpora[name].write_text("".join(w + "\n" for ws in words.values() for w in ws),
                                 encoding="utf-8")  # fmt: skip
    shift = load_config(SynthConfig, "synth/domain_shift", [])
    paths = {k: d / k for k in ("labeled", "source_test", "unlabeled", "test")}
    jobs: dict[str, dict[str, Any]] = {
        "labeled": dict(num=a.labeled, seed=a.seed + 1),
        "source_test": dict(num=a.test, seed=a.seed + 2),
        "unlabeled": dict(num=a.unlabeled, seed=a.seed + 3, cfg=shift, fonts=["heldout"],
                          corpus_files=[corpora["unlabeled"]], unlabeled=True),
        "test": dict(num=a.test, seed=a.seed + 4, cfg=shift, fonts=["heldout"],
                     corpus_files=[corpora["test"]]),
    }  # fmt: skip
    for name, job in jobs.items():
        if not paths[name].exists():
            t0 = time.perf_counter()
            synth_words(paths[name], langs=langs, workers=a.workers, height=32, **job)
            print(f"  data {name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return paths


def model_overrides(a: argparse.Namespace) -> list[str]:
    """The model and charset settings of every run: `--arch` with the languages'
    charsets, or those stored in the `--supervised` checkpoint (so `--init` copies
    every tensor)."""
    if not a.supervised:
        return [f"model.arch={a.arch}", f"data.charset={a.langs}"]
    from strtool.engine.checkpoint import load_checkpoint

    cfg = load_checkpoint(Path(a.supervised))["config"]
    m, d = cfg["model"], cfg["data"]
    out = [f"model.arch={m['arch']}", f"model.height={m['height']}", f"model.width={m['width']}",
           f"model.channels={m['channels']}", f"model.keep_ratio={str(m['keep_ratio']).lower()}",
           f"data.space={str(d['space']).lower()}", f"data.max_len={d['max_len']}",
           f"data.unk={str(d['unk']).lower()}",
           f"data.ctc_order={d.get('ctc_order', 'logical')}"]  # fmt: skip
    # a charset spec (languages or a file) is kept; None (the training labels' units)
    # is left to the labeled data, and `--init` copies the shared characters' rows
    return out + ([f"data.charset={d['charset']}"] if d["charset"] else [])


def _overrides(a: argparse.Namespace, paths: dict[str, Path], cap: int | None) -> list[str]:
    out = [
        *model_overrides(a), f"data.train=[{paths['labeled']}]",
        f"data.workers={a.workers}", f"train.batch_size={a.batch_size}",
        f"train.device={a.device}", f"train.threads={a.threads}", f"train.seed={a.seed}",
        "train.log_every=50", f"train.val_every={10**9}", f"train.ckpt_every={a.ckpt_every}",
    ]  # fmt: skip
    return out + ([f"data.cap={cap}"] if cap is not None else [])


def run(out: Path, overrides: list[str], steps: int, init: Path | None) -> Path:
    """Train (or reuse / resume) one run; returns its `last.pt`."""
    from strtool.engine.checkpoint import load_checkpoint
    from strtool.engine.config import load_run_config
    from strtool.engine.loop import train

    last = out / "last.pt"
    cfg = load_run_config(None, overrides + [f"train.steps={steps}"])
    if last.is_file() and load_checkpoint(last)["step"] >= steps:
        return last
    t0 = time.perf_counter()
    train(cfg, out, resume=last.is_file(), init=None if last.is_file() else init)
    print(f"  {out.parent.name}/{out.name}: {steps} steps, {time.perf_counter() - t0:.0f} s",
          file=sys.stderr)  # fmt: skip
    return last


def semi_overrides(a: argparse.Namespace, paths: dict[str, Path], method: str) -> list[str]:
    """The `semi` settings of one method (shared by every method where they apply)."""
    return [
        f"semi.method={method}", f"data.unlabeled=[{paths['unlabeled']}]",
        f"data.unlabeled_ratio={a.unlabeled_ratio}", f"semi.threshold={a.threshold}",
        f"semi.pseudo_threshold={a.threshold}", f"semi.rampup={max(1, a.steps // 10)}",
        f"semi.refresh_every={max(1, a.steps // 5)}", f"semi.ema_decay={a.ema_decay}",
        f"semi.weight={a.semi_weight}", *a.set,
    ]  # fmt: skip


def finetune(
    a: argparse.Namespace, root: Path, paths: dict[str, Path], cap: int | None, sup: Path
) -> dict[str, Path]:
    """The fine-tuning runs from the supervised checkpoint `sup`: `labeled_only` and
    the methods of `--methods`."""
    base = _overrides(a, paths, cap) + [f"train.lr={a.ft_lr}"]
    out = {}
    sfx = f"-{a.tag}" if a.tag else ""
    if a.only in (None, "labeled_only"):
        out["labeled_only"] = run(root / "labeled_only", base, a.steps, sup)
    for method in ("pseudo", "consistency"):
        if method in a.methods and a.only in (None, method):
            over = base + semi_overrides(a, paths, method)
            out[method + sfx] = run(root / (method + sfx), over, a.steps, sup)
    wanted = a.only in (None, "contrastive+consistency")
    if "contrastive+consistency" not in a.methods or not wanted:
        return out
    first = max(1, round(a.contrastive_share * a.steps))
    over = base + semi_overrides(a, paths, "contrastive")
    con = run(root / f"contrastive{sfx}", over, first, sup)
    rest = max(1, a.steps - first)
    over = base + semi_overrides(a, paths, "consistency")
    both = root / f"contrastive_consistency{sfx}"
    out[f"contrastive+consistency{sfx}"] = run(both, over, rest, con)
    return out


def score(ckpt: Path, data: Path, device: str) -> dict[str, Any]:
    """Pooled WRR and CRR of a checkpoint on an LMDB (the family's default metric
    profile) with the report's 95 % intervals (`wrr_95` Wilson, `crr_95` delta method;
    `strtool.evaluation.intervals`), and n; `langs`: the same per language."""
    from strtool.engine.evaluate import evaluate_model

    report = evaluate_model(ckpt, [data], device=device).report
    keys = ("wrr", "wrr_95", "crr", "crr_95", "n")
    row = report.pooled.to_dict()
    groups = {g.name: g.to_dict() for g in report.groups}
    langs = {name: {k: d[k] for k in keys} for name, d in groups.items()}
    return {**{k: row[k] for k in keys}, "langs": langs}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    a = parse_args(argv)
    work = Path(a.workdir)
    paths = build_data(work, a)
    n_langs = len(a.langs.split(","))
    results: dict[str, Any] = {"args": vars(a), "fractions": {}}
    for frac in [float(x) for x in a.fractions.split(",")]:
        cap = None if frac >= 1 else max(1, round(frac * a.labeled / n_langs))
        root = work / f"f{frac:g}"
        if a.supervised:
            sup = Path(a.supervised)
        else:
            sup_over = _overrides(a, paths, cap) + [f"train.lr={a.lr}"]
            sup = run(root / "supervised", sup_over, a.pretrain_steps, None)
        ckpts = {"supervised": sup, **finetune(a, root, paths, cap, sup)}
        if a.only:
            continue  # trained only; a later run without --only reuses it and scores
        table = {name: {"shifted": score(p, paths["test"], a.device),
                        "source": score(p, paths["source_test"], a.device)}
                 for name, p in ckpts.items()}  # fmt: skip
        results["fractions"][f"{frac:g}"] = {"cap_per_lang": cap, "runs": table}
        print(f"\n### labels: {frac:g} of {a.labeled} ({a.langs}), {a.steps} fine-tuning steps\n")
        print("| run | shifted WRR / CRR % [95% CI] | source WRR / CRR % [95% CI] |")
        print("|---|---|---|")
        for name, s in table.items():
            print(f"| {name} | {wrr_crr(s['shifted'])} | {wrr_crr(s['source'])} |")
    if a.only:
        return results
    name = f"results-{a.tag}.json" if a.tag else "results.json"
    (work / name).write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workdir", required=True)
    p.add_argument("--langs", default="en,bn", help="LAT plus one of ARA/HIN/BEN codes")
    p.add_argument("--labeled", type=int, default=40000)
    p.add_argument("--unlabeled", type=int, default=20000)
    p.add_argument("--test", type=int, default=2000)
    p.add_argument("--vocab", type=int, default=20000, help="wordfreq words split in two")
    p.add_argument("--arch", default="crnn_small")
    p.add_argument("--supervised", default=None,
                   help="start every fraction's runs from this checkpoint (e.g. the default "
                        "model) instead of pretraining one on the labeled data")  # fmt: skip
    p.add_argument("--pretrain-steps", type=int, default=6000)
    p.add_argument("--steps", type=int, default=3000, help="fine-tuning steps per method")
    p.add_argument("--contrastive-share", type=float, default=0.3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--ft-lr", type=float, default=3e-4)
    p.add_argument("--unlabeled-ratio", type=float, default=1.0)
    p.add_argument("--threshold", type=float, default=0.9)
    p.add_argument("--ema-decay", type=float, default=0.999)
    p.add_argument(
        "--semi-weight",
        type=float,
        default=1.0,
        help="semi.weight: the consistency / pseudo-label loss weight",
    )
    p.add_argument(
        "--methods",
        default=",".join(METHODS[1:]),
        help="methods besides labeled_only (always run): comma-separated",
    )
    p.add_argument("--only", default=None, choices=METHODS,
                   help="train only this run of each fraction and score nothing, so two "
                        "processes can share the cores; run again without it to reuse "
                        "the finished runs and print the table")  # fmt: skip
    p.add_argument("--tag", default="", help="variant name: suffix of the semi runs' folders")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra config override of the semi runs (repeatable; with --tag)",
    )
    p.add_argument("--fractions", default="1,0.1")
    p.add_argument("--ckpt-every", type=int, default=500)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tiny", action="store_true", help="smoke scale: figures meaningless")
    a = p.parse_args(argv)
    a.methods = a.methods.split(",")
    unknown = sorted(set(a.methods) - set(METHODS[1:]))
    if a.only not in (None, "labeled_only", *a.methods):
        p.error(f"--only {a.only}: not among the runs (labeled_only, --methods)")
    if a.set and not a.tag:
        p.error("--set changes the semi runs: give the variant a --tag (its folder name)")
    if a.tag and not a.tag.replace("_", "").replace(".", "").isalnum():
        p.error(f"--tag {a.tag}: use letters, digits, '_' and '.'")
    if unknown:
        p.error(f"--methods: unknown {', '.join(unknown)} (use {', '.join(METHODS[1:])})")
    if a.tiny:
        a.labeled, a.unlabeled, a.test, a.vocab = 96, 48, 24, 400
        a.arch, a.pretrain_steps, a.steps, a.batch_size = "crnn_tiny", 3, 4, 8
        a.ckpt_every, a.workers = 2, 0
    return a


if __name__ == "__main__":
    run_bench(main)
