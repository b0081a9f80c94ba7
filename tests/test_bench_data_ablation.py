"""bench/data_ablation.py: the five variants take out exactly their change (configs
load with it removed, the Regular/Bold font folder resolves to those faces only)."""

from __future__ import annotations

from pathlib import Path

from bench_modules import load_bench

from strtool.config import load_config
from strtool.synth.config import SynthConfig
from strtool.synth.fonts import resolve_font_specs


def test_variants_take_out_their_change(tmp_path: Path) -> None:
    b = load_bench("data_ablation")
    vs = {
        v.split("=", 1)[0]: v.split(":", 1)[1].split(",") for v in b.variants(tmp_path, "h8_small")
    }
    assert list(vs) == ["full", "regular_bold", "no_new_aug", "plain_text", "baseline"]
    sets = {name: dict(s.split("=", 1) for s in v) for name, v in vs.items()}
    default = load_config(SynthConfig, "synth/default", [])
    full = load_config(SynthConfig, sets["full"]["data.synth.config"], [])
    assert full == default
    no_aug = load_config(SynthConfig, sets["no_new_aug"]["data.synth.config"], [])
    assert [getattr(no_aug.augment, k).prob for k in b.NEW_AUG] == [0.0] * 4
    assert no_aug.text == default.text and no_aug.augment.blur == default.augment.blur
    plain = load_config(SynthConfig, sets["plain_text"]["data.synth.config"], [])
    assert (plain.text.upper_prob, plain.text.title_prob) == (0.1, 0.1)
    assert plain.augment == default.augment
    base = load_config(SynthConfig, sets["baseline"]["data.synth.config"], [])
    assert base.text == plain.text and base.augment == no_aug.augment
    # the Regular/Bold folder: the same families, those two styles only
    folder = sets["regular_bold"]["data.synth.fonts"].strip("[]")
    assert folder == sets["baseline"]["data.synth.fonts"].strip("[]")
    kept = resolve_font_specs([folder], ["LAT"])
    every = resolve_font_specs(["train"], ["LAT"])
    assert {f.style for f in kept} == {"Regular", "Bold"}
    assert {f.family for f in kept} <= {f.family for f in every} and len(kept) < len(every)
    assert "fonts" not in sets["full"] and "data.synth.fonts" not in sets["no_new_aug"]
    assert b.preset(tmp_path).is_file()
