#!/usr/bin/env python3
"""Which of the default model's data changes make a recogniser read fonts it never saw
(issue 13, section 2): each change taken out of the recipe in turn, trained with the
same model, seed, steps and stream, scored on Latin crops in the held-out font families
(never rendered in training) at equal CPU time (`bench/arch_compare.py` runs them).

    python bench/data_ablation.py --val val_heldout_LAT.lmdb --out ~/runs/ablation \
        [--arch h8_small] [--steps 1500] [--val-every 500] [--parallel 2] [--threads 1]

Variants (Latin only: en, fr, de, it):
- `full`: the recipe's data (`synth/default`, every shipped style of the training
  families, the scene-like text mix);
- `regular_bold`: only the Regular and Bold faces of the same families (what strtool
  shipped before: no italics, no light to black weights, no condensed or wide widths);
- `no_new_aug`: without the augmentations added for unseen fonts (shear/oblique, stroke
  width, character spacing, render large then downscale);
- `plain_text`: the earlier text mix (10 % UPPER CASE and 10 % Capitalised words);
- `baseline`: all three changes taken out.

Files written under `--out`: the synth configs and the preset of the variants
(`configs/`), the Regular/Bold font folder (`fonts_regular_bold/`: its own
`manifest.json`, links to the shipped font files) and the runs (`runs/`, resumable:
run the same command again). Figures: `arch_compare.py`'s report (WRR with 95 %
Wilson intervals, CRR, at each validation step and at equal CPU).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
NEW_AUG = ("shear", "stroke", "spacing", "downscale")
PLAIN_TEXT = {"upper_prob": 0.1, "title_prob": 0.1}
KEEP_STYLES = frozenset({"Regular", "Bold"})


def synth_config(out: Path, name: str, no_aug: bool, plain: bool) -> Path:
    """A synth config file: `synth/default` with the given changes taken out."""
    data: dict[str, Any] = {"base": "synth/default"}
    if no_aug:
        data["augment"] = {k: {"prob": 0.0} for k in NEW_AUG}
    if plain:
        data["text"] = dict(PLAIN_TEXT)
    path = out / "configs" / f"synth_{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def regular_bold_fonts(out: Path) -> Path:
    """A font folder with only the Regular and Bold training faces of the shipped pool
    (a `manifest.json` of those entries; the family folders are links)."""
    from strtool.paths import fonts_dir

    src = fonts_dir()
    manifest = json.loads((src / "manifest.json").read_text(encoding="utf-8"))
    entries = manifest["fonts"] if isinstance(manifest, dict) else manifest
    keep = [e for e in entries if e.get("role", "train") == "train" and e["style"] in KEEP_STYLES]
    folder = out / "fonts_regular_bold"
    folder.mkdir(parents=True, exist_ok=True)
    for family in {e["file"].split("/")[0] for e in keep}:
        link = folder / family
        if not link.exists():
            link.symlink_to(src / family, target_is_directory=True)
    kept = {**manifest, "fonts": keep} if isinstance(manifest, dict) else keep
    (folder / "manifest.json").write_text(json.dumps(kept, ensure_ascii=False), encoding="utf-8")
    return folder


def preset(out: Path) -> Path:
    """The comparison preset: `bench/arch_compare.yaml` restricted to Latin."""
    data = yaml.safe_load((HERE / "arch_compare.yaml").read_text(encoding="utf-8"))
    data["data"]["charset"] = "en,fr,de,it"
    data["data"]["synth"]["langs"] = "LAT"
    path = out / "configs" / "ablation.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def variants(out: Path, arch: str) -> list[str]:
    """`arch_compare.py --variant` values of the five variants."""
    fonts = regular_bold_fonts(out)
    full = synth_config(out, "full", False, False)
    rows = {
        "full": [f"data.synth.config={full}"],
        "regular_bold": [f"data.synth.config={full}", f"data.synth.fonts=[{fonts}]"],
        "no_new_aug": [f"data.synth.config={synth_config(out, 'no_new_aug', True, False)}"],
        "plain_text": [f"data.synth.config={synth_config(out, 'plain_text', False, True)}"],
        "baseline": [f"data.synth.config={synth_config(out, 'baseline', True, True)}",
                     f"data.synth.fonts=[{fonts}]"],
    }  # fmt: skip
    return [f"{name}={arch}:{','.join(sets)}" for name, sets in rows.items()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--val", type=Path, required=True, help="held-out Latin validation LMDB")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--arch", default="h8_small")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--val-every", type=int, default=500)
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--set", action="append", default=[], help="override for every variant")
    ap.add_argument("--only", default=None, help="comma-separated variant names")
    ap.add_argument("--report-only", action="store_true")
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    chosen = variants(a.out, a.arch)
    if a.only:
        names = set(a.only.split(","))
        chosen = [v for v in chosen if v.split("=", 1)[0] in names]
    cmd = [sys.executable, str(HERE / "arch_compare.py"), "--data", str(a.val),
           "--out", str(a.out / "runs"), "--preset", str(preset(a.out)),
           "--steps", str(a.steps), "--val-every", str(a.val_every),
           "--parallel", str(a.parallel), "--threads", str(a.threads),
           "--workers", str(a.workers)]  # fmt: skip
    for s in a.set:
        cmd += ["--set", s]
    for v in chosen:
        cmd += ["--variant", v]
    if a.report_only:
        cmd.append("--report-only")
    return subprocess.call(cmd)


if __name__ == "__main__":
    sys.exit(main())
