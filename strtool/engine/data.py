"""The engine's view of the data: thin helpers over `strtool.data.dataset.LmdbDataset`
(filters, caps and the filter report live there) and `strtool.data.stream.SynthStream`
(streamed synthetic samples), and the endless batch samplers of the training loop."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from strtool.config import load_config
from strtool.data.dataset import LmdbDataset
from strtool.data.lmdb_io import LmdbReader
from strtool.data.stream import LMDB, STREAM, SynthStream
from strtool.data.transforms import ResizeNormalize
from strtool.engine.config import RunConfig
from strtool.engine.distributed import ResumableBatchSampler
from strtool.errors import ConfigError, DataError
from strtool.text.langs import resolve_langs
from strtool.text.normalize import as_unit, split_units


def label_units(paths: Sequence[str | Path], unit: str) -> list[str]:
    """Every unit of every label in `paths`, de-duplicated, sorted by code point(s)."""
    seen: set[str] = set()
    for p in paths:
        for label in LmdbReader(p).labels():
            seen.update(split_units(label, unit))  # type: ignore[arg-type]
    return sorted(seen)


def build_dataset(
    paths: Sequence[str | Path],
    transform: Callable[[bytes], Any],
    langs: Sequence[str] | None = None,
    max_len: int | None = None,
    unit: str = "codepoint",
    caps: int | dict[str, int] | None = None,
    charset: Sequence[str] | None = None,
    skip_bad: bool = False,
) -> LmdbDataset:
    """An `LmdbDataset` that must keep at least one sample (else `DataError` naming
    the paths and the filter summary); `skip_bad`: unreadable images become
    `BadSample`s (training) instead of errors."""
    ds = LmdbDataset(
        list(paths), langs=list(langs) if langs else None, max_len=max_len, caps=caps,
        unit=as_unit(unit), transform=transform, charset=charset, skip_bad=skip_bad,
    )  # fmt: skip
    if len(ds) == 0:
        names = ", ".join(map(str, paths))
        raise DataError(f"no usable samples in {names} ({ds.report.summary()})")
    return ds


def balance_weights(langs: Sequence[str]) -> torch.Tensor:
    """Per-sample weights giving every language the same total weight."""
    counts = Counter(langs)
    return torch.tensor([1.0 / counts[x] for x in langs], dtype=torch.double)


def stream_langs(cfg: RunConfig) -> list[str]:
    """The stream's language codes: `data.synth.langs`, else `data.langs`, else all."""
    s = cfg.data.synth
    assert s is not None
    return resolve_langs(s.langs or (list(cfg.data.langs) or "all"))


def with_stream_charset(cfg: RunConfig) -> RunConfig:
    """With a stream and no `data.charset`, the charset is the stream languages'
    (written into the run's config, so a resumed run and the checkpoint agree)."""
    if cfg.data.synth is None or cfg.data.charset is not None:
        return cfg
    return replace(cfg, data=replace(cfg.data, charset=",".join(stream_langs(cfg))))


def build_stream(
    cfg: RunConfig, transform: ResizeNormalize, label_chars: Sequence[str] | None, unit: str
) -> SynthStream:
    """The `SynthStream` of `data.synth`: the job (charsets, corpora, font pools) is
    prepared once, here, as `synth words|lines|pages` prepare it (`data.synth.kind`;
    pages are `model.width` px wide); filtered like the LMDB training set (max_len,
    the task's charset)."""
    from strtool.synth.config import SynthConfig
    from strtool.synth.lines import LINES_PRESET, LineJob, check_line_canvas
    from strtool.synth.page import PAGE_PRESET, PageJob, prepare_pages
    from strtool.synth.words import WordJob, prepare_words

    s = cfg.data.synth
    assert s is not None
    default = {"words": None, "lines": LINES_PRESET, "pages": PAGE_PRESET}[s.kind]
    try:
        synth_cfg = load_config(SynthConfig, s.config or default, list(s.overrides))
        if s.kind == "lines":
            check_line_canvas(synth_cfg)
    except ConfigError as e:
        raise ConfigError(f"data.synth.config: {e}") from None
    seed = cfg.train.seed if s.seed is None else s.seed
    langs, fonts = stream_langs(cfg), list(s.fonts) or None
    job: WordJob | LineJob | PageJob
    if s.kind == "pages":
        job, _ = prepare_pages(langs, synth_cfg, fonts, seed, cfg.model.width, list(s.corpus),
                               s.bg_dir)  # fmt: skip
    else:
        job, _ = prepare_words(langs, synth_cfg, fonts, seed, s.height or cfg.model.height,
                               list(s.corpus), s.bg_dir)  # fmt: skip
        if s.kind == "lines":  # the same job, drawing lines instead of words
            job = LineJob.from_words(job)
    bad = sorted(set(s.lang_weights) - set(job.langs))
    if bad:
        raise ConfigError(
            f"data.synth.lang_weights: {', '.join(bad)} is not a language of the stream "
            f"({', '.join(job.langs)})"
        )
    max_len, chars = cfg.data.max_len, label_chars
    return SynthStream(job, transform, s.lang_weights, max_len, unit, chars)  # type: ignore[arg-type]


def stream_share(cfg: RunConfig) -> int:
    """Stream samples per micro-batch: `round(data.synth.weight * batch_size)` (0
    without a stream); `ConfigError` when that leaves one source with nothing."""
    s, b = cfg.data.synth, cfg.train.batch_size
    if s is None:
        return 0
    n = int(round(s.weight * b))
    if n < 1 or (cfg.data.train and n >= b):
        raise ConfigError(
            f"data.synth.weight: {s.weight} of train.batch_size {b} gives {n} stream and "
            f"{b - n} LMDB samples per batch; each source needs at least one"
        )
    return n


class EpochChain:
    """An endless batch sampler: epoch after epoch from a starting position."""

    def __init__(self, sampler: ResumableBatchSampler) -> None:
        self.sampler = sampler

    def __iter__(self) -> Iterator[list[int]]:
        s = self.sampler
        while True:
            yield from s
            s = ResumableBatchSampler(
                s.n, s.batch_size, s.seed, s.epoch + 1, 0, s.rank, s.world, s.weights
            )


class MixedBatchSampler:
    """Endless batches of `MixedSource` keys: `n_stream` stream items, then the LMDB
    part (`lmdb`: batches of the rest, epoch after epoch), per micro-batch.

    Micro-batch `g` (counted over the whole run, the same on every rank) takes stream
    items `(g * world + rank) * n_stream + p`, p < n_stream: ranks draw disjoint items,
    and a run resumed at micro-batch `first` draws what an uninterrupted run would."""

    def __init__(
        self,
        n_stream: int,
        first: int = 0,
        rank: int = 0,
        world: int = 1,
        lmdb: ResumableBatchSampler | None = None,
    ) -> None:
        self.n_stream, self.first, self.rank, self.world = n_stream, first, rank, world
        self.lmdb = lmdb

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        lmdb = iter(EpochChain(self.lmdb)) if self.lmdb is not None else None
        g = self.first
        while True:
            base = (g * self.world + self.rank) * self.n_stream
            keys = [(STREAM, base + p) for p in range(self.n_stream)]
            if lmdb is not None:
                keys += [(LMDB, j) for j in next(lmdb)]
            yield keys
            g += 1


def stream_report(samples: int, skips: Counter[str] | dict[str, Any]) -> dict[str, Any]:
    """The stream's part of a run's data report."""
    return {"samples": samples, "skipped": {k: int(v) for k, v in sorted(skips.items()) if v}}
