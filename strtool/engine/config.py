"""Run configuration of every model family: dataclasses with the defaults in code.

One `RunConfig` type: the shared sections `model`, `data`, `train`, `eval`, plus one
optional section per family that has options of its own (`mstr` for the mCLIP /
Spotter / Refiner stages, `img2seq` for line / page recognisers). The family comes
from `model.arch` through the one table of architectures (`strtool.models.REGISTRY`).
A YAML preset (`crnn.yaml`, `svtr.yaml`, `tiny.yaml`, `mclip.yaml`, ... in
`strtool/configs`) states only what differs;
`--set train.lr=3e-4` overrides any key; unknown keys are a `ConfigError` naming the
key path (see `strtool.config`). The resolved config is written to the run folder and
stored in every checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strtool.config import (
    from_dict,
    in_range,
    load_config,
    non_negative,
    one_of,
    positive,
    probability,
    to_dict,
)
from strtool.errors import ConfigError
from strtool.models import arch_entry, family_of
from strtool.semi.config import SemiConfig


@dataclass
class ModelConfig:
    """Architecture (a `strtool.models.REGISTRY` key, which also gives the task family)
    and input geometry."""

    arch: str = "crnn"
    channels: int = one_of(3, 1)  # 3 = RGB, 1 = grey
    height: int = in_range(32, 8, 4096)
    width: int = in_range(100, 8, 16384)
    keep_ratio: bool = False  # resize keeping the aspect ratio + right padding
    options: dict[str, Any] = field(default_factory=dict)  # builder overrides


@dataclass
class SynthStreamConfig:
    """Synthetic training samples rendered on the fly (`strtool.data.stream`) with the
    fonts, corpora, augmentations and synth configs of `strtool synth words`; item i of
    the stream is rendered from (seed, i), so a run never sees the same image twice and
    resumes exactly. `weight` is the share of every batch drawn from the stream
    (`round(weight * batch_size)` samples), the rest from `data.train`."""

    weight: float = in_range(1.0, 0, 1, lo_open=True)  # 1 = stream only (no data.train)
    # as `synth words` / `synth lines` / `synth pages` (pages model.width px wide)
    kind: str = one_of("words", "lines", "pages")
    langs: str | None = None  # codes or groups ("LAT,ar", "all"); None = data.langs or all
    lang_weights: dict[str, float] = field(default_factory=dict)  # relative; unlisted = 1
    config: str | None = None  # synth YAML or preset; None = synth/default, lines or page
    overrides: list[str] = field(default_factory=list)  # synth `--set`, e.g. augment.blur.prob=0
    fonts: list[str] = field(default_factory=lambda: ["train"])  # as `synth words --fonts`
    corpus: list[str] = field(default_factory=list)  # user corpus files (one entry per line)
    bg_dir: str | None = None  # folder of background images
    height: int | None = in_range(None, 8, 4096)  # rendered crop height; None = model.height
    seed: int | None = non_negative(None)  # None = train.seed


@dataclass
class DataConfig:
    """Training / validation LMDBs, the synthetic stream, and how labels become classes."""

    train: list[str] = field(default_factory=list)
    val: list[str] = field(default_factory=list)
    langs: list[str] = field(default_factory=list)  # codes or groups; empty = all
    charset: str | None = None  # lang spec ("LAT,ARA"), a charset file, or None = labels
    unit: str = one_of("codepoint", "grapheme")
    unk: bool = False  # map unknown characters to an explicit UNK class
    space: bool = False  # a space class (CTC): phrases and multi-word scene strings
    # CTC targets: visual = right-to-left runs in the order the image shows them (the
    # frames' order; readings come back in logical order), logical = as stored
    ctc_order: str = one_of("visual", "logical")
    max_len: int = positive(25)  # longer labels are filtered (and counted)
    cap: int | None = None  # max training samples per language
    caps: dict[str, int] = field(default_factory=dict)  # per-language caps
    balanced: bool = False  # language-balanced sampling
    workers: int = non_negative(2)
    val_max: int | None = None  # cap on validation samples per LMDB
    # unreadable training images are skipped and counted; above this share the run stops
    max_bad: float = probability(0.01)
    synth: SynthStreamConfig | None = None  # streamed synthetic data (None = LMDBs only)
    # semi-supervised training (`semi`): LMDBs read as images only (labels never read),
    # round(unlabeled_ratio * train.batch_size) unlabeled crops per micro-batch
    unlabeled: list[str] = field(default_factory=list)
    unlabeled_ratio: float = in_range(1.0, 0, 16, lo_open=True)


@dataclass
class TrainConfig:
    """Optimisation: AdamW + one-cycle, clipping, accumulation, precision."""

    steps: int = positive(20000)  # optimiser steps
    batch_size: int = positive(128)  # per process, per micro-batch
    accum: int = positive(1)  # micro-batches per optimiser step
    lr: float = in_range(1e-3, 0, 10, lo_open=True)
    weight_decay: float = non_negative(0.05)
    pct_start: float = in_range(0.1, 0, 1, hi_open=True)  # warm-up fraction of the one-cycle
    grad_clip: float = positive(5.0)
    # auto (CUDA: bf16 if supported, else fp16; CPU: fp32), bf16, fp16, none
    amp: str = one_of("auto", "bf16", "fp16", "none")
    # None: the architecture's faster memory format (models.REGISTRY, measured per arch)
    channels_last: bool | None = None
    seed: int = non_negative(42)
    log_every: int = positive(20)
    val_every: int = positive(1000)
    ckpt_every: int = positive(500)
    freeze: list[str] = field(default_factory=list)  # e.g. [backbone]
    # optimiser steps in a row with a non-finite loss or gradient (skipped) before stopping
    max_nonfinite: int = positive(25)
    threads: int = non_negative(0)  # torch CPU threads (0 = leave torch's default)
    device: str = "auto"


@dataclass
class EvalConfig:
    """Validation: which metric picks the best checkpoint, with which profile."""

    metric: str = one_of("wrr", "crr", "ned")  # pooled over languages (ned = 1-NED)
    profile: str = "default"
    batch_size: int = positive(256)


@dataclass
class MstrConfig:
    """mSTR stage options. mCLIP: loss weights and the group-token rate. Spotter: the
    bank. Refiner: the frozen Spotter checkpoint, top-k and the source of its training
    inputs (`spotter` = real Spotter top-k, `simulate` = `SpotterSimulator`)."""

    group_token_p: float = probability(0.5)  # mCLIP prompts use <lang=GROUP> with this prob.
    arcface_weight: float = non_negative(0.0)
    arcface_margin: float = in_range(0.2, 0, 1.5)
    arcface_scale: float = positive(30.0)
    subtype_weight: float = non_negative(0.0)
    bank: str | None = None  # Spotter: bank file from `strtool bank export`
    spotter: str | None = None  # Refiner: Spotter checkpoint (carries its bank)
    topk: int = positive(5)
    source: str = one_of("simulate", "spotter")  # Refiner inputs: simulated or real top-k
    sim_sub: float = probability(0.1)
    sim_ins: float = probability(0.03)
    sim_del: float = probability(0.03)
    sim_neighbours: int = positive(8)


@dataclass
class Img2seqConfig:
    """img2seq (line / page) training and decoding. The architecture (encoder sizes,
    decoder layers, width, heads) is `model.options` of the `img2seq_*` builders;
    input geometry is `model.height` x `model.width` (aspect kept, padded)."""

    label_smoothing: float = in_range(0.1, 0, 1, hi_open=True)
    beam_width: int = in_range(1, 1, 64)  # 1 = greedy
    length_penalty: float = in_range(0.0, 0, 4)  # beam: score = log P / length ** this
    # decoding limit in tokens (line breaks included) before EOS; None = data.max_len
    max_len: int | None = in_range(None, 1, 100000)
    # weight of an auxiliary CTC loss on the encoder's columns (hybrid CTC/attention,
    # for single lines; 0 = off): loss = (1 - w) * cross-entropy + w * CTC. The model
    # then has a CTC head (`ctc_head`).
    ctc_weight: float = in_range(0.0, 0, 1, hi_open=True)
    # joint CTC/attention decoding with that head (0 = the decoder alone): hypotheses
    # rank by (1 - w) * log P_decoder + w * log P_CTC(prefix) (`strtool.models.ctc_prefix`);
    # needs ctc_weight > 0. Changeable at read time (predict / eval --joint-ctc).
    ctc_decode_weight: float = in_range(0.0, 0, 1)


@dataclass
class RunConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    mstr: MstrConfig = field(default_factory=MstrConfig)
    semi: SemiConfig = field(default_factory=SemiConfig)  # strtool.semi
    img2seq: Img2seqConfig = field(default_factory=Img2seqConfig)

    @property
    def family(self) -> str:
        """The task family of `model.arch` (`ConfigError` for an unknown arch)."""
        return family_of(self.model.arch)

    @property
    def channels_last(self) -> bool:
        """`train.channels_last`, or (None) the architecture's faster memory format."""
        if self.train.channels_last is not None:
            return self.train.channels_last
        return arch_entry(self.model.arch).channels_last


