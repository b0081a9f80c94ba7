"""Stitching: synthetic lines and pages composed from the word crops of a word LMDB,
as FPHTR augments IAM (any word LMDB: synthetic, IAM words, a user's real crops).

A line is `StitchConfig.words` word crops drawn at random from the LMDB, each scaled
to about `height` px (x `1 +- height_jitter`), placed side by side `gap` x height apart
with a small vertical offset (`baseline_jitter`), on a canvas filled with the median
border colour of the crops; its label is the words' labels joined by a space. The
words of one line are all right-to-left (a label whose first strong character is
Arabic/Hebrew) or all left-to-right; a right-to-left line is placed from the right,
its label in logical order. A page is `lines` such lines stacked `line_gap` x height
apart, left-aligned (right-aligned when right-to-left) with an indentation of up to
`indent` x height, labelled with the line labels joined by `\\n` in reading order.

Determinism: sample `i` of epoch `e` draws everything from
`numpy.random.default_rng(SeedSequence([seed, e, i]))`: the same (seed, epoch, i)
always gives the same image and label, another epoch a new composition (reseeded per
epoch). `StitchDataset` serves `(transform(png), label, lang)` like `LmdbDataset`, with
`set_epoch(e)`; `StitchJob` renders samples into an LMDB through the synth pipeline
(`strtool synth stitch`).
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from torch.utils.data import Dataset

from strtool.data.build_prep import group_tag
from strtool.data.lmdb_io import LmdbReader
from strtool.errors import ConfigError, DataError
from strtool.synth.augment import encode
from strtool.synth.geometry import uniform
from strtool.synth.pipeline import Result
from strtool.text.script import detect_group

MODES: tuple[str, ...] = ("lines", "pages")


def _r(lo: float, hi: float) -> list[float]:
    return field(default_factory=lambda: [lo, hi])


@dataclass
class StitchConfig:
    """How words become lines and lines pages (module docstring); lengths in units of
    the line `height` (px)."""

    words: list[float] = _r(2, 8)  # words per line (integers, uniform)
    lines: list[float] = _r(3, 8)  # lines per page (integers, uniform)
    height: int = 48  # word height in the composed image, px
    height_jitter: float = 0.1  # per-word scale 1 +- this
    gap: list[float] = _r(0.25, 0.6)  # space between words, x height
    baseline_jitter: float = 0.06  # vertical offset per word, x height
    line_gap: list[float] = _r(0.1, 0.5)  # space between lines, x height
    indent: list[float] = _r(0.0, 1.0)  # left (right for RTL) offset per line, x height
    margin: float = 0.25  # around the line or page, x height

    def __post_init__(self) -> None:
        for key in ("words", "lines", "gap", "line_gap", "indent"):
            lo, hi = (float(v) for v in getattr(self, key))
            if lo < 0 or lo > hi:
                raise ConfigError(f"{key}: [{lo:g}, {hi:g}] must be ordered and >= 0")
        if float(self.words[0]) < 1 or float(self.lines[0]) < 1:
            raise ConfigError("words and lines: at least 1")
        if not 8 <= int(self.height) <= 512:
            raise ConfigError(f"height: {self.height} must be in 8..512")
        for key in ("height_jitter", "baseline_jitter"):
            if not 0 <= float(getattr(self, key)) < 0.5:
                raise ConfigError(f"{key}: {getattr(self, key)} must be in [0, 0.5)")
        if not 0 <= float(self.margin) <= 5:
            raise ConfigError(f"margin: {self.margin} must be in [0, 5]")


def is_rtl(label: str) -> bool:
    """True when the first strong character of `label` is right-to-left (R or AL)."""
    for ch in label:
        d = unicodedata.bidirectional(ch)
        if d in ("R", "AL"):
            return True
        if d == "L":
            return False
    return False


def stitch_rng(seed: int, epoch: int, i: int) -> np.random.Generator:
    """The generator of sample `i` of `epoch`."""
    return np.random.default_rng(np.random.SeedSequence([seed, epoch, i]))


@dataclass
class Stitcher:
    """Composes lines or pages from the words of the LMDB at `source` (picklable:
    the reader reopens in each process)."""

    source: str
    cfg: StitchConfig = field(default_factory=StitchConfig)
    mode: str = "lines"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"stitch mode '{self.mode}': use one of {', '.join(MODES)}")

    @cached_property
    def reader(self) -> LmdbReader:
        return LmdbReader(self.source)

    @cached_property
    def pools(self) -> dict[bool, np.ndarray]:
        """Sample indices by direction (True: right-to-left); empty labels left out."""
        labels = list(self.reader.labels())
        rtl = [is_rtl(s) for s in labels]
        out = {d: np.array([i for i, s in enumerate(labels) if s.strip() and rtl[i] == d],
                           dtype=np.int64) for d in (False, True)}  # fmt: skip
        if not any(len(v) for v in out.values()):
            raise DataError(f"{self.source}: no word with a label to stitch")
        return out

    @cached_property
    def langs(self) -> list[str | None]:
        """Stored language tag of every word (None when the LMDB has none)."""
        return self.reader.langs()

    def lang_of(self, indices: list[int], label: str) -> str:
        """Tag of a composed sample: the tag its words share, else the script group
        of the label (its language when the group has one), else `unknown`."""
        tags = {self.langs[j] for j in indices}
        if len(tags) == 1 and None not in tags:
            return str(next(iter(tags)))
        group = detect_group(label)
        return group_tag(group) if group else "unknown"

    def sample(self, i: int, epoch: int = 0) -> tuple[np.ndarray, str]:
        """(RGB uint8 image, label) of sample `i` of `epoch` (module docstring)."""
        img, label, _ = self.sample_tagged(i, epoch)
        return img, label

    def sample_tagged(self, i: int, epoch: int = 0) -> tuple[np.ndarray, str, str]:
        """(RGB uint8 image, label, language tag) of sample `i` of `epoch`."""
        rng = stitch_rng(self.seed, epoch, i)
        sizes = {d: len(v) for d, v in self.pools.items()}
        rtl = bool(rng.random() * (sizes[False] + sizes[True]) >= sizes[False])
        lo, hi = int(self.cfg.lines[0]), int(self.cfg.lines[1])
        n = 1 if self.mode == "lines" else int(rng.integers(lo, hi + 1))
        used: list[int] = []
        lines = [self._line(rng, rtl, used) for _ in range(n)]
        text = "\n".join(t for _, t in lines)
        if self.mode == "lines":
            img = _pad(lines[0][0], self._margin(), _fill([lines[0][0]]))
        else:
            img = self._page(lines, rng, rtl)
        return img, text, self.lang_of(used, text)

    def _margin(self) -> int:
        return int(round(self.cfg.margin * self.cfg.height))

    def _word(self, j: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        data = self.reader.image(j)
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            raise DataError(f"{self.source}: image-{j + 1:09d} does not decode")
        h = max(4, int(round(self.cfg.height * (1 + rng.uniform(-1, 1) * self.cfg.height_jitter))))
        w = max(1, int(round(img.shape[1] * h / img.shape[0])))
        img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if h < img.shape[0]
                         else cv2.INTER_LINEAR)  # fmt: skip
        return np.ascontiguousarray(img[..., ::-1]), self.reader.label(j)

    def _line(self, rng: np.random.Generator, rtl: bool, used: list[int]) -> tuple[np.ndarray, str]:
        pool = self.pools[rtl]
        k = int(rng.integers(int(self.cfg.words[0]), int(self.cfg.words[1]) + 1))
        picks = [int(pool[int(rng.integers(len(pool)))]) for _ in range(k)]
        used += picks
        words = [self._word(j, rng) for j in picks]
        hgt = self.cfg.height
        jit = [int(round(rng.uniform(-1, 1) * self.cfg.baseline_jitter * hgt)) for _ in words]
        gaps = [int(round(uniform(rng, self.cfg.gap) * hgt)) for _ in words[1:]] + [0]
        top = max(
            0, -min(j + (hgt - w.shape[0]) // 2 for (w, _), j in zip(words, jit, strict=True))
        )
        height = max(top + j + (hgt - w.shape[0]) // 2 + w.shape[0]
                     for (w, _), j in zip(words, jit, strict=True))  # fmt: skip
        width = sum(w.shape[1] for w, _ in words) + sum(gaps)
        canvas = np.empty((height, width, 3), np.uint8)
        canvas[:] = _fill([w for w, _ in words])
        x = 0
        for (w, _), j, g in zip(words, jit, gaps, strict=True):
            y = top + j + (hgt - w.shape[0]) // 2
            left = width - x - w.shape[1] if rtl else x
            canvas[y : y + w.shape[0], left : left + w.shape[1]] = w
            x += w.shape[1] + g
        return canvas, " ".join(t for _, t in words)

    def _page(self, lines: list[tuple[np.ndarray, str]], rng: np.random.Generator,
              rtl: bool) -> np.ndarray:  # fmt: skip
        hgt, m = self.cfg.height, self._margin()
        indents = [int(round(uniform(rng, self.cfg.indent) * hgt)) for _ in lines]
        gaps = [int(round(uniform(rng, self.cfg.line_gap) * hgt)) for _ in lines[1:]] + [0]
        width = max(img.shape[1] + d for (img, _), d in zip(lines, indents, strict=True))
        height = sum(img.shape[0] for img, _ in lines) + sum(gaps)
        page = np.empty((height, width, 3), np.uint8)
        page[:] = _fill([img for img, _ in lines])
        y = 0
        for (img, _), d, g in zip(lines, indents, gaps, strict=True):
            left = width - d - img.shape[1] if rtl else d
            page[y : y + img.shape[0], left : left + img.shape[1]] = img
            y += img.shape[0] + g
        return _pad(page, m, _fill([img for img, _ in lines]))


def _fill(images: list[np.ndarray]) -> np.ndarray:
    """Median colour of the border pixels of `images` (uint8 RGB)."""
    border = np.concatenate([np.concatenate([im[0], im[-1], im[:, 0], im[:, -1]])
                             for im in images])  # fmt: skip
    return np.median(border, axis=0).astype(np.uint8)


def _pad(img: np.ndarray, m: int, colour: np.ndarray) -> np.ndarray:
    out = np.empty((img.shape[0] + 2 * m, img.shape[1] + 2 * m, 3), np.uint8)
    out[:] = colour
    out[m : m + img.shape[0], m : m + img.shape[1]] = img
    return out


class StitchDataset(Dataset):
    """`length` stitched samples per epoch as `(transform(png bytes), label, lang)`,
    the contract of `LmdbDataset`; `set_epoch(e)` reseeds (call it before each epoch,
    in the main process: DataLoader workers receive the dataset with its epoch)."""

    def __init__(self, stitcher: Stitcher, length: int, transform: Any = None) -> None:
        if length < 1:
            raise ConfigError(f"stitch dataset length {length}: must be at least 1")
        self.stitcher, self.length, self.transform = stitcher, length, transform
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Use the compositions of `epoch`."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> tuple[Any, str, str]:
        img, label, lang = self.stitcher.sample_tagged(i, self.epoch)
        data = encode(img)
        return (self.transform(data) if self.transform is not None else data), label, lang


@dataclass
class StitchJob:
    """Sample i (epoch `epoch`) of a stitcher for the synth pipeline (`strtool synth
    stitch`)."""

    stitcher: Stitcher
    epoch: int = 0

    def make(self, i: int) -> Result:
        img, label, lang = self.stitcher.sample_tagged(i, self.epoch)
        return Result(i, label, lang, image=encode(img), font="stitch")


def stitch_meta(stitcher: Stitcher, epoch: int) -> dict[str, Any]:
    """Meta of a stitched LMDB (what a resumed run must share)."""
    return {"source": "strtool synth stitch", "from": str(Path(stitcher.source)),
            "mode": stitcher.mode, "seed": stitcher.seed, "epoch": epoch,
            "config": asdict(stitcher.cfg), "multiline": stitcher.mode == "pages"}  # fmt: skip
