#!/usr/bin/env python3
"""Render the example crops of the README quick start and the shipped-model tests:
`--per-group` crops of every script group, drawn like the default model's validation
set (`synth/heldout_val`: held-out font families, wordfreq ranks 20,001-30,000, harsher
augmentation than training), so the model never saw their fonts or words.

    python tools/make_examples.py examples/crops            # what the repo ships

Writes `<out>/<group>_<n>.png` (grey, 48 px high) and `<out>/labels.tsv`
(`file<TAB>text<TAB>lang`, UTF-8, labels NFC in logical order). The set is a
pure function of `--seed` and `--per-group`: it is drawn once, before the model's
figures are known, and never hand-picked.
"""

from __future__ import annotations

import argparse
import io
import tempfile
from pathlib import Path

from PIL import Image

from strtool.config import load_config
from strtool.data.lmdb_io import LmdbReader
from strtool.outputs import atomic_file
from strtool.synth.config import SynthConfig
from strtool.synth.words import synth_words
from strtool.text.langs import GROUPS


def render_group(group: str, n: int, seed: int, tmp: Path) -> list[tuple[bytes, str, str]]:
    """`n` crops of one script group: (PNG bytes, label, language)."""
    cfg = load_config(SynthConfig, "synth/heldout_val", [])
    path = tmp / f"{group}.lmdb"
    synth_words(path, n, langs=[group], cfg=cfg, fonts=["heldout"], seed=seed, height=48)
    reader = LmdbReader(path)
    out = []
    for i in range(len(reader)):
        s = reader[i]
        grey = Image.open(io.BytesIO(s.image)).convert("L")
        buf = io.BytesIO()
        grey.save(buf, format="PNG", optimize=True)
        out.append((buf.getvalue(), s.label, s.lang or group))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--per-group", type=int, default=3)
    ap.add_argument("--seed", type=int, default=20261127)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for g in GROUPS:
            crops = render_group(g, args.per_group, args.seed, Path(tmp))
            for k, (png, label, lang) in enumerate(crops):
                name = f"{g.lower()}_{k + 1}.png"
                with atomic_file(args.out / name) as f:
                    f.write(png)
                rows.append(f"{name}\t{label}\t{lang}\n")
    with atomic_file(args.out / "labels.tsv") as f:
        f.write("".join(rows).encode("utf-8"))
    print(f"{args.out}: {len(rows)} crops")


if __name__ == "__main__":
    main()
