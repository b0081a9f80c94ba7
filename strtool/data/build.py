"""`make_lmdb`: build an STR LMDB from a gt file, a folder or another LMDB.

Samples that cannot be used are skipped and listed, never dropped silently. Kinds:
`missing` (image file absent), `corrupt` (empty file, or does not decode with
`check=True`), `empty_label` (empty after normalisation), `malformed` (bad gt line).
MLT samples whose script group is outside `--lang` are not issues; they are counted
as `filtered`. The report (`<output>.report.json`) lists every issue with its gt file
and line. The LMDB is written atomically (see `LmdbWriter`); if no sample is usable,
nothing is written and `DataError` is raised.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from strtool.data import gt_formats as gtf
from strtool.data.cll import COMPAT
from strtool.data.imgcheck import image_problem
from strtool.data.lmdb_io import LmdbReader, LmdbWriter
from strtool.errors import DataError, InputError
from strtool.text.langs import GROUPS, lang_group, resolve_langs
from strtool.text.normalize import normalize_label

ISSUE_KINDS: tuple[str, ...] = ("missing", "corrupt", "empty_label", "malformed")
DEFAULT_WORKERS = min(4, os.cpu_count() or 1)
CHUNK = 1024

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class BuildIssue:
    """A skipped sample: kind, gt file (or LMDB) and 1-based line, image, reason."""

    kind: str
    source: str
    line: int
    image: str | None
    message: str


@dataclass
class BuildResult:
    """Outcome of `make_lmdb`: what was written and what was skipped, and why."""

    output: Path
    report: Path
    format: str
    written: int = 0
    skipped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ISSUE_KINDS, 0))
    filtered: int = 0
    langs: dict[str, int] = field(default_factory=dict)
    issues: list[BuildIssue] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the content of the report file)."""
        d = asdict(self)
        d["output"], d["report"] = str(self.output), str(self.report)
        return d


def tag_for(spec: str | None) -> str | None:
    """The per-sample language tag of a `--lang` value: the language when it names
    one language (or a group of one), else the group name. Several languages that are
    not one group -> `InputError`; unknown -> `UnknownLanguageError`."""
    if spec is None or not spec.strip():
        return None
    langs = resolve_langs(spec)
    if len(langs) == 1:
        return langs[0]
    groups = {lang_group(x) for x in langs}
    if len(groups) == 1 and set(GROUPS[next(iter(groups))]) == set(langs):
        return next(iter(groups))
    raise InputError(f"--lang '{spec}': give one language or one group per LMDB")


def group_tag(group: str) -> str:
    """Tag of an MLT group: its language when unique (`ARA` -> `ar`), else the group."""
    langs = GROUPS[group]
    return langs[0] if len(langs) == 1 else group


