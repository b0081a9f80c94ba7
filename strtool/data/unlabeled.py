"""Unlabeled crops: LMDBs of images without labels, and their training dataset.

`make_unlabeled_lmdb(source, output)` builds an LMDB from a folder of images (searched
recursively, `IMAGE_EXTS`, in sorted path order) or from a file list (one image path per
line, relative to the list's folder or `images`; blank lines and `#` comments ignored).
The LMDB has `image-*` keys (bytes unchanged), optional `lang-*` tags (`lang`), no
`label-*` key, and `meta` says `"unlabeled": true` (`lmdb_io.UNLABELED`): never a
magic label value. Unusable files are skipped and counted by reason (`missing`,
`corrupt`: empty, not an image by its header, truncated; with `check`, not decodable;
`duplicate`: a path listed again) and listed in the result and in
`<output>.report.json`; no usable image is a `DataError` and nothing is written. The
build is resumable like `make_lmdb` (`resume`).

`UnlabeledDataset(paths, transform)` serves the images of unlabeled LMDBs (labeled ones
too: their labels are never read) as training inputs for `strtool.semi`: items are
images only, so nothing from this loader can reach a supervised loss.
"""

from __future__ import annotations

import bisect
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from strtool.data.dataset import BadSample
from strtool.data.gt_formats import line_lang
from strtool.data.imgcheck import image_problem
from strtool.data.lmdb_io import LMDB_KIND, UNLABELED, LmdbReader
from strtool.data.lmdb_writer import LmdbWriter
from strtool.errors import DataError, InputError
from strtool.outputs import atomic_write_text, check_output, check_replaceable

CHECKPOINT_EVERY = 512  # entries between checkpoints of a resumable build
IMAGE_EXTS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
SKIP_KINDS: tuple[str, ...] = ("missing", "corrupt", "duplicate")

Progress = Callable[[int, int], None]


@dataclass
class UnlabeledIssue:
    """A skipped entry: where (file, or list file and line), kind, message."""

    where: str
    kind: str
    message: str


@dataclass
class UnlabeledResult:
    """Outcome of `make_unlabeled_lmdb`."""

    output: Path
    written: int = 0
    skipped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SKIP_KINDS, 0))
    issues: list[UnlabeledIssue] = field(default_factory=list)
    lang: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": str(self.output), "written": self.written, "skipped": self.skipped,
            "lang": self.lang, "unlabeled": True,
            "issues": [i.__dict__ for i in self.issues],
        }  # fmt: skip


