"""Whole-LMDB operations: `export` (back to image files + `gt.txt`) and `merge`.

Both build their output beside it and swap it in at the end (`strtool.outputs`), so a
failed run leaves an existing output as it was. `--overwrite` replaces only an export
folder strtool wrote (marker `.strtool.json`, `gt.txt`, `images/`) or an LMDB strtool
wrote, never an output that is or contains an input.

Merge rules: the same input LMDB given twice (same folder, also through another path
or a link) is refused. Samples of a later input whose image bytes equal those of an
earlier input's sample are **kept** (synthetic shards may legitimately repeat a
rendering) but counted and listed (`MergeResult.duplicates`), with the labels when
they differ. Unlabeled LMDBs (`meta` `unlabeled`) merge into an unlabeled LMDB; mixing
labeled and unlabeled inputs is refused unless `drop_labels`, which writes every
input's images (and language tags) into an unlabeled LMDB.
"""

from __future__ import annotations

import hashlib
import os
from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from strtool.data.gt_formats import line_lang
from strtool.data.lmdb_io import LMDB_KIND, UNLABELED, LmdbReader
from strtool.data.lmdb_writer import LmdbWriter
from strtool.errors import InputError
from strtool.outputs import building_dir, check_output, write_marker
from strtool.text.escape import ESCAPES, escape_text

Progress = Callable[[int, int], None]

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "png"),
    (b"\xff\xd8\xff", "jpg"),
    (b"GIF8", "gif"),
    (b"BM", "bmp"),
    (b"II*\x00", "tif"),
    (b"MM\x00*", "tif"),
)


def image_ext(data: bytes) -> str:
    """File extension for encoded image bytes (`bin` when unknown)."""
    for magic, ext in _MAGIC:
        if data.startswith(magic):
            return ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return "bin"


@dataclass
class ExportResult:
    """`export` outcome: files written, samples not exportable (index, reason), and
    samples exported without their language tag (index, tag) because it is not a
    language code or group that the tsv language column accepts."""

    out_dir: Path
    written: int
    skipped: list[tuple[int, str]] = field(default_factory=list)
    lang_dropped: list[tuple[int, str]] = field(default_factory=list)


def export(
    path: str | Path, out_dir: str | Path, overwrite: bool = False, progress: Progress | None = None
) -> ExportResult:
    """Write every sample as `images/<index>.<ext>` (bytes unchanged) and a tsv
    `gt.txt` (`images/<file><TAB><label>`, UTF-8, no BOM), with a third column
    `<TAB><lang>` for samples that have a `lang-*` tag, so that `make_lmdb` on the
    folder gives back the same images, labels and tags. Labels are written with the
    escapes of `strtool.text.escape` (a line break of a line/page label as `\\n`, a
    backslash as `\\\\`; the marker records `"escapes": "backslash-n"` and
    `make_lmdb` on the folder unescapes them). Labels containing a tab or a carriage
    return cannot be written to a tsv line: they are skipped and listed. A tag
    that is not a known language code or group is left out and listed
    (`lang_dropped`); a known one is written as `make_lmdb` will store it
    (`ARA` -> `ar`, see `gt_formats.line_lang`)."""
    reader = LmdbReader(path)
    out = Path(out_dir)
    check_output(out, "export", [path], overwrite)
    result = ExportResult(out, 0)
    lines: list[str] = []
    try:
        with building_dir(out) as tmp:
            (tmp / "images").mkdir()
            for i in range(len(reader)):
                _export_one(reader, i, tmp, lines, result)
                if progress and (i + 1) % 512 == 0:
                    progress(i + 1, len(reader))
            (tmp / "gt.txt").write_text("".join(lines), encoding="utf-8", newline="\n")
            write_marker(tmp, "export", source=str(path), samples=len(lines), escapes=ESCAPES)
    except OSError as e:
        raise InputError(f"cannot write {out}: {e.strerror or e}") from None
    if progress:
        progress(len(reader), len(reader))
    result.written = len(lines)
    return result


def _export_one(reader: LmdbReader, i: int, tmp: Path, lines: list[str], res: ExportResult) -> None:
    s = reader[i]
    if any(c in s.label for c in "\t\r"):
        res.skipped.append((i + 1, "label contains a tab or carriage return"))
        return
    name = f"images/{i + 1:09d}.{image_ext(s.image)}"
    (tmp / name).write_bytes(s.image)
    tag = line_lang(s.lang) if s.lang is not None else None
    if s.lang is not None and tag is None:
        res.lang_dropped.append((i + 1, s.lang))
    label = escape_text(s.label)
    lines.append(f"{name}\t{label}\t{tag}\n" if tag else f"{name}\t{label}\n")


def default_lang(reader: LmdbReader) -> str | None:
    """The tag to give samples of an LMDB without `lang-*` keys: its only language
    according to `meta`, else None."""
    langs = reader.meta.get("languages") or {}
    return next(iter(langs)) if isinstance(langs, dict) and len(langs) == 1 else None


@dataclass(frozen=True)
class Duplicate:
    """A merged sample whose image bytes equal those of a sample of an earlier input
    (1-based indices; `label`/`first_label` differ only for conflicting labels)."""

    input: str
    index: int
    first_input: str
    first_index: int
    label: str | None  # None: unlabeled output
    first_label: str | None

    @property
    def conflict(self) -> bool:
        return self.label != self.first_label