def validate(cfg: RunConfig) -> RunConfig:
    """Cross-field constraints (single values are range-checked from the field
    metadata when the config is built); raise `ConfigError` naming the key."""
    if cfg.data.caps and cfg.data.cap is not None:
        raise ConfigError("data.cap and data.caps: give one or the other")
    if cfg.data.cap is not None and cfg.data.cap < 1:
        raise ConfigError(f"data.cap: {cfg.data.cap} is out of range; allowed: >= 1")
    for lang, n in cfg.data.caps.items():
        if n < 1:
            raise ConfigError(f"data.caps.{lang}: {n} is out of range; allowed: >= 1")
    _validate_stream(cfg.data)
    _validate_semi(cfg)
    family = cfg.family
    if family == "spotter" and not cfg.mstr.bank:
        raise ConfigError("mstr.bank: the Spotter needs a bank (strtool bank export)")
    if family == "refiner" and not cfg.mstr.spotter:
        raise ConfigError("mstr.spotter: the Refiner needs a trained Spotter checkpoint")
    if cfg.img2seq.ctc_decode_weight > 0 and cfg.img2seq.ctc_weight == 0:
        raise ConfigError(
            "img2seq.ctc_decode_weight: joint decoding needs the CTC head a model trained "
            "with img2seq.ctc_weight > 0 has"
        )
    return cfg