def list_images(source: Path, images: Path | None = None) -> list[tuple[str, Path]]:
    """`(where, path)` of every image of a folder (recursive, sorted, hidden files and
    folders left out) or every line of a file list; `InputError` for a missing source
    or a list naming no file."""
    if source.is_dir():
        found = [
            p for p in sorted(source.rglob("*"))
            if p.suffix.lower() in IMAGE_EXTS and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(source).parts)
        ]  # fmt: skip
        if not found:
            raise InputError(f"{source}: no image files ({', '.join(sorted(IMAGE_EXTS))})")
        return [(str(p), p) for p in found]
    if not source.is_file():
        raise InputError(f"{source}: no such folder or file list")
    root = images or source.parent
    out: list[tuple[str, Path]] = []
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise InputError(f"{source}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    for n, line in enumerate(lines, 1):
        entry = line.strip()
        if entry and not entry.startswith("#"):
            out.append((f"{source}:{n}", root / entry))
    if not out:
        raise InputError(f"{source}: the file list names no image")
    return out


def make_unlabeled_lmdb(
    source: str | Path,
    output: str | Path,
    *,
    images: str | Path | None = None,
    lang: str | None = None,
    check: bool = False,
    overwrite: bool = False,
    progress: Progress | None = None,
    resume: bool = False,
) -> UnlabeledResult:
    """Write the images of `source` (a folder or a file list) into an unlabeled LMDB
    `output`, tagging them `lang` (a language code or group) when given, and the
    result (counts, every skipped entry) to `<output>.report.json`. The build
    checkpoints every `CHECKPOINT_EVERY` entries into `<output>.partial`; an
    interrupted one continues with `resume` when the entry list is unchanged."""
    source, out = Path(source), Path(output)
    tag = None
    if lang is not None:
        tag = line_lang(lang)
        if tag is None:
            raise InputError(f"--lang {lang}: not a language code or group")
    entries = list_images(source, Path(images) if images is not None else None)
    report = out.with_name(out.name + ".report.json")
    check_output(out, LMDB_KIND, [source], overwrite)
    check_replaceable(report, "report", [source])
    res = UnlabeledResult(out, lang=tag)
    meta = {"source": str(source), UNLABELED: True, "tool_command": "make-lmdb --unlabeled"}
    listing = hashlib.sha256("\n".join(str(p) for _, p in entries).encode("utf-8"))
    job = {"source": str(source.resolve()), "entries": len(entries), "lang": tag,
           "check": check, "listing": listing.hexdigest()}  # fmt: skip
    w = LmdbWriter(out, overwrite=overwrite, meta=meta, job=job, resume=resume, inputs=[source])
    start = _restore(w, res) if w.state is not None else 0
    skipped_before = {i.where for i in res.issues}  # finished entries not written
    seen = {path.resolve() for where, path in entries[:start] if where not in skipped_before}
    pending: list[UnlabeledIssue] = []
    try:
        for k in range(start, len(entries)):
            where, path = entries[k]
            why = _problem(path, seen, check)
            if why is not None:
                res.skipped[why[0]] += 1
                pending.append(UnlabeledIssue(where, why[0], why[1]))
            else:
                w.add(path.read_bytes(), None, tag)
                res.written += 1
            done = k + 1
            if done % CHECKPOINT_EVERY == 0 or done == len(entries):
                rows = json.dumps([i.__dict__ for i in pending], ensure_ascii=False)
                parts = {f"{done:012d}": rows.encode("utf-8")} if pending else {}
                w.checkpoint({"done": done, "written": res.written, "skipped": res.skipped},
                             parts)  # fmt: skip
                res.issues += pending
                pending = []
            if progress is not None and (done % 256 == 0 or done == len(entries)):
                progress(done, len(entries))
    except BaseException as e:
        w.suspend(e)
        raise
    atomic_write_text(report, json.dumps(res.to_dict(), ensure_ascii=False, indent=1))
    if res.written == 0:
        w.abort()
        kinds = ", ".join(f"{v} {k}" for k, v in res.skipped.items() if v)
        raise DataError(f"{source}: no usable image ({kinds}); nothing written, see {report}")
    w.close()
    return res


def _restore(w: LmdbWriter, res: UnlabeledResult) -> int:
    """Counts and skipped entries of the interrupted build; the entries it finished."""
    state = w.state or {}
    res.written = int(state["written"])
    res.skipped.update(state["skipped"])
    for raw in w.parts().values():
        res.issues += [UnlabeledIssue(**d) for d in json.loads(raw)]
    return int(state["done"])


def _problem(path: Path, seen: set[Path], check: bool) -> tuple[str, str] | None:
    """(kind, message) when `path` cannot be written, else None (and remembered)."""
    key = path.resolve()
    if key in seen:
        return "duplicate", f"{path}: listed again (the first entry is kept)"
    if not path.is_file():
        return "missing", f"{path}: no such file"
    why = image_problem(path.read_bytes(), decode=check)
    if why is not None:
        return "corrupt", f"{path}: {why}"
    seen.add(key)
    return None


class UnlabeledDataset(Dataset):
    """The images of one or more LMDBs as training inputs without labels.

    `__getitem__(i)` -> `transform(image bytes)` (or a `BadSample` for an image that
    cannot be decoded). Labeled LMDBs may be given too: their labels are never read.
    `labeled_sources` counts those (reported by the trainer)."""

    def __init__(
        self, paths: Sequence[str | Path], transform: Callable[[bytes], Any] | None = None
    ) -> None:
        if not paths:
            raise DataError("data.unlabeled: no LMDB given")
        self.readers = [LmdbReader(p) for p in paths]
        self.transform = transform
        self.labeled_sources = sum(not r.unlabeled for r in self.readers)
        self._offsets = [0]
        for r in self.readers:
            self._offsets.append(self._offsets[-1] + len(r))

    def __len__(self) -> int:
        return self._offsets[-1]

    def __getitem__(self, i: int) -> Any:
        if not 0 <= i < len(self):
            raise IndexError(f"unlabeled index {i} out of range 0..{len(self) - 1}")
        r = bisect.bisect_right(self._offsets, i) - 1
        reader, j = self.readers[r], i - self._offsets[r]
        try:
            image = reader.image(j)
            return self.transform(image) if self.transform is not None else image
        except (DataError, OSError, ValueError) as e:
            return BadSample(f"{reader.path}: image-{j + 1:09d}", str(e))


def collate_images(batch: list[Any]) -> tuple[torch.Tensor | None, list[BadSample]]:
    """Stack the images of an unlabeled batch; unreadable ones are dropped and returned
    (images None when none is left)."""
    bad = [x for x in batch if isinstance(x, BadSample)]
    good = [x for x in batch if not isinstance(x, BadSample)]
    return (torch.stack(good) if good else None), bad
