"""Training datasets over STR LMDBs.

`LmdbDataset(paths, ...)` joins one or more LMDBs, filters them once at construction
(reading labels and language tags only) and records why each sample was removed in a
`FilterReport`; images are decoded lazily in `__getitem__`. LMDB handles are opened
per process on first access, so the dataset can be pickled into DataLoader workers.

Language of a sample: its `lang-*` key, else the only language named in the LMDB's
`meta`, else the MLT group detected from the label's script (stored as the group's
language when unique, else the group name), else `unknown`.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from strtool.data.lmdb_io import LmdbReader
from strtool.data.lmdb_tools import default_lang
from strtool.errors import DataError
from strtool.text.langs import GROUPS, resolve_langs
from strtool.text.normalize import Unit, split_units
from strtool.text.script import detect_group

REASONS: tuple[str, ...] = ("other_lang", "too_long", "out_of_charset", "cap")


@dataclass
class FilterReport:
    """Samples seen, kept, removed per reason, and the characters outside the
    charset that caused `out_of_charset` removals (char -> occurrences)."""

    total: int = 0
    kept: int = 0
    removed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REASONS, 0))
    unknown_chars: Counter[str] = field(default_factory=Counter)

    def merge(self, other: FilterReport) -> None:
        """Add `other`'s counts into this report."""
        self.total += other.total
        self.kept += other.kept
        for k, v in other.removed.items():
            self.removed[k] = self.removed.get(k, 0) + v
        self.unknown_chars.update(other.unknown_chars)

    def summary(self) -> str:
        """One line: kept/total and removals by reason."""
        parts = [f"{v} {k}" for k, v in self.removed.items() if v]
        return f"kept {self.kept}/{self.total}" + (
            f" (removed: {', '.join(parts)})" if parts else ""
        )


def _tag(stored: str | None, default: str | None, label: str) -> str:
    if stored or default:
        return stored or default  # type: ignore[return-value]
    group = detect_group(label)
    if group is None:
        return "unknown"
    return GROUPS[group][0] if len(GROUPS[group]) == 1 else group


def _lang_ok(tag: str, wanted: set[str]) -> bool:
    if tag in wanted:
        return True
    return tag in GROUPS and any(x in wanted for x in GROUPS[tag])


class LmdbDataset(Dataset):
    """Samples of one or more LMDBs as `(image, label, lang)`.

    - `langs`: keep only these languages/groups (spec as in `resolve_langs`).
    - `max_len`: drop labels longer than this many `unit`s (`codepoint`/`grapheme`).
    - `charset`: drop labels with a unit outside it (counted in `report.unknown_chars`).
    - `caps`: at most N samples per language (an int for all, or `{lang: N}`); the first
      N in LMDB order, or N at random when `cap_mode="random"` (by `seed`).
    - `transform`: applied to the encoded image bytes (e.g. `ResizeNormalize`, giving a
      float tensor (C, H, W) in [-1, 1]); `None` returns the bytes unchanged.
    """

    def __init__(
        self,
        paths: str | Path | Sequence[str | Path],
        langs: str | Sequence[str] | None = None,
        max_len: int | None = None,
        caps: int | dict[str, int] | None = None,
        unit: Unit = "codepoint",
        transform: Callable[[bytes], Any] | None = None,
        charset: Iterable[str] | None = None,
        cap_mode: str = "first",
        seed: int = 0,
        skip_bad: bool = False,
    ) -> None:
        if isinstance(paths, str | Path):
            paths = [paths]
        if cap_mode not in ("first", "random"):
            raise ValueError(f"cap_mode must be 'first' or 'random', got {cap_mode!r}")
        self.readers = [LmdbReader(p) for p in paths]
        self.transform = transform
        self.skip_bad = skip_bad
        self.report = FilterReport()
        wanted = set(resolve_langs(langs)) if langs is not None else None
        chars = set(charset) if charset is not None else None
        src, idx, tags = self._scan(wanted, max_len, chars, unit)
        keep = _apply_caps(tags, caps, cap_mode, seed, self.report)
        self._src = np.asarray(src, dtype=np.int32)[keep]
        self._idx = np.asarray(idx, dtype=np.int64)[keep]
        self.langs: list[str] = [tags[k] for k in keep]
        self.report.kept = len(keep)

    def _scan(
        self, wanted: set[str] | None, max_len: int | None, chars: set[str] | None, unit: Unit
    ) -> tuple[list[int], list[int], list[str]]:
        src: list[int] = []
        idx: list[int] = []
        tags: list[str] = []
        rep = self.report
        for r, reader in enumerate(self.readers):
            default = default_lang(reader)
            stored = reader.langs() if reader.has_langs else [None] * len(reader)
            for i, label in enumerate(reader.labels()):
                rep.total += 1
                tag = _tag(stored[i], default, label)
                if wanted is not None and not _lang_ok(tag, wanted):
                    rep.removed["other_lang"] += 1
                    continue
                units = split_units(label, unit) if (max_len or chars is not None) else []
                if max_len is not None and len(units) > max_len:
                    rep.removed["too_long"] += 1
                    continue
                if chars is not None:
                    bad = [u for u in units if u not in chars]
                    if bad:
                        rep.removed["out_of_charset"] += 1
                        rep.unknown_chars.update(bad)
                        continue
                src.append(r)
                idx.append(i)
                tags.append(tag)
        return src, idx, tags

    def __len__(self) -> int:
        return len(self._idx)

    def __getitem__(self, i: int) -> tuple[Any, str, str]:
        """`(transform(image), label, lang)`. An image that cannot be read or decoded is
        a `DataError` naming the LMDB and key, or with `skip_bad` a `BadSample` in place
        of the image (the training collate drops and counts it)."""
        reader = self.readers[int(self._src[i])]
        j = int(self._idx[i])
        try:
            image = reader.image(j)
            out = self.transform(image) if self.transform is not None else image
        except (DataError, OSError, ValueError) as e:
            where = f"{reader.path}: image-{j + 1:09d}"
            if not self.skip_bad:
                raise DataError(f"{where}: {e}") from None
            return BadSample(where, str(e)), reader.label(j), self.langs[i]
        return out, reader.label(j), self.langs[i]


