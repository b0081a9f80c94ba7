"""`strtool make-lmdb` and the `strtool lmdb` group (info, validate, export, merge)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import TaskID

from strtool.cli.common import (
    Bar,
    JsonOpt,
    LangsOpt,
    OutputAltOpt,
    OverwriteOpt,
    QuietOpt,
    ResumeOpt,
    SeedOpt,
    fail,
    handle_errors,
    info,
    make_progress,
    one_output,
    print_json,
    print_table,
    warn,
    warn_interrupted,
)
from strtool.data import inspect as insp
from strtool.data.build import DEFAULT_WORKERS, ISSUE_KINDS
from strtool.data.build import make_lmdb as build_lmdb
from strtool.data.build_inputs import InputOpts
from strtool.data.lmdb_io import partial_path
from strtool.data.lmdb_tools import export, merge
from strtool.errors import InputError
from strtool.outputs import check_replaceable
from strtool.text.normalize import as_unit

lmdb_app = typer.Typer(help="Inspect, validate, export and merge STR LMDBs.", no_args_is_help=True)

FormatOpt = Annotated[
    str, typer.Option("--format", "-f", help="Input format: auto, tsv, mlt, lmdb or iam.")
]
LevelOpt = Annotated[
    str, typer.Option("--level", help="--format iam: words, lines or pages (one per form).")
]
KeepErrOpt = Annotated[
    bool, typer.Option("--keep-err", help="--format iam: also write rows segmented 'err'.")
]
EscapedOpt = Annotated[
    bool | None,
    typer.Option(
        "--escaped/--no-escaped",
        help="tsv labels use \\n (line break), \\t (tab) and \\\\ (backslash) "
        "escapes (default: only for a folder `lmdb export` wrote).",
    ),
]


class _Bar:
    """Progress callback `(done, total)` drawing a bar with count, rate and ETA on
    stderr. The bar appears on the first update (a command failing before any work
    prints only its one-line error) and is removed if the command fails."""

    def __init__(self, label: str, quiet: bool) -> None:
        self.label, self.quiet = label, quiet
        self.t0 = time.perf_counter()
        self.progress: Bar | None = None
        self.task: TaskID | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.quiet:
            return
        if self.progress is None:
            self.progress = make_progress()
            self.progress.start()
            self.task = self.progress.add_task(self.label, total=total, rate="")
        assert self.task is not None
        elapsed = time.perf_counter() - self.t0  # since the command started
        rate = f"{done / elapsed:,.0f}/s" if elapsed > 0 else ""
        self.progress.update(self.task, completed=done, total=total, rate=rate)

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if self.progress is not None:
            self.progress.close(failed=exc_type is not None)


@handle_errors
def make_lmdb(
    source: Annotated[Path, typer.Argument(help="gt file, folder with a gt file, or an LMDB.")],
    output_arg: Annotated[
        Path | None, typer.Argument(metavar="output", help="LMDB folder to create (or -o).")
    ] = None,
    output_opt: OutputAltOpt = None,
    fmt: FormatOpt = "auto",
    images: Annotated[
        Path | None, typer.Option("--images", help="Image root (default: the gt file's folder).")
    ] = None,
    lang: LangsOpt = None,
    check: Annotated[bool, typer.Option("--check", help="Decode every image.")] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            "-j",
            min=0,
            help="Processes reading and checking images (0: idle cores by load, max 4).",
        ),
    ] = DEFAULT_WORKERS,
    overwrite: OverwriteOpt = False,
    compat: Annotated[
        str | None, typer.Option("--compat", help="'cll': convert CLL-STR labels.")
    ] = None,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Skip labels with suspicious characters (else flagged)."),
    ] = False,
    level: LevelOpt = "words",
    keep_err: KeepErrOpt = False,
    escaped: EscapedOpt = None,
    resume: ResumeOpt = False,
    unlabeled: Annotated[
        bool,
        typer.Option(
            "--unlabeled",
            help="SOURCE is a folder or a file list of images: an LMDB without labels.",
        ),
    ] = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Build an LMDB from tsv `path<TAB>label[<TAB>lang]` or MLT `image,Script,text`
    gt (or from an LMDB, or an IAM root with --format iam --level words|lines|pages).

    Bad samples (missing, empty, truncated or non-image file, an image that does not
    decode with --check, empty label, malformed line, an image listed again: the
    first line wins) are skipped and listed in <output>.report.json. Labels with
    control, bidi, zero-width or replacement characters are flagged there (with
    --strict: skipped). --overwrite replaces only an LMDB strtool wrote, never one
    holding the input. The optional tsv lang column is a language code
    or group name (ARA is stored as ar, as with --lang); any other tab in a tsv line
    makes it malformed (except with --compat cll, which has no lang column). --lang
    names one language or group and tags the samples without a language of their
    own. A sample's own language (tsv lang column, MLT Script, lang key of an input
    LMDB) overrides --lang's tag; --lang then only selects: samples whose group is
    outside it are filtered. A progress bar with rate goes to stderr (not with -q).

    Line and page labels keep their line breaks (each line normalised). A tsv written
    by `lmdb export` escapes them as \\n (and a backslash as \\\\); make-lmdb
    unescapes that folder's gt.txt (any tsv with --escaped). IAM: ascii/words.txt or
    lines.txt (else xml/*.xml) with words/, lines/ or forms/ images; rows segmented
    'err' are skipped and counted (segmentation_err) unless --keep-err; pages are the
    forms cropped to their handwritten lines, labelled with the lines joined by a
    line break.

    An interrupted build keeps its finished part in <output>.partial; the same command
    with --resume continues it (the input must be unchanged).

    --unlabeled: images of a folder (recursive) or of a file list (one path per line)
    without labels, for semi-supervised training (data.unlabeled); meta says
    "unlabeled": true. Missing, corrupt and repeated images are skipped and listed
    (<output>.report.json); --resume works as for labeled builds.

    The output is the second argument or -o/--output."""
    output = one_output(output_arg, output_opt)
    if unlabeled:
        return _make_unlabeled(source, output, images, lang, check, overwrite, resume,
                               fmt, compat, json_out, quiet)  # fmt: skip
    partial = partial_path(output)
    try:
        with _Bar("make-lmdb", quiet) as bar:
            result = build_lmdb(
                source, output, fmt=fmt, images=images, lang=lang, check=check,
                workers=workers, overwrite=overwrite, compat=compat, progress=bar,
                resume=resume, strict=strict,
                input_opts=InputOpts(level=level, keep_err=keep_err, escaped=escaped),
            )  # fmt: skip
    except KeyboardInterrupt:
        warn_interrupted(partial)
        raise
    if json_out:
        print_json(result.to_dict())
        return
    rows = [("written", result.written)] + [
        (f"skipped: {k}", result.skipped[k]) for k in ISSUE_KINDS
    ]
    rows += [("filtered by --lang", result.filtered)] if result.filtered else []
    rows += [("flagged: suspicious_label (written)", len(result.flagged))]
    rows += [(f"lang {k}", v) for k, v in result.langs.items()]
    print_table(rows, ["", "samples"], title=f"{result.output} ({result.format})")
    shown = result.issues + result.flagged
    for issue in shown[:10]:
        warn(f"{issue.source}:{issue.line}: {issue.kind}: {issue.message}")
    if len(shown) > 10:
        warn(f"... {len(shown) - 10} more")
    info(f"report: {result.report}", quiet)