def _validate_stream(d: DataConfig) -> None:
    s = d.synth
    if s is None:
        return
    if s.weight < 1 and not d.train:
        raise ConfigError(
            f"data.synth.weight: {s.weight} leaves {1 - s.weight:.0%} of each batch to "
            "data.train, which is empty (give data.train or weight 1)"
        )
    if s.weight == 1 and d.train:
        raise ConfigError(
            "data.synth.weight: 1 draws every sample from the stream and none from "
            "data.train (lower the weight, e.g. 0.8, or drop data.train)"
        )
    for lang, w in s.lang_weights.items():
        if w < 0:
            raise ConfigError(f"data.synth.lang_weights.{lang}: {w} is out of range; allowed: >= 0")


def _validate_semi(cfg: RunConfig) -> None:
    """`semi.method` needs `data.unlabeled` and a family `strtool.semi` supports, and
    unlabeled data needs a method (it would be read for nothing)."""
    method, d = cfg.semi.method, cfg.data
    if method == "none":
        if d.unlabeled:
            raise ConfigError("data.unlabeled: given, but semi.method is none (choose a method)")
        return
    if not d.unlabeled:
        raise ConfigError(f"semi.method: {method} needs unlabeled crops in data.unlabeled")
    if cfg.family not in ("ctc", "img2seq", "refiner"):
        raise ConfigError(
            f"semi.method: {method} is implemented for CTC, img2seq and Refiner models; "
            f"model.arch {cfg.model.arch} is a {cfg.family} model"
        )
    if cfg.family != "ctc" and "contrastive" in cfg.semi.parts:
        raise ConfigError(
            f"semi.method: {method} pools CTC frames (CTC recognisers only); {cfg.family} "
            "models take consistency or pseudo"
        )
    if cfg.semi.supervised_weight == 0 and "contrastive" not in cfg.semi.parts:
        raise ConfigError(f"semi.supervised_weight: 0 leaves {method} without labeled signal")


def load_run_config(path: str | Path | None, overrides: list[str] | None = None) -> RunConfig:
    """Defaults, then the YAML file, then `key=value` overrides; validated."""
    return validate(load_config(RunConfig, path, overrides))


def config_from_dict(data: dict[str, Any]) -> RunConfig:
    """Rebuild a `RunConfig` from its dict form (e.g. from a checkpoint). A stored
    config without `data.ctc_order` was written before the setting existed, when CTC
    targets were in logical order: it gets `logical`, so old checkpoints decode as they
    were trained."""
    d = data.get("data")
    if isinstance(d, dict) and "ctc_order" not in d:
        data = {**data, "data": {**d, "ctc_order": "logical"}}
    return validate(from_dict(RunConfig, data))


def config_to_dict(cfg: RunConfig) -> dict[str, Any]:
    """Plain nested dict (YAML/JSON serialisable)."""
    return to_dict(cfg)
