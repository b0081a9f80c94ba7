"""Throughput of `synth words`: images/s per MLT script group and for all languages,
with default augmentations, against a baseline in the same run (the same renderer
with every augmentation off). Rates count rendering + encoding + LMDB writing
(corpus, charset and font-pool preparation excluded, reported separately).

    /work/venv/bin/python bench/synth.py [--num 2000] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from strtool.synth.config import AugmentConfig, SynthConfig
from strtool.synth.words import synth_words
from strtool.text.langs import GROUPS


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def rate(
    langs: str, num: int, workers: int, cfg: SynthConfig, out: Path
) -> tuple[float, float, float]:
    """(images/s wall clock, images per CPU second of all processes, seconds of
    preparation) for one configuration. Images per CPU second does not depend on
    other load on the machine; x2 is the rate two free cores would give."""
    t0, c0 = time.perf_counter(), _cpu()
    report = synth_words(out, num, langs, cfg, workers=workers, seed=0, overwrite=True)
    total, cpu = time.perf_counter() - t0, _cpu() - c0
    return report.written / report.seconds, report.written / cpu, total - report.seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--num", type=int, default=2000, help="images per configuration")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    default, plain = SynthConfig(), SynthConfig(augment=AugmentConfig.off())
    print(f"synth words: {args.num} images per row, {args.workers} workers, height 32")
    print(
        f"{'langs':8} {'default img/s':>14} {'img/cpu-s':>10} {'no-aug img/s':>13}"
        f" {'img/cpu-s':>10} {'ratio':>6} {'prep s':>7}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name in [*GROUPS, "all"]:
            langs = name if name != "all" else "all"
            r_def, c_def, prep = rate(langs, args.num, args.workers, default, Path(tmp) / "a")
            r_off, c_off, _ = rate(langs, args.num, args.workers, plain, Path(tmp) / "b")
            print(
                f"{name:8} {r_def:14.0f} {c_def:10.0f} {r_off:13.0f} {c_off:10.0f}"
                f" {c_def / c_off:6.2f} {prep:7.2f}"
            )
    print("ratio = default / no-aug images per CPU second (load-independent);")
    print("img/cpu-s includes corpus/font preparation and LMDB writing in the main process")


if __name__ == "__main__":
    main()