def _apply_caps(
    tags: list[str], caps: int | dict[str, int] | None, mode: str, seed: int, rep: FilterReport
) -> list[int]:
    """Positions kept after the per-language caps, in their original order."""
    if caps is None:
        return list(range(len(tags)))
    by_lang: dict[str, list[int]] = {}
    for k, t in enumerate(tags):
        by_lang.setdefault(t, []).append(k)
    rng = random.Random(seed)
    keep: list[int] = []
    for lang, pos in by_lang.items():
        cap = caps if isinstance(caps, int) else caps.get(lang)
        if cap is not None and len(pos) > cap:
            pos = sorted(rng.sample(pos, cap)) if mode == "random" else pos[:cap]
            rep.removed["cap"] += len(by_lang[lang]) - cap
        keep.extend(pos)
    return sorted(keep)


def collate(
    batch: list[tuple[torch.Tensor, str, str]],
) -> tuple[torch.Tensor, list[str], list[str]]:
    """Stack `(image, label, lang)` samples: images (N, C, H, W), labels, langs."""
    images, labels, langs = zip(*batch, strict=True)
    return torch.stack(list(images)), list(labels), list(langs)


@dataclass(frozen=True)
class BadSample:
    """A training sample whose image could not be read: `where` (LMDB path and key)."""

    where: str
    reason: str


@dataclass
class BatchNotes:
    """What a training batch left out: the stream's skips per reason, unreadable
    samples (`BadSample`s), and how many samples were drawn in all."""

    skips: dict[str, int] = field(default_factory=dict)
    bad: list[BadSample] = field(default_factory=list)
    drawn: int = 0


def collate_train(
    batch: list[tuple[Any, ...]],
) -> tuple[torch.Tensor | None, list[str], list[str], BatchNotes]:
    """Training batches: items `(image, label, lang[, skips])`; unreadable samples are
    dropped and noted (images None when the whole batch was unreadable)."""
    notes = BatchNotes(drawn=len(batch))
    skips: Counter[str] = Counter()
    good: list[tuple[torch.Tensor, str, str]] = []
    for item in batch:
        if len(item) > 3:
            skips.update(item[3])
        if isinstance(item[0], BadSample):
            notes.bad.append(item[0])
        else:
            good.append((item[0], item[1], item[2]))
    notes.skips = dict(skips)
    if not good:
        return None, [], [], notes
    images, labels, langs = collate(good)
    return images, labels, langs, notes
