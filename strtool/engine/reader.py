"""One reader for every strtool checkpoint: `open_reader(path)` loads a checkpoint
once and returns a `Reader` (images -> texts + confidences, whole datasets), whatever
the model family. `predict`, `eval --model`, `export onnx`, the demo and the benches
use it; nothing outside `strtool.tasks` knows the families."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from strtool.data.transforms import ResizeNormalize
from strtool.engine.checkpoint import checkpoint_family, load_checkpoint
from strtool.engine.config import RunConfig, config_from_dict
from strtool.engine.distributed import pick_device
from strtool.engine.onnx_runtime import RUNTIMES, use_onnx_runtime
from strtool.errors import InputError
from strtool.models import count_parameters
from strtool.models.fuse import fuse_conv_bn
from strtool.paths import weights_dir
from strtool.tasks.base import DatasetReading, DecodingOptions, Reading, Task
from strtool.tasks.registry import build_task


@dataclass
class Reader:
    """A loaded checkpoint ready to read: the task (model in eval mode on `device`)."""

    task: Task
    device: torch.device
    checkpoint: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def model(self) -> nn.Module:
        return self.task.model

    @property
    def config(self) -> RunConfig:
        return self.task.cfg

    @property
    def family(self) -> str:
        return self.task.family

    @property
    def transform(self) -> ResizeNormalize:
        """The reading transform (`Task.read_transform`): a CTC model that reads any
        width reads a wide crop at its own width, so tensors may differ in width."""
        return self.task.read_transform

    @property
    def params(self) -> int:
        """Parameters of the network (counted before an ONNX Runtime swap)."""
        return int(self.meta.get("params") or count_parameters(self.model))

    @torch.inference_mode()
    def read(self, images: torch.Tensor) -> Reading:
        """Texts + confidences of transformed images (N, C, H, W)."""
        return self.task.read(self.model, images.to(self.device, non_blocking=True))

    def read_arrays(self, arrays: Sequence[np.ndarray]) -> Reading:
        """Texts of decoded images (H, W[, C] uint8, channels as `config.model`)."""
        return self.read_many([self.transform(a) for a in arrays], batch_size=len(arrays))

    @torch.inference_mode()
    def read_many(self, tensors: Sequence[torch.Tensor], batch_size: int = 64) -> Reading:
        """One `Reading` of transformed images of any number and widths, in input
        order: images of one shape are read together, `batch_size` at a time."""
        if not tensors:
            return Reading([], [])
        return self.task.read_ragged(self.model, list(tensors), self.device, batch_size)

    def read_dataset(self, ds: Dataset, batch_size: int = 256, workers: int = 0) -> DatasetReading:
        """Every sample of `ds` (built with `self.transform`) in order; its batches
        may mix widths (`Task.read_ragged`)."""
        with torch.inference_mode():
            return self.task.read_dataset(self.model, ds, self.device, batch_size, workers)


DEFAULT_MODEL = "default"
#: the models shipped in the package (`strtool/weights/<name>.pt`), by the name `--model`
#: takes, with the preset that trains each: `default` reads words and short phrases of
#: all ten languages, `lines` (the default model fine-tuned on text lines) reads whole
#: lines, as `predict --segment` cuts them
SHIPPED_MODELS = {DEFAULT_MODEL: "default_model", "lines": "default_lines"}


def resolve_model(model: str | Path) -> Path:
    """A checkpoint path; a name of `SHIPPED_MODELS` (`default`, `lines`) is that model
    shipped in the package, `InputError` when this build lacks it."""
    name = str(model)
    if name not in SHIPPED_MODELS:
        return Path(model)
    path = weights_dir() / f"{name}.pt"
    if not path.is_file():
        raise InputError(
            f"this strtool build ships no '{name}' model ({path} is missing); "
            f"give --model CHECKPOINT, or train one: strtool train -c {SHIPPED_MODELS[name]}"
        )
    return path


def open_reader(
    model: str | Path,
    device: str = "auto",
    langs: Sequence[str] | None = None,
    runtime: str = "torch",
    fuse: bool = True,
    decoding: DecodingOptions | None = None,
) -> Reader:
    """Load checkpoint `model` once (any family, any strtool version that wrote a
    `config`; `default` / `lines` = a shipped model), on `device`; `langs` restricts the output
    to those languages' charsets (CTC). `runtime="onnx"` runs the model by ONNX Runtime
    on the CPU (`strtool.engine.onnx_runtime`). `fuse` folds each BatchNorm into the
    convolution before it (`strtool.models.fuse`: the same readings, fewer passes; the
    reader's model is for inference only). `decoding` replaces the stored beam
    width / joint CTC weight of an img2seq model (`Task.set_decoding`). `InputError`
    for a missing or foreign file, or a runtime or option the model or machine cannot
    use."""
    if runtime not in RUNTIMES:
        raise InputError(f"--runtime: '{runtime}' is not one of {', '.join(RUNTIMES)}")
    if runtime == "onnx" and device not in ("auto", "cpu"):
        raise InputError(f"--runtime onnx runs on the CPU; --device {device} needs --runtime torch")
    model = resolve_model(model)
    ckpt = load_checkpoint(model)
    family = checkpoint_family(ckpt)
    cfg = config_from_dict(ckpt["config"])
    if family != cfg.family:
        raise InputError(
            f"{model}: its config names arch '{cfg.model.arch}' ({cfg.family}) but the "
            f"checkpoint is a {family} one"
        )
    task = build_task(cfg, ckpt)
    try:
        task.model.load_state_dict(ckpt["model"])
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0]
        raise InputError(f"{model}: weights do not fit the stored config ({first})") from None
    if decoding is not None:
        task.set_decoding(decoding)
    dev = pick_device("cpu" if runtime == "onnx" else device)
    task.model.to(dev).eval()
    meta = {k: ckpt.get(k) for k in ("arch", "step", "versions", "best")}
    meta.update(family=family, runtime=runtime, params=count_parameters(task.model))
    if fuse:
        meta["fused"] = fuse_conv_bn(task.model)
    if runtime == "onnx":
        use_onnx_runtime(task)
    if langs:
        meta["classes_kept"] = task.restrict(langs)
    return Reader(task, dev, str(model), meta)
