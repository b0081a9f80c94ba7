"""`make_lmdb`: build an STR LMDB from a gt file, a folder or another LMDB.

Samples that cannot be used are skipped and listed, never dropped silently. Kinds:
`missing` (image file absent), `corrupt` (empty file, not an image by its header, or
visibly truncated: `imgcheck.header_problem`, always; does not decode with
`check=True`), `empty_label` (empty after normalisation), `malformed` (bad gt line),
`duplicate` (a later line naming an image already listed: the first line wins, see
`gt_formats.mark_duplicates`), `suspicious_label` (only with `strict=True`).
Labels with invisible or broken characters (`strtool.text.suspicious`: controls,
U+FFFD, bidi controls, zero-width spaces, BOM, stray joiners) are written but
**flagged**: listed under `flagged` in the report and counted in the summary;
`strict=True` skips them instead.
Samples with a language of their own (MLT Script, tsv language column, `lang-*` key)
keep it as their tag; `--lang` tags the others. Samples whose group is outside `--lang`
are not issues; they are counted as `filtered` (their images are not read). Images are
read and checked by `workers` processes (0: as many as there are idle cores; see
`build_prep`). The
report (`<output>.report.json`) lists every issue with its gt file and line. The LMDB
is written atomically (see `LmdbWriter`); if no sample is usable, nothing is written
and `DataError` is raised. The output and its report are replaced only with
`overwrite`, only when they are an LMDB / report strtool wrote, and never when the
output is or contains the source, the gt file or the image root
(`strtool.outputs.check_output`).

Resume: the build fills `<output>.partial` and checkpoints after every chunk of
`build_prep.CHUNK` entries (samples, counts and issues in one transaction). If the run
is interrupted (an exception, Ctrl-C, a killed process), the folder stays;
`resume=True` checks that the input is the same (source path, size and modification
time, format, entry count, --lang, --check, --strict, --compat) and continues after the last
checkpoint, giving the same LMDB and report as an uninterrupted build. Without
`resume`, an existing `.partial` is an error unless `overwrite` starts again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from strtool.data import gt_formats as gtf
from strtool.data.build_inputs import (
    InputOpts,
    escaped_gt,
    iam_fingerprint_file,
    read_iam,
    unescape_items,
)
from strtool.data.build_prep import BuildIssue, Prepared, Rules, group_tag, prepared_chunks
from strtool.data.cll import COMPAT
from strtool.data.lmdb_io import LMDB_KIND, LmdbReader
from strtool.data.lmdb_writer import LmdbWriter
from strtool.errors import DataError, InputError
from strtool.outputs import atomic_write_text, check_output, check_replaceable
from strtool.text.langs import GROUPS, lang_group, resolve_langs

__all__ = ["BuildIssue", "BuildResult", "DEFAULT_WORKERS", "ISSUE_KINDS", "group_tag"]
__all__ += ["make_lmdb", "tag_for"]

ISSUE_KINDS: tuple[str, ...] = (
    "missing", "corrupt", "empty_label", "malformed", "duplicate", "suspicious_label",
    "segmentation_err",
)  # fmt: skip
#: Processes that read and check images: 0 = auto (`build_prep.auto_workers`: idle
#: cores by load average, at most 4), 1 = this process only.
DEFAULT_WORKERS = 0

Progress = Callable[[int, int], None]


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
    #: Written samples whose label has suspicious characters (not with `strict`).
    flagged: list[BuildIssue] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the content of the report file)."""
        d = {"tool": "strtool", **asdict(self)}
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


def _entries(
    source: Path, fmt: str, images: Path | None, compat: str | None, input_opts: InputOpts
) -> tuple[str, list[gtf.GtItem]]:
    """(format, list of GtEntry | GtIssue) for a gt file or folder (or an IAM root)."""
    if fmt == "iam" or (fmt == "auto" and source.is_dir() and (source / "ascii").is_dir()):
        return "iam", read_iam(source, input_opts)
    gt = gtf.find_gt(source) if source.is_dir() else source
    root = images if images is not None else gt.parent
    if images is not None and not images.is_dir():
        raise InputError(f"--images {images}: not a folder")
    fmt = gtf.detect_format(gt) if fmt == "auto" else fmt
    if fmt == "tsv":
        items = list(gtf.parse_tsv(gt, root, allow_tabs=compat == "cll"))
        if escaped_gt(gt, input_opts.escaped):
            items = unescape_items(items)
        return fmt, gtf.mark_duplicates(items)
    if fmt == "mlt":
        return fmt, gtf.mark_duplicates(list(gtf.parse_mlt(gt, root)))
    raise InputError(f"unknown gt format '{fmt}' (use one of {', '.join(gtf.FORMATS)})")


