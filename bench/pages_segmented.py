"""Pages read line by line (`predict --segment`): the line finder
(`strtool.data.layout`) cuts each test page into lines and a line model reads them,
against an img2seq page model reading whole pages, on pages drawn in font families
held out of training.

    python bench/pages_segmented.py --workdir /tmp/pages_seg \
        --model snapshots/i2s_h8_long_fp16.pt --joint 0.9 --beam 3 \
        --page-model /tmp/i2s_pages/run_page/last.pt
    python bench/pages_segmented.py --model default --max-width 192 --max-width 768

Test pages: `synth pages` (the `synth/page` preset: 3-8 lines, ragged right, indents,
varied spacing, slight skew and warp, paper backgrounds) with `--fonts heldout`,
`--test` pages per language of `--langs`, seed `--seed` (23: the line finder's rules
were tuned by hand on pages of seeds 2, 3 and 11, never on these), width `--width`.

Printed per model and language (a table on stderr, JSON on stdout): page CER with its
95 % interval, WER, line CER, the share of pages read with their number of lines, gt
lines dropped / merged / split, inserted lines, ms per page; and, model-free, the share
of pages the line finder cut into exactly their lines.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch
from img2seq_eval import evaluate
from stopping import run_bench

from strtool.tasks.base import DecodingOptions


def test_pages(a: argparse.Namespace, work: Path) -> Path:
    """The held-out-font test pages (rendered once, reused)."""
    from strtool.config import load_config
    from strtool.synth.config import SynthConfig
    from strtool.synth.page import PAGE_PRESET, synth_pages

    out = work / f"test_s{a.seed}_n{a.test}"
    if not out.exists():
        cfg = load_config(SynthConfig, PAGE_PRESET, [])
        n = a.test * len(a.langs.split(","))
        synth_pages(out, n, a.langs, cfg, ["heldout"], seed=a.seed, width=a.width)
    return out


def line_finder(pages: Path) -> dict[str, Any]:
    """Per language: pages, and the share cut into exactly their gt's lines."""
    from strtool.data.decode import decode_image
    from strtool.data.layout import find_lines
    from strtool.data.lmdb_io import LmdbReader

    counts: dict[str, list[int]] = {}
    for s in LmdbReader(pages):
        found = len(find_lines(decode_image(s.image, 1)).lines)
        counts.setdefault(s.lang or "?", []).append(int(found == s.label.count("\n") + 1))
    counts["pooled"] = [x for v in list(counts.values()) for x in v]
    return {k: {"n": len(v), "right_count": sum(v) / max(len(v), 1)} for k, v in counts.items()}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    a = parse_args(argv)
    torch.set_num_threads(a.threads)
    work = Path(a.workdir)
    work.mkdir(parents=True, exist_ok=True)
    pages = test_pages(a, work)
    out: dict[str, Any] = {"args": vars(a), "pages": str(pages), "line_finder": line_finder(pages)}
    runs = []
    for m in a.model:
        for width in a.max_width or [None]:
            decoding = DecodingOptions(a.beam, a.joint, width)
            r = evaluate(Path(m), pages, a.batch, decoding=decoding, segment=True)
            at = f" <= {width} px" if width else ""
            runs.append((f"{Path(m).name} by lines{at}", r))
    if a.page_model:
        runs.append((f"{Path(a.page_model).name} whole pages",
                     evaluate(Path(a.page_model), pages, a.batch)))  # fmt: skip
    out["runs"] = {name: r for name, r in runs}
    print(f"line finder: right line count on "
          f"{100 * out['line_finder']['pooled']['right_count']:.1f} % of "
          f"{out['line_finder']['pooled']['n']} pages", file=sys.stderr)  # fmt: skip
    print(f"{'run':34} {'lang':6} {'n':>4} {'CER % [95 % CI]':>20} {'WER %':>6} "
          f"{'line CER %':>10} {'lines ok %':>10} {'drop':>4} {'merge':>5} {'split':>5} "
          f"{'extra':>5} {'ms/page':>8}", file=sys.stderr)  # fmt: skip
    for name, r in runs:
        for lang, row in r["rows"].items():
            w = "-" if row["wer"] is None else f"{100 * row['wer']:.1f}"
            lo, hi = row["cer_95"]
            ci = f"{100 * row['cer']:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]"
            events = (f"{row['dropped_lines']:4d} {row['merged_lines']:5d} "
                      f"{row['split_lines']:5d} {row['inserted_lines']:5d}")  # fmt: skip
            print(f"{name[:34]:34} {lang:6} {row['n']:4d} {ci:>20} {w:>6} "
                  f"{100 * row['line_cer']:10.1f} {100 * row['line_count_ok']:10.1f} "
                  f"{events} {r['ms_per_image']:8.1f}", file=sys.stderr)  # fmt: skip
    print(json.dumps(out, ensure_ascii=False, indent=1))
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workdir", default="/tmp/pages_segmented")
    p.add_argument("--model", action="append", required=True,
                   help="line model read line by line (repeatable)")  # fmt: skip
    p.add_argument("--page-model", default=None, help="img2seq page model, read whole pages")
    p.add_argument("--langs", default="en,ar")
    p.add_argument("--test", type=int, default=100, help="test pages per language")
    p.add_argument("--seed", type=int, default=23)
    p.add_argument("--width", type=int, default=448)
    p.add_argument("--beam", type=int, default=None, help="beam width (img2seq line models)")
    p.add_argument("--joint", type=float, default=None, help="joint CTC weight (hybrid models)")
    p.add_argument("--max-width", type=int, action="append", default=None,
                   help="CTC line models: read wide lines up to this width (repeatable: "
                   "one run each; the model's training width = squeezed)")  # fmt: skip
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args(argv)


if __name__ == "__main__":
    run_bench(main)
