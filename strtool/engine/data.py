"""The engine's view of the data: (image tensor, label, language) samples drawn from
one or more STR LMDBs, filtered by language / label length and capped per language,
with every removed sample counted by reason.

Language of a sample: its `lang-%09d` key, else the LMDB's `meta["languages"]` when it
names exactly one, else "und".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from strtool.data.lmdb_io import LmdbReader
from strtool.data.transforms import ResizeNormalize
from strtool.errors import DataError
from strtool.text.langs import lang_group, resolve_langs
from strtool.text.normalize import split_units, unit_length


def _default_lang(reader: LmdbReader) -> str:
    langs = reader.meta.get("languages") if isinstance(reader.meta, dict) else None
    if isinstance(langs, list) and len(langs) == 1:
        return str(langs[0])
    if isinstance(langs, dict) and len(langs) == 1:
        return str(next(iter(langs)))
    return "und"


def _lang_ok(lang: str, wanted: set[str] | None) -> bool:
    if wanted is None:
        return True
    if lang in wanted:
        return True
    try:
        return lang_group(lang) in wanted
    except Exception:  # noqa: BLE001 - unknown tag: only exact matches count
        return False


class LmdbSamples(Dataset):
    """Samples of several LMDBs: `ds[i] -> (image (C,H,W) float in [-1,1], label, lang)`.

    `langs`: language codes or groups to keep (None = all). `max_len`: longest label in
    `unit`s. `caps`: per-language maximum (first samples kept, in file order);
    `cap`: the same for every language. `report` counts kept/removed samples.
    """

    def __init__(
        self,
        paths: Sequence[str | Path],
        transform: ResizeNormalize,
        langs: Sequence[str] | None = None,
        max_len: int | None = None,
        unit: str = "codepoint",
        cap: int | None = None,
        caps: dict[str, int] | None = None,
    ) -> None:
        if not paths:
            raise DataError("no LMDB given")
        self.readers = [LmdbReader(p) for p in paths]
        self.transform = transform
        wanted = None
        if langs:
            wanted = set(resolve_langs(list(langs))) | {s.upper() for s in langs}
        self.index: list[tuple[int, int]] = []
        self.labels: list[str] = []
        self.langs: list[str] = []
        self.report: Counter[str] = Counter()
        per_lang: Counter[str] = Counter()
        caps = dict(caps or {})
        for r, reader in enumerate(self.readers):
            default = _default_lang(reader)
            for i, label in enumerate(reader.labels()):
                lang = (reader.lang(i) if reader.has_langs else None) or default
                reason = self._reject(label, lang, wanted, max_len, unit)
                limit = caps.get(lang, cap)
                if reason is None and limit is not None and per_lang[lang] >= limit:
                    reason = "capped"
                if reason:
                    self.report[reason] += 1
                    continue
                per_lang[lang] += 1
                self.index.append((r, i))
                self.labels.append(label)
                self.langs.append(lang)
        self.report["kept"] = len(self.index)
        self.per_lang = dict(per_lang)
        if not self.index:
            raise DataError(
                f"no usable samples in {', '.join(map(str, paths))} ({dict(self.report)})"
            )

    @staticmethod
    def _reject(
        label: str, lang: str, wanted: set[str] | None, max_len: int | None, unit: str
    ) -> str | None:
        if not label:
            return "empty"
        if not _lang_ok(lang, wanted):
            return "language"
        if max_len is not None and unit_length(label, unit) > max_len:  # type: ignore[arg-type]
            return "too_long"
        return None

    def __len__(self) -> int:
        return len(self.index)

    def drop_unknown(self, chars: set[str], unit: str = "codepoint") -> int:
        """Remove samples whose label has a unit outside `chars`; count them under
        `unknown_char` in `report` and return how many were removed."""
        keep = [k for k, lab in enumerate(self.labels) if set(split_units(lab, unit)) <= chars]  # type: ignore[arg-type]
        removed = len(self.index) - len(keep)
        if removed:
            self.index = [self.index[k] for k in keep]
            self.labels = [self.labels[k] for k in keep]
            self.langs = [self.langs[k] for k in keep]
            self.report["unknown_char"] += removed
            self.report["kept"] = len(self.index)
        return removed

    def __getitem__(self, k: int) -> tuple[torch.Tensor, str, str]:
        r, i = self.index[k]
        return self.transform(self.readers[r].image(i)), self.labels[k], self.langs[k]

    def balance_weights(self) -> torch.Tensor:
        """Per-sample weights giving every language the same total weight."""
        counts = Counter(self.langs)
        return torch.tensor([1.0 / counts[x] for x in self.langs], dtype=torch.double)


def collate(batch: list[tuple[torch.Tensor, str, str]]) -> dict[str, Any]:
    """Stack images; keep labels and languages as lists."""
    images, labels, langs = zip(*batch, strict=True)
    return {"images": torch.stack(images), "labels": list(labels), "langs": list(langs)}
