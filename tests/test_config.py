from dataclasses import dataclass, field

import pytest

from strtool.config import load_config
from strtool.errors import ConfigError


@dataclass
class Opt:
    lr: float = 1e-3
    steps: int = 10


@dataclass
class Cfg:
    name: str = "x"
    langs: list[str] = field(default_factory=lambda: ["en"])
    opt: Opt = field(default_factory=Opt)
    amp: bool = False


def test_defaults_yaml_and_overrides(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text("opt:\n  steps: 50\n")
    p = tmp_path / "c.yaml"
    p.write_text("base: base.yaml\nname: run\nopt:\n  lr: 0.01\n")
    cfg = load_config(Cfg, p, ["opt.lr=3e-4", "langs=en,fr", "amp=true"])
    assert cfg.name == "run" and cfg.opt.steps == 50 and cfg.opt.lr == 3e-4
    assert cfg.langs == ["en", "fr"] and cfg.amp is True


def test_unknown_key_named(tmp_path):
    with pytest.raises(ConfigError, match="opt.lrr"):
        load_config(Cfg, None, ["opt.lrr=1"])


def test_bad_type_named():
    with pytest.raises(ConfigError, match="opt.steps"):
        load_config(Cfg, None, ["opt.steps=abc"])