def _make_unlabeled(
    source: Path, output: Path, images: Path | None, lang: str | None, check: bool,
    overwrite: bool, resume: bool, fmt: str, compat: str | None, json_out: bool, quiet: bool,
) -> None:  # fmt: skip
    """`make-lmdb --unlabeled` (`strtool.data.unlabeled.make_unlabeled_lmdb`)."""
    from strtool.data.unlabeled import make_unlabeled_lmdb

    if fmt != "auto" or compat is not None:
        raise fail("--unlabeled reads image files only: --format and --compat do not apply")
    try:
        with _Bar("make-lmdb --unlabeled", quiet) as bar:
            res = make_unlabeled_lmdb(source, output, images=images, lang=lang, check=check,
                                      overwrite=overwrite, progress=bar, resume=resume)  # fmt: skip
    except KeyboardInterrupt:
        warn_interrupted(partial_path(output))
        raise
    for issue in res.issues[:10]:
        warn(f"{issue.where}: {issue.kind}: {issue.message}")
    if len(res.issues) > 10:
        warn(f"... {len(res.issues) - 10} more")
    if json_out:
        print_json(res.to_dict())
        return
    rows = [("written (unlabeled)", res.written)]
    rows += [(f"skipped: {k}", v) for k, v in res.skipped.items()]
    print_table(rows, ["", "images"], title=str(res.output))
    info(f"report: {res.output.with_name(res.output.name + '.report.json')}", quiet)


