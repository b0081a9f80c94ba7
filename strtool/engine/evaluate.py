"""Evaluation of a checkpoint on LMDBs: the library side of
`strtool eval --model CKPT --data LMDB...` for every model family.

`evaluate_model` opens the checkpoint with the one reader (`strtool.engine.reader`),
reads the data and scores it with the metrics module (per-language WRR, CRR, 1-NED);
its `CheckpointEvaluation` holds the `Report`, reports of the model's alternative
outputs (the Spotter's own reading under a Refiner), speed and size figures.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strtool.data.dataset import LmdbDataset
from strtool.engine.data import build_dataset
from strtool.engine.reader import Reader, open_reader
from strtool.evaluation.metrics import score
from strtool.evaluation.report import Report
from strtool.tasks.base import DatasetReading
from strtool.text.normalize import as_unit


@dataclass
class CheckpointEvaluation:
    """What `evaluate_model` measured. `filtered`: samples removed from the data by
    reason (language filter, caps); `predictions` in dataset order."""

    report: Report
    ms_per_image: float
    params: int
    arch: str
    family: str
    checkpoint: str
    device: str
    filtered: dict[str, int]
    predictions: DatasetReading = field(repr=False)
    alternatives: dict[str, Report] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return self.report.pooled.n

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: `Report.to_dict()` plus the run figures (no predictions)."""
        return {
            **self.report.to_dict(), "ms_per_image": self.ms_per_image, "params": self.params,
            "arch": self.arch, "family": self.family, "checkpoint": self.checkpoint,
            "device": self.device, "filtered": self.filtered,
            "alternatives": {k: v.to_dict() for k, v in self.alternatives.items()},
        }  # fmt: skip


def evaluate_reader(
    reader: Reader,
    data: Sequence[str | Path],
    langs: Sequence[str] | None = None,
    batch_size: int = 256,
    profile: str | None = None,
    workers: int = 0,
    max_samples: int | None = None,
    unit: str = "codepoint",
    script_acc: bool = False,
    segment: bool = False,
) -> CheckpointEvaluation:
    """Read LMDBs `data` (optionally only `langs`, at most `max_samples` per language)
    with `reader` and score them under `profile` (None: the family's default) counting
    `unit`s, with script detection accuracy when `script_acc`. `segment`: the images
    are pages, cut into lines and read line by line (`strtool.engine.pages`)."""
    prof = profile or reader.task.default_profile
    if segment:
        ds = build_dataset(data, reader.transform.to_array, langs=langs, unit=reader.task.unit,
                           caps=max_samples)  # fmt: skip
        res = read_pages_dataset(reader, ds, batch_size)
    else:
        ds = build_dataset(data, reader.transform, langs=langs, unit=reader.task.unit,
                           caps=max_samples)  # fmt: skip
        res = reader.read_dataset(ds, batch_size, workers)

    def rep(texts: list[str]) -> Report:
        return score(texts, res.gts, langs=res.langs, profile=prof, unit=as_unit(unit),
                     script_acc=script_acc)  # fmt: skip

    return CheckpointEvaluation(
        report=rep(res.preds), ms_per_image=res.ms_per_image, params=reader.params,
        arch=reader.config.model.arch, family=reader.family, checkpoint=reader.checkpoint,
        device=str(reader.device), filtered={k: v for k, v in ds.report.removed.items() if v},
        predictions=res, alternatives={k: rep(v) for k, v in res.alternatives.items()},
    )  # fmt: skip


def read_pages_dataset(reader: Reader, ds: LmdbDataset, batch_size: int) -> DatasetReading:
    """Every page of `ds` (its transform decodes only) cut into lines and read, in
    order; `seconds` counts line finding and reading."""
    from strtool.engine.pages import read_pages

    out = DatasetReading([], [], [], [], 0.0)
    for start in range(0, len(ds), batch_size):
        items = [ds[i] for i in range(start, min(start + batch_size, len(ds)))]
        t0 = time.perf_counter()
        pages = read_pages(reader, [arr for arr, _, _ in items], batch_size)
        out.seconds += time.perf_counter() - t0
        out.preds += [p.text for p in pages]
        out.confidences += [p.confidence for p in pages]
        out.gts += [label for _, label, _ in items]
        out.langs += [lang for _, _, lang in items]
    return out


def evaluate_model(
    model: str | Path,
    data: Sequence[str | Path],
    langs: Sequence[str] | None = None,
    batch_size: int = 256,
    profile: str | None = None,
    device: str = "auto",
    workers: int = 0,
    max_samples: int | None = None,
    unit: str = "codepoint",
    script_acc: bool = False,
    segment: bool = False,
) -> CheckpointEvaluation:
    """`evaluate_reader(open_reader(model, device), ...)`."""
    reader = open_reader(model, device)
    return evaluate_reader(
        reader, data, langs, batch_size, profile, workers, max_samples, unit, script_acc, segment
    )
