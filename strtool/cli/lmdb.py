"""`strtool make-lmdb` and the `strtool lmdb` group (info, validate, export, merge)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, TaskID

from strtool.cli.common import (
    JsonOpt,
    LangsOpt,
    OverwriteOpt,
    QuietOpt,
    ResumeOpt,
    SeedOpt,
    fail,
    handle_errors,
    info,
    make_progress,
    print_json,
    print_table,
    warn,
)
from strtool.data import inspect as insp
from strtool.data.build import DEFAULT_WORKERS, ISSUE_KINDS
from strtool.data.build import make_lmdb as build_lmdb
from strtool.data.lmdb_io import partial_path
from strtool.data.lmdb_tools import export, merge

lmdb_app = typer.Typer(help="Inspect, validate, export and merge STR LMDBs.", no_args_is_help=True)

FormatOpt = Annotated[
    str, typer.Option("--format", "-f", help="Input format: auto, tsv, mlt or lmdb.")
]


class _Bar:
    """Progress callback `(done, total)` drawing a bar with count, rate and ETA on
    stderr. The bar appears on the first update (a command failing before any work
    prints only its one-line error) and is removed if the command fails."""

    def __init__(self, label: str, quiet: bool) -> None:
        self.label, self.quiet = label, quiet
        self.t0 = time.perf_counter()
        self.progress: Progress | None = None
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
            if exc_type is not None:
                self.progress.live.transient = True
            self.progress.stop()


@handle_errors
def make_lmdb(
    source: Annotated[Path, typer.Argument(help="gt file, folder with a gt file, or an LMDB.")],
    output: Annotated[Path, typer.Argument(help="LMDB folder to create.")],
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
    resume: ResumeOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Build an LMDB from tsv `path<TAB>label[<TAB>lang]` or MLT `image,Script,text`
    gt (or from an LMDB).

    Bad samples (missing/corrupt image, empty label, malformed line) are skipped and
    listed in <output>.report.json. The optional tsv lang column is a language code
    or group name (ARA is stored as ar, as with --lang); any other tab in a tsv line
    makes it malformed (except with --compat cll, which has no lang column). --lang
    names one language or group and tags the samples without a language of their
    own. A sample's own language (tsv lang column, MLT Script, lang key of an input
    LMDB) overrides --lang's tag; --lang then only selects: samples whose group is
    outside it are filtered. A progress bar with rate goes to stderr (not with -q).

    An interrupted build keeps its finished part in <output>.partial; the same command
    with --resume continues it (the input must be unchanged)."""
    partial = partial_path(output)
    try:
        with _Bar("make-lmdb", quiet) as bar:
            result = build_lmdb(
                source, output, fmt=fmt, images=images, lang=lang, check=check,
                workers=workers, overwrite=overwrite, compat=compat, progress=bar,
                resume=resume,
            )  # fmt: skip
    except KeyboardInterrupt:
        if partial.exists():
            warn(f"interrupted: the finished part is kept in {partial}; "
                 "run the same command with --resume to continue")  # fmt: skip
        raise
    if json_out:
        print_json(result.to_dict())
        return
    rows = [("written", result.written)] + [
        (f"skipped: {k}", result.skipped[k]) for k in ISSUE_KINDS
    ]
    rows += [("filtered by --lang", result.filtered)] if result.filtered else []
    rows += [(f"lang {k}", v) for k, v in result.langs.items()]
    print_table(rows, ["", "samples"], title=f"{result.output} ({result.format})")
    for issue in result.issues[:10]:
        warn(f"{issue.source}:{issue.line}: {issue.kind}: {issue.message}")
    if len(result.issues) > 10:
        warn(f"... {len(result.issues) - 10} more")
    info(f"report: {result.report}", quiet)


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
    """Counts, languages, label lengths and charset coverage (with --lang)."""
    if unit not in ("codepoint", "grapheme"):
        raise fail(f"--unit must be codepoint or grapheme, got '{unit}'")
    res = insp.info(path, lang, unit)  # type: ignore[arg-type]
    if grid is not None:
        insp.contact_sheet(path, grid, n=grid_n, shuffle=shuffle, seed=seed, font=font)
        info(f"contact sheet: {grid}", quiet)
    if json_out:
        print_json(res.to_dict())
        return
    rows = [("samples", res.samples), ("distinct chars", res.distinct_chars)]
    rows += [("max length", res.max_length), ("mean length", res.mean_length)]
    rows += [(f"lang {k} ({res.langs_source})", v) for k, v in res.langs.items()]
    rows += [(f"length {k}", v) for k, v in res.length_hist.items()]
    print_table(rows, ["", "value"], title=str(path))
    if res.coverage:
        cov = [
            (c.lang, c.char_coverage, c.sample_coverage, "".join(list(c.missing)[:20]))
            for c in res.coverage
        ]
        print_table(cov, ["lang", "chars covered", "samples covered", "top missing"])


@lmdb_app.command("validate")
@handle_errors
def validate_cmd(
    path: Annotated[Path, typer.Argument(help="LMDB folder.")],
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Check every key and decode every image; exit 1 when problems are found.
    A progress bar with rate goes to stderr (not with -q)."""
    with _Bar("validate", quiet) as bar:
        problems = insp.validate(path, progress=bar)
    if json_out:
        print_json({"path": str(path), "problems": [p.__dict__ for p in problems]})
    elif problems:
        print_table([(p.index, p.key, p.message) for p in problems], ["sample", "key", "problem"])
    else:
        print_table([("problems", 0)], ["", ""], title=f"{path}: OK")
    if problems:
        raise fail(f"{path}: {len(problems)} problem(s)")


@lmdb_app.command("export")
@handle_errors
def export_cmd(
    path: Annotated[Path, typer.Argument(help="LMDB folder.")],
    out_dir: Annotated[Path, typer.Argument(help="Folder to create (images/ + gt.txt).")],
    overwrite: OverwriteOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write the images unchanged and a tsv gt.txt that make-lmdb reads back.

    gt.txt lines are `images/<file><TAB><label>`, plus `<TAB><lang>` when the sample
    has a language tag, so export -> make-lmdb keeps images, labels and languages.
    Labels with a tab or line break are skipped; tags that are not a known language
    code or group are left out; both are listed on stderr."""
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
    output: Annotated[Path, typer.Argument(help="LMDB folder to create.")],
    inputs: Annotated[list[Path], typer.Argument(help="Input LMDBs.")],
    overwrite: OverwriteOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Concatenate LMDBs, keeping languages; meta records the sources."""
    with _Bar("merge", quiet) as bar:
        langs = merge(output, inputs, overwrite, progress=bar)
    if json_out:
        print_json({"output": str(output), "samples": sum(langs.values()), "langs": langs})
    else:
        print_table(list(langs.items()), ["lang", "samples"], title=str(output))
