"""Synthetic training samples rendered on the fly, in DataLoader workers.

`SynthStream(job, transform, ...)` is a map-style dataset over an endless index space:
item `i` is rendered by `strtool.synth.words.WordJob` (the fonts, corpora, augmentations
and configs of `strtool synth words`) and returned as the LMDB dataset returns a sample,
`(transform(image bytes), label, lang)`, so tasks and `collate` are unchanged.

Determinism: everything about item `i` depends on (seed, i) only, never on the worker,
the process or what was drawn before:

- attempt `k` (0, 1, ...) of item `i` is synth index `j = i + k * ATTEMPT_STRIDE`;
- its language is drawn from `SeedSequence([seed, j, LANG_KEY])` with the stream's
  language weights (balanced by default);
- the rest is `WordJob.make(j)` of a job holding that one language, i.e. exactly
  sample `j` of `strtool synth words --lang <lang> --seed <seed>` (the text is drawn
  first, `WordJob.text_of`, so a label the task cannot learn is skipped unrendered).

An attempt the task cannot use is skipped and the next one drawn: text no font can
draw (`no_font`) or an empty text (`empty_text`), as `synth words` skips them, and
labels longer than `max_len` units (`too_long`) or with a unit outside `charset`
(`out_of_charset`), as `LmdbDataset` filters them. `sample(i)` returns the skips with the
sample, so they can be counted exactly for the batches a run consumed.

`MixedSource` joins a stream and an LMDB dataset under keys `(STREAM, i)` /
`(LMDB, i)`; `strtool.data.dataset.collate_train` stacks its samples and sums their
skip counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from torch.utils.data import Dataset

from strtool.errors import DataError
from strtool.text.normalize import Unit, split_units

if TYPE_CHECKING:  # rendering modules load in the process that builds the job
    from strtool.synth.lines import LineJob
    from strtool.synth.page import PageJob
    from strtool.synth.pipeline import Result
    from strtool.synth.words import WordJob

#: Attempt k of item i renders synth index i + k * ATTEMPT_STRIDE (items stay below it).
ATTEMPT_STRIDE = 2**40
#: Consecutive skipped attempts after which an item is an error (the config is wrong).
MAX_TRIES = 64
#: Third entropy word of the language draw (independent of the sample's own generator).
LANG_KEY = 0x4C414E47
SKIP_REASONS: tuple[str, ...] = ("no_font", "empty_text", "too_long", "out_of_charset")
#: Source tags of `MixedSource` keys.
STREAM, LMDB = 0, 1

Sample = tuple[Any, str, str]


class SynthStream(Dataset):
    """Item `i` -> `(transform(image), label, lang)`, rendered from (`job.seed`, i).

    - `job`: a prepared `WordJob` (`strtool.synth.words.prepare_words`), its `LineJob`,
      or a `PageJob` (`strtool.synth.page.prepare_pages`); its languages are the
      stream's. Word and line jobs draw the text first, so a label the task cannot
      learn is skipped before rendering; a page is rendered, then filtered.
    - `lang_weights`: relative weight per language (unlisted: 1); None or empty =
      every language equally often.
    - `max_len`, `unit`, `charset`: the label filter of the task (as `LmdbDataset`).
    - `transform`: applied to the encoded image bytes (None returns the bytes).

    The dataset is endless (no `len`); pickled once into each DataLoader worker, whose
    font and layout caches then persist with the worker.
    """

    def __init__(
        self,
        job: WordJob | LineJob | PageJob,
        transform: Callable[[bytes], Any] | None = None,
        lang_weights: Mapping[str, float] | None = None,
        max_len: int | None = None,
        unit: Unit = "codepoint",
        charset: Iterable[str] | None = None,
    ) -> None:
        self.langs = list(job.langs)
        if not self.langs:
            raise DataError("synth stream: no language to render")
        self.weights = lang_probs(self.langs, lang_weights)
        self._cum = np.cumsum([self.weights[x] for x in self.langs])
        self.jobs = {lang: replace(job, langs=[lang]) for lang in self.langs}
        self.seed = job.seed
        self.transform = transform
        self.max_len, self.unit = max_len, unit
        self.chars = frozenset(charset) if charset is not None else None

    def lang_of(self, j: int) -> str:
        """The language of synth index `j` (by the language weights)."""
        u = np.random.default_rng(np.random.SeedSequence([self.seed, j, LANG_KEY])).random()
        k = int(np.searchsorted(self._cum, u * self._cum[-1], side="right"))
        return self.langs[min(k, len(self.langs) - 1)]

    def reject(self, label: str) -> str | None:
        """Why the task cannot learn `label` (`too_long`, `out_of_charset`), or None."""
        if self.max_len is None and self.chars is None:
            return None
        units = split_units(label, self.unit)
        if self.max_len is not None and len(units) > self.max_len:
            return "too_long"
        if self.chars is not None and any(u not in self.chars for u in units):
            return "out_of_charset"
        return None

    def draw(self, i: int) -> tuple[Result, Counter[str]]:
        """The first usable rendering of item `i` (encoded image) and the skips before
        it, by reason; `DataError` after `MAX_TRIES` skips in a row."""
        if not 0 <= i < ATTEMPT_STRIDE:
            raise IndexError(f"synth stream index {i} outside [0, 2**40)")
        skips: Counter[str] = Counter()
        for k in range(MAX_TRIES):
            j = i + k * ATTEMPT_STRIDE
            r, reason = self._attempt(j)
            if reason is None and r is not None:
                return r, skips
            skips[reason or "no_image"] += 1
        raise DataError(
            f"synth stream: {MAX_TRIES} draws in a row skipped for item {i} "
            f"({', '.join(f'{v} {k}' for k, v in skips.items())}): do data.synth.langs "
            "fit data.charset and data.max_len?"
        )

    def _attempt(self, j: int) -> tuple[Result | None, str | None]:
        """Synth index `j` rendered (None when its text was refused unrendered), and
        why it cannot be used (None: it can)."""
        job = self.jobs[self.lang_of(j)]
        if hasattr(job, "text_of"):  # words and lines: the text first
            job = cast("WordJob", job)
            rng, lang, text = job.text_of(j)
            reason = self.reject(text)  # before rendering: nothing is drawn in vain
            if reason is not None:
                return None, reason
            r = job.make_text(j, rng, lang, text)
        else:  # pages: the layout decides the text
            r = job.make(j)
            if r.skip is None and r.image is not None:
                return r, self.reject(r.label)
        if r.skip is None and r.image is not None:
            return r, None
        return r, (r.skip or "no_image").replace("-", "_")

    def sample(self, i: int) -> tuple[Sample, Counter[str]]:
        """`((transform(image), label, lang), skips)` of item `i`."""
        r, skips = self.draw(i)
        assert r.image is not None
        image = self.transform(r.image) if self.transform is not None else r.image
        return (image, r.label, r.lang), skips

    def __getitem__(self, i: int) -> Sample:
        return self.sample(i)[0]


def lang_probs(langs: list[str], weights: Mapping[str, float] | None) -> dict[str, float]:
    """Probability of each language: `weights` (relative, unlisted = 1) normalised;
    `DataError` for a weight naming no stream language or all weights zero."""
    weights = dict(weights or {})
    unknown = sorted(set(weights) - set(langs))
    if unknown:
        raise DataError(
            f"synth stream: weight for {', '.join(unknown)}, not a language of the stream "
            f"({', '.join(langs)})"
        )
    raw = {x: float(weights.get(x, 1.0)) for x in langs}
    if any(v < 0 for v in raw.values()) or sum(raw.values()) <= 0:
        raise DataError(f"synth stream: language weights must be >= 0, not all 0: {raw}")
    total = sum(raw.values())
    return {x: v / total for x, v in raw.items()}


class MixedSource(Dataset):
    """A stream and/or an LMDB dataset under keys `(STREAM, i)` / `(LMDB, i)`; items are
    `(image, label, lang, skips)` with the stream's skip counts (empty for LMDB)."""

    def __init__(self, stream: SynthStream | None, lmdb: Dataset | None) -> None:
        self.stream, self.lmdb = stream, lmdb

    def __getitem__(self, key: tuple[int, int]) -> tuple[Any, str, str, dict[str, int]]:
        src, i = key
        if src == STREAM:
            assert self.stream is not None
            (image, label, lang), skips = self.stream.sample(i)
            return image, label, lang, dict(skips)
        assert self.lmdb is not None
        image, label, lang = self.lmdb[i]
        return image, label, lang, {}
