"""Whole-LMDB operations: `export` (back to image files + `gt.txt`) and `merge`.

Both write atomically: into `<out>.tmp-<pid>` renamed onto `out` at the end.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from strtool.data.gt_formats import line_lang
from strtool.data.lmdb_io import LmdbReader, LmdbWriter
from strtool.errors import InputError

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
    folder gives back the same images, labels and tags. Labels containing a tab or a
    line break cannot be written to a tsv line: they are skipped and listed. A tag
    that is not a known language code or group is left out and listed
    (`lang_dropped`); a known one is written as `make_lmdb` will store it
    (`ARA` -> `ar`, see `gt_formats.line_lang`)."""
    reader = LmdbReader(path)
    out = Path(out_dir)
    if out.exists() and not overwrite:
        raise InputError(f"{out} exists (use --overwrite to replace it)")
    tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "images").mkdir(parents=True)
    result = ExportResult(out, 0)
    lines = []
    try:
        for i in range(len(reader)):
            s = reader[i]
            if any(c in s.label for c in "\t\n\r"):
                result.skipped.append((i + 1, "label contains a tab or line break"))
                continue
            name = f"images/{i + 1:09d}.{image_ext(s.image)}"
            (tmp / name).write_bytes(s.image)
            tag = line_lang(s.lang) if s.lang is not None else None
            if s.lang is not None and tag is None:
                result.lang_dropped.append((i + 1, s.lang))
            lines.append(f"{name}\t{s.label}\t{tag}\n" if tag else f"{name}\t{s.label}\n")
            if progress and (i + 1) % 512 == 0:
                progress(i + 1, len(reader))
        (tmp / "gt.txt").write_text("".join(lines), encoding="utf-8", newline="\n")
        if progress:
            progress(len(reader), len(reader))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        shutil.rmtree(out) if out.is_dir() else out.unlink()
    os.replace(tmp, out)
    result.written = len(lines)
    return result


def default_lang(reader: LmdbReader) -> str | None:
    """The tag to give samples of an LMDB without `lang-*` keys: its only language
    according to `meta`, else None."""
    langs = reader.meta.get("languages") or {}
    return next(iter(langs)) if isinstance(langs, dict) and len(langs) == 1 else None


def merge(
    out: str | Path,
    inputs: Sequence[str | Path],
    overwrite: bool = False,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Concatenate `inputs` into a new LMDB `out`, keeping each sample's language.
    `meta.sources` records every input (path, samples, its meta). Returns the number
    of samples per language tag ("unknown" for untagged)."""
    if not inputs:
        raise InputError("merge needs at least one input LMDB")
    readers = [LmdbReader(p) for p in inputs]
    if Path(out).resolve() in {Path(p).resolve() for p in inputs}:
        raise InputError(f"{out}: the output cannot also be an input")
    total, done = sum(len(r) for r in readers), 0
    sources = [{"path": str(r.path), "samples": len(r), "meta": r.meta} for r in readers]
    langs: Counter[str] = Counter()
    with LmdbWriter(out, overwrite=overwrite, meta={"source": "merge", "sources": sources}) as w:
        for r in readers:
            default = default_lang(r)
            for i in range(len(r)):
                s = r[i]
                tag = s.lang or default
                w.add(s.image, s.label, tag)
                langs[tag or "unknown"] += 1
                done += 1
                if progress and done % 512 == 0:
                    progress(done, total)
    if progress:
        progress(total, total)
    return dict(langs.most_common())
