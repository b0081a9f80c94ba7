"""The engine's view of the data: thin helpers over `strtool.data.dataset.LmdbDataset`
(filters, caps and the filter report live there)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import torch

from strtool.data.dataset import LmdbDataset
from strtool.data.lmdb_io import LmdbReader
from strtool.data.transforms import ResizeNormalize
from strtool.errors import DataError
from strtool.text.normalize import split_units


def label_units(paths: Sequence[str | Path], unit: str) -> list[str]:
    """Every unit of every label in `paths`, de-duplicated, sorted by code point(s)."""
    seen: set[str] = set()
    for p in paths:
        for label in LmdbReader(p).labels():
            seen.update(split_units(label, unit))  # type: ignore[arg-type]
    return sorted(seen)


def build_dataset(
    paths: Sequence[str | Path],
    transform: ResizeNormalize,
    langs: Sequence[str] | None = None,
    max_len: int | None = None,
    unit: str = "codepoint",
    caps: int | dict[str, int] | None = None,
    charset: Sequence[str] | None = None,
) -> LmdbDataset:
    """An `LmdbDataset` that must keep at least one sample (else `DataError` naming
    the paths and the filter summary)."""
    ds = LmdbDataset(
        list(paths), langs=list(langs) if langs else None, max_len=max_len, caps=caps,
        unit=unit, transform=transform, charset=charset,  # type: ignore[arg-type]
    )  # fmt: skip
    if len(ds) == 0:
        names = ", ".join(map(str, paths))
        raise DataError(f"no usable samples in {names} ({ds.report.summary()})")
    return ds


def balance_weights(langs: Sequence[str]) -> torch.Tensor:
    """Per-sample weights giving every language the same total weight."""
    counts = Counter(langs)
    return torch.tensor([1.0 / counts[x] for x in langs], dtype=torch.double)