def _load(entry: gtf.GtEntry, decode: bool) -> tuple[bytes | None, BuildIssue | None]:
    def issue(kind: str, msg: str) -> BuildIssue:
        return BuildIssue(kind, entry.source, entry.line, str(entry.image), msg)

    try:
        with open(entry.image, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None, issue("missing", "image file not found")
    except OSError as e:
        return None, issue("missing", f"cannot read image: {e.strerror}")
    why = image_problem(data, decode)
    return (None, issue("corrupt", why)) if why else (data, None)


def _entries(source: Path, fmt: str, images: Path | None, compat: str | None):
    """(format, iterator of GtEntry | GtIssue) for a gt file or folder."""
    gt = gtf.find_gt(source) if source.is_dir() else source
    root = images if images is not None else gt.parent
    if images is not None and not images.is_dir():
        raise InputError(f"--images {images}: not a folder")
    fmt = gtf.detect_format(gt) if fmt == "auto" else fmt
    if fmt == "tsv":
        return fmt, list(gtf.parse_tsv(gt, root, allow_tabs=compat == "cll"))
    if fmt == "mlt":
        return fmt, list(gtf.parse_mlt(gt, root))
    raise InputError(f"unknown gt format '{fmt}' (use one of {', '.join(gtf.FORMATS)})")


def _lmdb_entries(path: Path, decode: bool) -> Iterator[tuple[Any, bytes | None, Any]]:
    reader = LmdbReader(path)
    for i in range(len(reader)):
        s = reader[i]
        why = image_problem(s.image, decode)
        item = gtf.GtEntry(str(path), s.label, None, str(path), i + 1)
        issue = BuildIssue("corrupt", str(path), i + 1, f"image-{i + 1:09d}", why) if why else None
        yield (item, s.lang), (None if why else s.image), issue


def _load_many(entries: list[gtf.GtEntry], decode: bool) -> list:
    return [_load(e, decode) for e in entries]


def _loaded(items: list, decode: bool, workers: int) -> Iterator[tuple[Any, bytes | None, Any]]:
    """Read (and check) image files in order. With `workers` > 1, threads load the
    next chunk (one slice per thread; file reads, zlib and OpenCV release the GIL)
    while the caller writes the current one."""
    chunks = [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]
    if workers <= 1 or not chunks:
        for chunk in chunks:
            todo = [e for e in chunk if isinstance(e, gtf.GtEntry)]
            yield from _merge(chunk, iter(_load_many(todo, decode)))
        return
    with ThreadPoolExecutor(workers) as pool:

        def submit(chunk: list) -> list:
            todo = [e for e in chunk if isinstance(e, gtf.GtEntry)]
            k = max(1, -(-len(todo) // workers))
            return [
                pool.submit(_load_many, todo[i : i + k], decode) for i in range(0, len(todo), k)
            ]

        pending = submit(chunks[0])
        for n, chunk in enumerate(chunks):
            nxt = submit(chunks[n + 1]) if n + 1 < len(chunks) else []
            yield from _merge(chunk, (r for f in pending for r in f.result()))
            pending = nxt


def _merge(chunk: list, loaded: Iterator) -> Iterator[tuple[Any, bytes | None, Any]]:
    """Interleave gt issues and loaded entries back into gt order."""
    for e in chunk:
        if isinstance(e, gtf.GtIssue):
            yield None, None, BuildIssue(e.kind, e.source, e.line, e.image, e.message)
        else:
            data, issue = next(loaded)
            yield (e, None), data, issue


def make_lmdb(
    source: str | Path,
    output: str | Path,
    *,
    fmt: str = "auto",
    images: str | Path | None = None,
    lang: str | None = None,
    check: bool = False,
    workers: int = DEFAULT_WORKERS,
    overwrite: bool = False,
    compat: str | None = None,
    progress: Progress | None = None,
) -> BuildResult:
    """Build the LMDB `output` from `source` (gt file, folder with a gt file, or an
    LMDB) and write `<output>.report.json`. See the module docstring for the rules."""
    t0 = time.perf_counter()
    source, output = Path(source), Path(output)
    if compat is not None and compat not in COMPAT:
        raise InputError(f"unknown --compat '{compat}' (known: {', '.join(COMPAT)})")
    allowed = {lang_group(x) for x in resolve_langs(lang)} if lang else None
    if output.exists() and not overwrite:
        raise InputError(f"{output} exists (use --overwrite to replace it)")
    if not source.exists():
        raise InputError(f"{source}: no such gt file, folder or LMDB")
    if fmt == "lmdb" or (source.is_dir() and (source / "data.mdb").exists()):
        fmt, total = "lmdb", len(LmdbReader(source))
        stream: Iterable = _lmdb_entries(source, check)
    else:
        fmt, items = _entries(source, fmt, Path(images) if images else None, compat)
        total, stream = len(items), _loaded(items, check, workers)
    try:
        tag = tag_for(lang)
    except InputError:
        if fmt != "mlt":  # MLT gives the language per line; --lang only filters
            raise
        tag = None
    report = output.with_name(output.name + ".report.json")
    result = BuildResult(output=output, report=report, format=fmt)
    meta = {"source": str(source), "format": fmt, "compat": compat, "lang": lang}
    _write(stream, output, overwrite, meta, result, tag, allowed, compat, total, progress)
    result.seconds = round(time.perf_counter() - t0, 3)
    _write_report(result)
    if result.written == 0:
        raise DataError(
            f"{source}: no usable sample ({_summary(result)}); nothing written, see {report}"
        )
    return result


def _write(stream, output, overwrite, meta, result, tag, allowed, compat, total, progress):
    convert = COMPAT.get(compat) if compat else None
    langs: Counter[str] = Counter()
    writer = LmdbWriter(output, overwrite=overwrite, meta=meta)
    try:
        for done, (item, data, issue) in enumerate(stream, start=1):
            if progress and (done % 512 == 0 or done == total):
                progress(done, total)
            if issue is not None:
                result.issues.append(issue)
                result.skipped[issue.kind] += 1
                continue
            entry, stored_lang = item
            if allowed is not None and entry.group is not None and entry.group not in allowed:
                result.filtered += 1
                continue
            label = normalize_label(convert(entry.label) if convert else entry.label)
            if not label:
                result.issues.append(
                    BuildIssue(
                        "empty_label", entry.source, entry.line, str(entry.image), "empty label"
                    )
                )
                result.skipped["empty_label"] += 1
                continue
            sample_lang = group_tag(entry.group) if entry.group else stored_lang or tag
            writer.add(data, label, sample_lang)
            if sample_lang:
                langs[sample_lang] += 1
        if progress:
            progress(total, total)
    except BaseException:
        writer.abort()
        raise
    result.written, result.langs = writer.count, dict(sorted(langs.items()))
    writer.meta["skipped"] = dict(result.skipped)
    if writer.count == 0:
        writer.abort()
    else:
        writer.close()


def _summary(result: BuildResult) -> str:
    parts = [f"{v} {k}" for k, v in result.skipped.items() if v]
    if result.filtered:
        parts.append(f"{result.filtered} filtered by --lang")
    return ", ".join(parts) or "input is empty"


def _write_report(result: BuildResult) -> None:
    """Write the report JSON atomically next to the output."""
    tmp = result.report.with_name(result.report.name + f".tmp-{os.getpid()}")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, result.report)