def _default_tag(lang: str | None, fmt: str, items: list[gtf.GtItem] | None) -> str | None:
    """The `--lang` tag of samples without their own language. Several languages are
    fine only when every sample has its own (MLT, or a tsv language column on every
    line): then `--lang` only selects."""
    try:
        return tag_for(lang)
    except InputError:
        own = items is not None and all(e.lang for e in items if isinstance(e, gtf.GtEntry))
        if fmt == "mlt" or (fmt == "tsv" and own):
            return None
        raise


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
    resume: bool = False,
    strict: bool = False,
    input_opts: InputOpts | None = None,
) -> BuildResult:
    """Build the LMDB `output` from `source` (gt file, folder with a gt file, an LMDB,
    or an IAM root with `fmt="iam"`) and write `<output>.report.json`. See the module
    docstring for the rules; `input_opts`: IAM level and `err` rows, tsv escapes
    (`strtool.data.build_inputs`)."""
    opts = input_opts or InputOpts()
    t0 = time.perf_counter()
    source, output = Path(source), Path(output)
    if compat is not None and compat not in COMPAT:
        raise InputError(f"unknown --compat '{compat}' (known: {', '.join(COMPAT)})")
    allowed = {lang_group(x) for x in resolve_langs(lang)} if lang else None
    if not source.exists():
        raise InputError(f"{source}: no such gt file, folder or LMDB")
    inputs = [source, *([Path(images)] if images else [])]
    report = output.with_name(output.name + ".report.json")
    check_output(output, LMDB_KIND, inputs, overwrite)
    check_replaceable(report, "report", inputs)
    if fmt == "lmdb" or (source.is_dir() and (source / "data.mdb").exists()):
        fmt, total, items = "lmdb", len(LmdbReader(source)), None
    else:
        fmt, items = _entries(source, fmt, Path(images) if images else None, compat, opts)
        total = len(items)
    rules = Rules(check, compat, frozenset(allowed) if allowed else None, strict=strict)
    rules = replace(rules, tag=_default_tag(lang, fmt, items))
    result = BuildResult(output=output, report=report, format=fmt)
    meta = {"source": str(source), "format": fmt, "compat": compat, "lang": lang}
    job = _fingerprint(source, fmt, total, lang, check, compat)
    meta.update(opts.meta(fmt))
    job.update(opts.meta(fmt))
    if strict:  # older partial builds have no such key: only stored when set
        job["strict"] = True
    writer = LmdbWriter(output, overwrite=overwrite, meta=meta, job=job, resume=resume,
                        inputs=inputs)  # fmt: skip
    start = _restore(writer, result) if writer.state else 0
    chunks = prepared_chunks(items if items is not None else source, total, rules, workers,
                             start=start)  # fmt: skip
    _write(chunks, writer, result, total, progress)
    result.seconds = round(time.perf_counter() - t0, 3)
    _write_report(result)
    if result.written == 0:
        raise DataError(
            f"{source}: no usable sample ({_summary(result)}); nothing written, see {report}"
        )
    return result


def _fingerprint(
    source: Path, fmt: str, total: int, lang: str | None, check: bool, compat: str | None
) -> dict[str, Any]:
    """What must not change between an interrupted build and its resumption."""
    gt = source / "data.mdb" if fmt == "lmdb" else source
    if fmt == "iam":
        gt = iam_fingerprint_file(source)
    elif gt.is_dir():
        gt = gtf.find_gt(gt)
    st = gt.stat()
    return {
        "source": str(gt.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
        "format": fmt, "entries": total, "lang": lang, "check": check, "compat": compat,
    }  # fmt: skip


def _restore(writer: LmdbWriter, result: BuildResult) -> int:
    """Counts and issues of the interrupted build (the writer has checked that its
    input is the same); the number of entries it finished."""
    state = writer.state or {}
    result.skipped.update(state["skipped"])
    result.filtered = state["filtered"]
    for name, raw in writer.parts().items():
        found = [BuildIssue(**d) for d in json.loads(raw)]
        (result.flagged if name.startswith("flag-") else result.issues).extend(found)
    return int(state["done"])


def _write(
    chunks: Iterator[tuple[int, Prepared]],
    writer: LmdbWriter,
    result: BuildResult,
    total: int,
    progress: Progress | None,
) -> None:
    """Write the prepared chunks in order, checkpointing after each; fill `result`
    (issues, counts, langs). On an exception the partial build is kept for resume."""
    try:
        for done, prepared in chunks:
            writer.add_many(prepared.samples)
            result.filtered += prepared.filtered
            for issue in prepared.issues:
                result.skipped[issue.kind] += 1
            result.issues.extend(prepared.issues)
            result.flagged.extend(prepared.flags)
            state = {"done": done, "skipped": result.skipped, "filtered": result.filtered}
            parts: dict[str, bytes] = {}
            for prefix, found in (("", prepared.issues), ("flag-", prepared.flags)):
                if found:
                    rows = json.dumps([asdict(x) for x in found], ensure_ascii=False)
                    parts[f"{prefix}{done:012d}"] = rows.encode("utf-8")
            writer.checkpoint(state, parts)
            if progress:
                progress(done, total)
    except BaseException as e:
        writer.suspend(e)
        raise
    result.written, result.langs = writer.count, dict(sorted(writer.langs.items()))
    writer.meta["skipped"] = dict(result.skipped)
    writer.meta["flagged"] = len(result.flagged)
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
    atomic_write_text(result.report, json.dumps(result.to_dict(), ensure_ascii=False, indent=1))