@dataclass
class MergeResult:
    """`merge` outcome: samples per language tag ("unknown" for untagged), the total,
    and the cross-input duplicates (all of them counted, the first `MAX_LISTED`
    listed)."""

    output: Path
    langs: dict[str, int]
    samples: int
    duplicate_count: int = 0
    conflict_count: int = 0
    duplicates: list[Duplicate] = field(default_factory=list)
    unlabeled: bool = False  # the output has no labels


#: Duplicates listed in a `MergeResult` (all are counted).
MAX_LISTED = 100


def _same_inputs(inputs: Sequence[str | Path]) -> None:
    """`InputError` when an input is given twice (same folder through any path)."""
    seen: list[Path] = []
    for p in map(Path, inputs):
        for q in seen:
            if p.resolve() == q.resolve() or (p.exists() and q.exists() and os.path.samefile(p, q)):
                raise InputError(
                    f"{p}: given twice (same LMDB as {q}); merging an LMDB with itself "
                    "would duplicate every sample"
                )
        seen.append(p)


def _digest(image: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(image, digest_size=8).digest(), "little")


def _unlabeled_output(readers: list[LmdbReader], drop_labels: bool) -> bool:
    """Whether the merge writes an unlabeled LMDB; `InputError` for labeled and
    unlabeled inputs mixed without `drop_labels`."""
    kinds = {r.unlabeled for r in readers}
    if kinds == {True, False} and not drop_labels:
        bare = next(r.path for r in readers if r.unlabeled)
        labeled = next(r.path for r in readers if not r.unlabeled)
        raise InputError(
            f"{bare} is unlabeled and {labeled} is labeled: merging them would lose "
            "labels; pass --drop-labels to write an unlabeled LMDB of all their images"
        )
    return drop_labels or kinds == {True}


def merge(
    out: str | Path,
    inputs: Sequence[str | Path],
    overwrite: bool = False,
    progress: Progress | None = None,
    drop_labels: bool = False,
) -> MergeResult:
    """Concatenate `inputs` into a new LMDB `out`, keeping each sample's language.
    `meta.sources` records every input (path, samples, its meta) and
    `meta.duplicates` the number of cross-input duplicates (see the module
    docstring for the rules, and for unlabeled inputs and `drop_labels`)."""
    if not inputs:
        raise InputError("merge needs at least one input LMDB")
    _same_inputs(inputs)
    readers = [LmdbReader(p) for p in inputs]
    check_output(out, LMDB_KIND, inputs, overwrite)
    bare = _unlabeled_output(readers, drop_labels)
    total, done = sum(len(r) for r in readers), 0
    sources = [{"path": str(r.path), "samples": len(r), "meta": r.meta} for r in readers]
    langs: Counter[str] = Counter()
    hashes: list[array] = []
    meta: dict[str, object] = {"source": "merge", "sources": sources}
    if bare:
        meta[UNLABELED] = True
    with LmdbWriter(out, overwrite=overwrite, meta=meta, inputs=inputs) as w:
        for r in readers:
            default = default_lang(r)
            h = array("Q")
            for i in range(len(r)):
                image, lang = r.image(i), r.lang(i)
                tag = lang or default
                w.add(image, None if bare else r.label(i), tag)
                h.append(_digest(image))
                langs[tag or "unknown"] += 1
                done += 1
                if progress and done % 512 == 0:
                    progress(done, total)
            hashes.append(h)
        result = MergeResult(Path(out), dict(langs.most_common()), total, unlabeled=bare)
        _find_duplicates(readers, hashes, result, bare)
        w.meta["duplicates"] = result.duplicate_count
    if progress:
        progress(total, total)
    return result


def _find_duplicates(
    readers: list[LmdbReader], hashes: list[array], res: MergeResult, bare: bool = False
) -> None:
    """Fill `res` with the samples of each input whose image hash (64-bit BLAKE2b)
    appears in an earlier input (one sort per input; the labels of the listed ones
    are read back to tell conflicts)."""
    for k in range(1, len(readers)):
        prev = np.concatenate([np.frombuffer(h, np.uint64) for h in hashes[:k]])
        order = np.argsort(prev, kind="stable")
        sorted_prev = prev[order]
        cur = np.frombuffer(hashes[k], np.uint64)
        pos = np.searchsorted(sorted_prev, cur)
        pos_ok = np.minimum(pos, len(sorted_prev) - 1)
        hit = np.nonzero((pos < len(sorted_prev)) & (sorted_prev[pos_ok] == cur))[0]
        offsets = np.cumsum([0] + [len(h) for h in hashes[:k]])
        for i in hit.tolist():
            j = int(order[pos_ok[i]])
            src = int(np.searchsorted(offsets, j, side="right") - 1)
            first = j - int(offsets[src])
            dup = Duplicate(str(readers[k].path), i + 1, str(readers[src].path), first + 1,
                            None if bare else readers[k].label(i),
                            None if bare else readers[src].label(first))  # fmt: skip
            res.duplicate_count += 1
            res.conflict_count += dup.conflict
            if len(res.duplicates) < MAX_LISTED:
                res.duplicates.append(dup)