@lmdb_app.command("info")
@handle_errors
def info_cmd(
    path: Annotated[Path, typer.Argument(help="LMDB folder.")],
    lang: LangsOpt = None,
    unit: Annotated[str, typer.Option("--unit", help="codepoint or grapheme.")] = "codepoint",
    grid: Annotated[Path | None, typer.Option("--grid", help="Write a contact sheet PNG.")] = None,
    grid_n: Annotated[int, typer.Option("--grid-n", min=1, help="Samples on the sheet.")] = 32,
    shuffle: Annotated[bool, typer.Option("--random", help="Random samples on the sheet.")] = False,
    seed: SeedOpt = 0,
    font: Annotated[Path | None, typer.Option("--font", help="Font for the labels.")] = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Counts, languages, label lengths and charset coverage (with --lang).
    --grid replaces only a contact sheet strtool wrote."""
    if unit not in ("codepoint", "grapheme"):
        raise fail(f"--unit must be codepoint or grapheme, got '{unit}'")
    if grid is not None:
        check_replaceable(grid, "sheet", [path])
    res = insp.info(path, lang, as_unit(unit))
    if grid is not None:
        insp.contact_sheet(path, grid, n=grid_n, shuffle=shuffle, seed=seed, font=font)
        info(f"contact sheet: {grid}", quiet)
    if json_out:
        print_json(res.to_dict())
        return
    rows: list[tuple[str, int | float | str]] = [("samples", res.samples)]
    if res.unlabeled:
        rows += [("labels", "none (unlabeled)")]
    else:
        rows += [("distinct chars", res.distinct_chars), ("max length", res.max_length),
                 ("mean length", res.mean_length)]  # fmt: skip
    if res.multiline:
        rows += [("multi-line labels", res.multiline), ("max lines", res.max_lines)]
    rows += [(f"lang {k} ({res.langs_source})", v) for k, v in res.langs.items()]
    rows += [(f"length {k}", v) for k, v in res.length_hist.items()]
    print_table(rows, ["", "value"], title=str(path))
    if res.coverage:  # percentages here, fractions in --json
        cov = [
            (c.lang, f"{100 * c.char_coverage:.2f}", f"{100 * c.sample_coverage:.2f}",
             "".join(list(c.missing)[:20]))
            for c in res.coverage
        ]  # fmt: skip
        print_table(cov, ["lang", "chars covered %", "samples covered %", "top missing"])


@lmdb_app.command("validate")
@handle_errors
def validate_cmd(
    path: Annotated[Path, typer.Argument(help="LMDB folder.")],
    strict: Annotated[
        bool, typer.Option("--strict", help="Also fail on flagged (suspicious) labels.")
    ] = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Check every key and decode every image; exit 1 when problems are found.
    Labels with control, bidi, zero-width or replacement characters are listed as
    flagged (exit 1 only with --strict). A progress bar goes to stderr (not with -q)."""
    with _Bar("validate", quiet) as bar:
        problems = insp.validate(path, progress=bar)
    errors = [p for p in problems if p.kind == "error"]
    flags = [p for p in problems if p.kind != "error"]
    if json_out:
        print_json({"path": str(path), "problems": [p.__dict__ for p in problems]})
    elif problems:
        rows = [(p.index, p.key, p.kind, p.message) for p in problems]
        print_table(rows, ["sample", "key", "kind", "problem"])
    else:
        print_table([("problems", 0)], ["", ""], title=f"{path}: OK")
    if errors or (strict and flags):
        raise fail(f"{path}: {len(errors)} problem(s), {len(flags)} flagged label(s)")
    if flags:
        warn(f"{path}: {len(flags)} flagged label(s) (suspicious characters)")


@lmdb_app.command("export")
@handle_errors
def export_cmd(
    path: Annotated[Path, typer.Argument(help="LMDB folder.")],
    out_arg: Annotated[
        Path | None,
        typer.Argument(metavar="out_dir", help="Folder to create (images/ + gt.txt; or -o)."),
    ] = None,
    output_opt: OutputAltOpt = None,
    overwrite: OverwriteOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write the images unchanged and a tsv gt.txt that make-lmdb reads back.

    gt.txt lines are `images/<file><TAB><label>`, plus `<TAB><lang>` when the sample
    has a language tag, so export -> make-lmdb keeps images, labels and languages.
    A line break in a (line or page) label is written \\n and a backslash \\\\
    (the folder's .strtool.json says "escapes": "backslash-n"; make-lmdb reads them
    back). Labels with a tab or carriage return are skipped; tags that are not a known language
    code or group are left out; both are listed on stderr. --overwrite replaces only
    an export folder strtool wrote (.strtool.json, gt.txt, images/), never one holding
    the input."""
    out_dir = one_output(out_arg, output_opt)
    with _Bar("export", quiet) as bar:
        res = export(path, out_dir, overwrite, progress=bar)
    for idx, why in res.skipped:
        warn(f"sample {idx}: skipped: {why}")
    for idx, tag in res.lang_dropped:
        warn(f"sample {idx}: language tag '{tag}' is not a known language or group: left out")
    if json_out:
        print_json({"out_dir": str(res.out_dir), "written": res.written, "skipped": res.skipped,
                    "lang_dropped": res.lang_dropped})  # fmt: skip
    else:
        rows = [("written", res.written), ("skipped", len(res.skipped))]
        rows += [("language tag left out", len(res.lang_dropped))] if res.lang_dropped else []
        print_table(rows, ["", "samples"], title=str(out_dir))


@lmdb_app.command("merge")
@handle_errors
def merge_cmd(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="[output] inputs",
            help="The LMDB folder to create, then the input LMDBs; with -o, only the inputs.",
        ),
    ],
    output_opt: OutputAltOpt = None,
    overwrite: OverwriteOpt = False,
    drop_labels: Annotated[
        bool,
        typer.Option("--drop-labels", help="Write an unlabeled LMDB (mixed inputs allowed)."),
    ] = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Concatenate LMDBs, keeping languages; meta records the sources.

    An input given twice is refused. A sample whose image bytes repeat a sample of an
    earlier input is kept, and counted and listed on stderr (with both labels when
    they differ). Unlabeled inputs give an unlabeled LMDB; labeled and unlabeled
    inputs together are refused unless --drop-labels (then the output is unlabeled)."""
    output, inputs = (output_opt, paths) if output_opt is not None else (paths[0], paths[1:])
    if not inputs:
        raise InputError("no input LMDB given (usage: lmdb merge -o OUTPUT INPUT...)")
    with _Bar("merge", quiet) as bar:
        res = merge(output, inputs, overwrite, progress=bar, drop_labels=drop_labels)
    for d in res.duplicates[:10]:
        what = f"other label {d.label!r} (there {d.first_label!r})" if d.conflict else "same label"
        warn(f"{d.input}:{d.index}: duplicate of {d.first_input}:{d.first_index}, {what}")
    if res.duplicate_count:
        warn(f"{res.duplicate_count} sample(s) repeat an image of an earlier input "
             f"({res.conflict_count} with another label); kept")  # fmt: skip
    if json_out:
        print_json({"output": str(output), "samples": res.samples, "langs": res.langs,
                    "duplicates": res.duplicate_count, "conflicts": res.conflict_count,
                    "unlabeled": res.unlabeled,
                    "duplicate_list": [d.__dict__ for d in res.duplicates]})  # fmt: skip
    else:
        rows = list(res.langs.items()) + [("duplicates (kept)", res.duplicate_count)]
        bare = " (unlabeled)" if res.unlabeled else ""
        print_table(rows, ["lang", "samples"], title=f"{output}{bare}")
