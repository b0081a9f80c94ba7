"""Run configuration of the mSTR stages: the engine's sections (model, data, train,
eval) plus an `mstr` section. The stage is the family of `model.arch`:
`mclip`/`mclip_tiny`, `spotter`/`spotter_tiny`, `refiner`/`refiner_tiny`.

Presets: `configs/mclip.yaml`, `configs/spotter.yaml`, `configs/refiner.yaml` and
`*_tiny.yaml` for tests. 1, 3 or all languages are a matter of `data.langs` (training
samples) and of the bank given in `mstr.bank` (`strtool bank export --lang ...`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strtool.config import from_dict, load_config, load_yaml, to_dict
from strtool.engine.config import DataConfig, EvalConfig, ModelConfig, TrainConfig
from strtool.engine.config import validate as validate_engine
from strtool.errors import ConfigError

STAGES = ("mclip", "spotter", "refiner")


@dataclass
class MstrConfig:
    """Stage options. mCLIP: loss weights and the group-token rate. Spotter: the bank.
    Refiner: the frozen Spotter checkpoint, top-k and the source of its training
    inputs (`spotter` = real Spotter top-k, `simulate` = `SpotterSimulator`)."""

    group_token_p: float = 0.5  # mCLIP prompts use <lang=GROUP> with this probability
    arcface_weight: float = 0.0
    arcface_margin: float = 0.2
    arcface_scale: float = 30.0
    subtype_weight: float = 0.0
    bank: str | None = None  # Spotter: bank file from `strtool bank export`
    spotter: str | None = None  # Refiner: Spotter checkpoint (carries its bank)
    topk: int = 5
    source: str = "simulate"  # Refiner inputs: spotter | simulate
    sim_sub: float = 0.1
    sim_ins: float = 0.03
    sim_del: float = 0.03
    sim_neighbours: int = 8


def _default_model() -> ModelConfig:
    return ModelConfig(arch="spotter", height=32, width=128, keep_ratio=True)


@dataclass
class MstrRunConfig:
    model: ModelConfig = field(default_factory=_default_model)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    mstr: MstrConfig = field(default_factory=MstrConfig)

    @property
    def stage(self) -> str:
        return stage_of(self.model.arch)


def stage_of(arch: str) -> str:
    """`spotter_tiny` -> `spotter`; unknown families raise `ConfigError`."""
    family = arch.split("_", 1)[0]
    if family not in STAGES:
        raise ConfigError(f"model.arch: '{arch}' is not an mSTR stage ({', '.join(STAGES)})")
    return family


def validate(cfg: MstrRunConfig) -> MstrRunConfig:
    validate_engine(cfg)  # type: ignore[arg-type]  # same sections, duck-typed
    stage = stage_of(cfg.model.arch)
    m = cfg.mstr
    if m.source not in ("spotter", "simulate"):
        raise ConfigError(f"mstr.source: expected spotter or simulate, got '{m.source}'")
    if stage == "spotter" and not m.bank:
        raise ConfigError("mstr.bank: the Spotter needs a bank (strtool bank export)")
    if stage == "refiner" and not m.spotter:
        raise ConfigError("mstr.spotter: the Refiner needs a trained Spotter checkpoint")
    for key in ("sim_sub", "sim_ins", "sim_del", "group_token_p"):
        if not 0.0 <= getattr(m, key) <= 1.0:
            raise ConfigError(f"mstr.{key}: must be within [0, 1]")
    if m.topk < 1:
        raise ConfigError("mstr.topk: must be >= 1")
    return cfg


def load_mstr_config(path: str | Path | None, overrides: list[str] | None = None) -> MstrRunConfig:
    """Defaults, then the YAML file, then `key=value` overrides; validated."""
    return validate(load_config(MstrRunConfig, path, overrides))


def mstr_config_from_dict(data: dict[str, Any]) -> MstrRunConfig:
    return validate(from_dict(MstrRunConfig, data))


def mstr_config_to_dict(cfg: MstrRunConfig) -> dict[str, Any]:
    return to_dict(cfg)


def is_mstr_config(path: str | Path, overrides: list[str] | None = None) -> bool:
    """True if the YAML (following `base:` files) or an override selects an mSTR stage:
    an `mstr:` section or a `model.arch` of an mSTR family. `strtool train` uses it to
    route a config to `strtool.mstr.train.train_mstr`."""
    for item in overrides or []:
        key, _, value = item.partition("=")
        if key.strip() == "model.arch":
            return value.strip().split("_", 1)[0] in STAGES
        if key.strip().startswith("mstr."):
            return True
    p: Path | None = Path(path)
    seen = 0
    while p is not None and seen < 16:
        data = load_yaml(p)
        arch = (data.get("model") or {}).get("arch")
        if "mstr" in data or (isinstance(arch, str) and arch.split("_", 1)[0] in STAGES):
            return True
        base = data.get("base")
        p = (p.parent / base) if isinstance(base, str) else None
        seen += 1
    return False
