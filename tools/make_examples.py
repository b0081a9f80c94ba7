#!/usr/bin/env python3
"""Render the examples of the README quick start and the shipped-model tests.

Crops (default): `--per-group` crops of every script group, drawn like the default
model's validation set (`synth/heldout_val`: held-out font families, wordfreq ranks
20,001-30,000, harsher augmentation than training), so the model never saw their fonts
or words. Pages (`--pages`): `--per-group` pages of every script group as `synth pages`
draws them (the `synth/page` preset: 3-8 lines, skew, bends, paper), in the held-out
font families, 448 px wide.

    python tools/make_examples.py examples/crops            # what the repo ships
    python tools/make_examples.py examples/pages --pages --per-group 1

Writes `<out>/<group>_<n>.png` (grey; crops 48 px high) and `<out>/labels.tsv`
(`file<TAB>text<TAB>lang`, UTF-8, labels NFC in logical order; a page's line breaks
written `\n`, a backslash `\\`, as `lmdb export` writes them). The set is a pure
function of `--seed` and `--per-group`: it is drawn once, before the model's figures
are known, and never hand-picked.
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
from strtool.synth.page import PAGE_PRESET, synth_pages
from strtool.synth.words import synth_words
from strtool.text.escape import escape_text
from strtool.text.langs import GROUPS


def render_group(
    group: str, n: int, seed: int, tmp: Path, pages: bool = False
) -> list[tuple[bytes, str, str]]:
    """`n` crops (or pages) of one script group: (PNG bytes, label, language)."""
    path = tmp / f"{group}.lmdb"
    if pages:
        cfg = load_config(SynthConfig, PAGE_PRESET, [])
        synth_pages(path, n, [group], cfg, ["heldout"], seed=seed, width=448)
    else:
        cfg = load_config(SynthConfig, "synth/heldout_val", [])
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
    ap.add_argument("--pages", action="store_true", help="pages, not word crops")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for g in GROUPS:
            crops = render_group(g, args.per_group, args.seed, Path(tmp), args.pages)
            for k, (png, label, lang) in enumerate(crops):
                name = f"{g.lower()}_{k + 1}.png"
                with atomic_file(args.out / name) as f:
                    f.write(png)
                rows.append(f"{name}\t{escape_text(label)}\t{lang}\n")
    with atomic_file(args.out / "labels.tsv") as f:
        f.write("".join(rows).encode("utf-8"))
    print(f"{args.out}: {len(rows)} {'pages' if args.pages else 'crops'}")


if __name__ == "__main__":
    main()
