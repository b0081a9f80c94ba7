"""Every shipped YAML preset loads into its config type with every value in range, and
builds its model: run presets through the one `RunConfig` (the family comes from
`model.arch`), synth presets through `SynthConfig`. Full-size presets included."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from strtool.config import list_presets, load_config
from strtool.engine.config import RunConfig, load_run_config
from strtool.models import REGISTRY, ModelSpec, build_model
from strtool.synth.config import SynthConfig

RUN = [n for n in list_presets() if not n.startswith("synth/")]
SYNTH = [n for n in list_presets() if n.startswith("synth/")]
NEEDS = {"spotter": ["mstr.bank=bank.pt"], "refiner": ["mstr.spotter=spotter.pt"]}


def test_every_preset_is_covered() -> None:
    assert {"crnn", "svtr", "tiny", "mclip", "spotter", "refiner"} <= set(RUN)
    assert "synth/default" in SYNTH and len(RUN) + len(SYNTH) == len(list_presets())


@pytest.mark.parametrize("name", RUN)
def test_run_preset_loads_and_builds(name: str) -> None:
    family = load_run_config(name, ["mstr.bank=x", "mstr.spotter=y"]).family
    cfg = load_run_config(name, NEEDS.get(family, []))
    assert isinstance(cfg, RunConfig) and REGISTRY[cfg.model.arch].family == family
    m = cfg.model
    bank = torch.nn.functional.normalize(torch.randn(5, 64 if "tiny" in m.arch else 256), dim=-1)
    spec = ModelSpec(m.channels, (m.height, m.width), num_classes=11, bank=bank,
                     level_channels=(32, 64) if "tiny" in name else (128, 256))  # fmt: skip
    model = build_model(m.arch, spec, **m.options)
    assert sum(p.numel() for p in model.parameters()) > 0


@pytest.mark.parametrize("name", SYNTH)
def test_synth_preset_loads(name: str) -> None:
    cfg = load_config(SynthConfig, name)
    assert dataclasses.is_dataclass(cfg)
