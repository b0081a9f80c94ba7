#!/usr/bin/env python3
"""Vertical CJK text: how well a model reads upright vertical crops through
`strtool predict`'s `--vertical` modes, next to the same texts laid out horizontally.

    python bench/vertical.py --workdir /tmp/vert --model default            # 300 per group
    python bench/vertical.py --workdir /tmp/vert --model M.pt -n 20 --langs CHI   # smoke

Data (rendered once into `<workdir>`, reused when present): for each of `--langs`
(CHI, JPN, KOR), `-n` crops drawn like the default model's validation set
(`synth/heldout_val`: held-out font families and words, harsher augmentation) with
`render.vertical_prob=1` (one glyph per em cell, stacked top to bottom, stored tall),
and the same job with `vertical_prob=0` (horizontal, same seed: the same texts and
fonts) as the reference. Both are exported to image folders and read with the code
path of `strtool predict` (`strtool.engine.predict.predict_paths`), once per
`--vertical` mode.

Output: WRR and CRR per group and pooled, with the 95 % intervals of `strtool eval`'s
report, for `horizontal` (mode none) and each vertical mode, as a Markdown table and
`<workdir>/results.json`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from figures import wrr_crr

MODES: tuple[str, ...] = ("none", "rotate", "cells", "auto")


def render(work: Path, langs: list[str], n: int, seed: int, vertical: bool) -> dict[str, Path]:
    """Image folders (`lmdb export` layout) of each group, vertical or horizontal."""
    from strtool.config import load_config
    from strtool.data.lmdb_tools import export
    from strtool.synth.config import SynthConfig
    from strtool.synth.words import synth_words

    tag = "vertical" if vertical else "horizontal"
    cfg = load_config(
        SynthConfig, "synth/heldout_val", [f"render.vertical_prob={1.0 if vertical else 0.0}"]
    )
    out = {}
    for g in langs:
        folder = work / f"{tag}_{g}"
        if not folder.is_dir():
            lmdb = work / f"{tag}_{g}.lmdb"
            if not lmdb.exists():
                synth_words(lmdb, n, langs=[g], cfg=cfg, fonts=["heldout"], seed=seed, height=32)
            export(lmdb, folder)
        out[g] = folder
    return out


def read_folder(rec: Any, folder: Path, mode: str, batch_size: int) -> tuple[list[str], list[str]]:
    """(predictions, ground truths) of an exported folder read in `mode`."""
    from strtool.engine.predict import predict_paths
    from strtool.text.escape import unescape_text

    rows = [ln.split("\t") for ln in (folder / "gt.txt").read_text("utf-8").splitlines()]
    paths = [folder / r[0] for r in rows]
    preds = [p.text for p in predict_paths(rec, paths, batch_size, vertical=mode)]  # type: ignore[arg-type]
    return preds, [unescape_text(r[1]) for r in rows]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from strtool.engine.reader import open_reader
    from strtool.evaluation.metrics import score

    a = parse_args(argv)
    if a.threads:
        import torch

        torch.set_num_threads(a.threads)
    work = Path(a.workdir)
    work.mkdir(parents=True, exist_ok=True)
    langs = a.langs.split(",")
    vert = render(work, langs, a.n, a.seed, True)
    horiz = render(work, langs, a.n, a.seed, False)
    from strtool.tasks.base import DecodingOptions

    rec = open_reader(a.model, a.device, decoding=DecodingOptions(max_width=a.max_width))
    modes = a.modes.split(",")
    runs = {"horizontal": (horiz, "none")} | {f"vertical {m}": (vert, m) for m in modes}
    results: dict[str, Any] = {"args": vars(a), "runs": {}}
    for name, (folders, mode) in runs.items():
        preds, gts, groups = [], [], []
        t0 = time.perf_counter()
        for g in langs:
            p, t = read_folder(rec, folders[g], mode, a.batch_size)
            preds += p
            gts += t
            groups += [g] * len(t)
        ms = 1000 * (time.perf_counter() - t0) / max(1, len(gts))
        rep = score(preds, gts, groups)
        rows = {r.name: r.to_dict() for r in [*rep.groups, rep.pooled]}
        results["runs"][name] = {"ms_per_crop": ms, "rows": rows}
    print(f"\nmodel {a.model}; n = {a.n} per group; WRR / CRR % [95 % CI]\n")
    cols = [*langs, "pooled"]
    print("| reading | " + " | ".join(cols) + " | ms/crop |")
    print("|---" * (len(cols) + 2) + "|")
    for name, r in results["runs"].items():
        cells = [wrr_crr(r["rows"][c]) for c in cols]
        print(f"| {name} | " + " | ".join(cells) + f" | {r['ms_per_crop']:.1f} |")
    name = f"results_w{a.max_width}.json" if a.max_width else "results.json"
    (work / name).write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workdir", required=True)
    p.add_argument("--model", default="default")
    p.add_argument("--langs", default="CHI,JPN,KOR")
    p.add_argument("-n", type=int, default=300, help="crops per group")
    p.add_argument("--seed", type=int, default=9101)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--modes", default=",".join(MODES), help="--vertical modes to read with")
    p.add_argument("--max-width", type=int, default=None,
                   help="widest input of a wide crop (predict --max-width; default: "
                   "the model's)")  # fmt: skip
    return p.parse_args(argv)


if __name__ == "__main__":
    main()
