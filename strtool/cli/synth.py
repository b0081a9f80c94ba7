"""`strtool synth words|chars|lines|pages|stitch`: render synthetic training crops,
lines and pages straight into an LMDB."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from strtool.cli.common import (
    JsonOpt,
    LangsOpt,
    OverwriteOpt,
    QuietOpt,
    ResumeOpt,
    SeedOpt,
    WorkersOpt,
    handle_errors,
    info,
    make_progress,
    print_json,
    print_table,
    warn,
    warn_interrupted,
)
from strtool.config import load_config
from strtool.data.inspect import contact_sheet
from strtool.data.lmdb_io import LMDB_KIND, partial_path
from strtool.outputs import check_output, check_replaceable
from strtool.synth.config import SynthConfig
from strtool.synth.pipeline import Report, parse_shard

synth_app = typer.Typer(
    name="synth",
    help="Synthetic data: word, character, line and page images rendered into LMDBs.",
    no_args_is_help=True,
)

OutOpt = Annotated[
    Path,
    typer.Option("--output", "-o", help="LMDB folder to create (--overwrite: only one of ours)."),
]
FontsOpt = Annotated[
    list[Path] | None,
    typer.Option("--fonts", help="Font files or folders (default: shipped fonts)."),
]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="Synth YAML (see configs/synth/default.yaml).")
]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="Config override key.path=value.")]
ShardOpt = Annotated[
    str | None, typer.Option("--shard", help="k/n: render the k-th contiguous part of n.")
]
GridOpt = Annotated[Path | None, typer.Option("--grid", help="Also write a contact sheet PNG.")]
CorpusOpt = Annotated[
    list[Path] | None, typer.Option("--corpus", help="Text file, one entry per line.")
]
BgDirOpt = Annotated[Path | None, typer.Option("--bg-dir", help="Folder of background images.")]


def _progress_cb(progress: Any, label: str) -> Callable[[int, int], None]:
    """Progress callback; the task appears at the first call (after preparation),
    so preparation errors print without a dangling bar."""
    task: list[Any] = []

    def cb(done: int, total: int) -> None:
        if not task:
            task.append(progress.add_task(label, total=total, rate=""))
        elapsed = progress.tasks[task[0]].elapsed or 0.0
        rate = f"{done / elapsed:,.0f} img/s" if elapsed > 0 else ""
        progress.update(task[0], completed=done, total=total, rate=rate)

    return cb


def _check_outputs(
    output: Path, grid: Path | None, overwrite: bool, inputs: list[Path | None]
) -> None:
    """Refuse bad outputs before any work: an output that is or holds an input, an
    existing output without --overwrite or not made by strtool, a --grid file that is
    not a contact sheet strtool wrote."""
    ins = [p for p in inputs if p is not None]
    check_output(output, LMDB_KIND, ins, overwrite)
    if grid is not None:
        check_replaceable(grid, "sheet", ins)


def _produce(
    output: Path,
    label: str,
    grid: Path | None,
    json_out: bool,
    quiet: bool,
    make: Callable[[Callable[[int, int], None]], Report],
) -> None:
    """Run `make(progress_callback)` under a progress bar; Ctrl-C names the partial
    output a --resume continues; then the summary (`_finish`)."""
    try:
        with make_progress(quiet) as progress:
            report = make(_progress_cb(progress, label))
    except KeyboardInterrupt:
        warn_interrupted(partial_path(output))
        raise
    _finish(report, grid, json_out, quiet)


def corpus_dropped_line(dropped: dict[str, Any]) -> str:
    """One line on the --corpus entries a run did not use: how many, why, which
    characters no charset held, examples (the full counts are in `meta`)."""
    reasons = ", ".join(
        f"{k}: {v}" for k, v in dropped.items()
        if k not in ("total", "outside_chars", "examples")
    )  # fmt: skip
    line = f"{dropped['total']} --corpus entries not used ({reasons})"
    if dropped.get("outside_chars"):
        line += f"; characters outside the charsets: {dropped['outside_chars']}"
    if dropped.get("examples"):
        line += ", e.g. " + " | ".join(dropped["examples"][:5])
    return line + "; meta corpus_dropped has the counts"


def _finish(report: Report, grid: Path | None, json_out: bool, quiet: bool) -> None:
    """Grid, warnings for skipped samples, and the summary on stdout."""
    if grid is not None and report.written:
        contact_sheet(report.output, grid, n=32, shuffle=True)
        info(f"contact sheet: {grid}", quiet)
    if report.skipped:
        shown = " ".join(report.skipped_examples[:10])
        warn(f"{report.skipped} samples skipped (no font renders them), e.g. {shown}")
    user = report.extra.get("corpus_dropped", {}).get("corpus")
    if user:
        warn(corpus_dropped_line(user))
    if json_out:
        print_json(report.to_dict())
        return
    rows = [(lang, n) for lang, n in sorted(report.per_lang.items())]
    rows += [("skipped", report.skipped), ("total written", report.written)]
    title = f"{report.output}: {report.rate:,.0f} img/s"
    print_table(rows, ["lang", "samples"], title=title)


@synth_app.command("words")
@handle_errors
def words_cmd(
    output: OutOpt,
    langs: LangsOpt = None,
    num: Annotated[int, typer.Option("--num", "-n", min=1, help="Samples (all shards).")] = 1000,
    fonts: FontsOpt = None,
    config: ConfigOpt = None,
    overrides: SetOpt = None,
    corpus: CorpusOpt = None,
    bg_dir: BgDirOpt = None,
    height: Annotated[int, typer.Option("--height", help="Crop height in px.")] = 32,
    workers: WorkersOpt = 1,
    seed: SeedOpt = 0,
    shard: ShardOpt = None,
    grid: GridOpt = None,
    overwrite: OverwriteOpt = False,
    resume: ResumeOpt = False,
    unlabeled: Annotated[
        bool, typer.Option("--unlabeled", help="Drop the labels: an unlabeled LMDB.")
    ] = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Word and short-line crops (PNG, --height px high) with NFC labels and languages.
    An interrupted run keeps its finished part; the same command with --resume continues.
    --unlabeled writes the images and languages only (meta "unlabeled": true)."""
    from strtool.synth.words import synth_words

    _check_outputs(output, grid, overwrite, [config, bg_dir, *(corpus or []), *(fonts or [])])
    cfg = load_config(SynthConfig, config, list(overrides or []))
    _produce(output, "synth words", grid, json_out, quiet, lambda cb: synth_words(
        output, num, langs, cfg, fonts, seed, workers, parse_shard(shard), height,
        list(corpus or []), bg_dir, overwrite, cb,
        resume=resume, unlabeled=unlabeled,
    ))  # fmt: skip


@synth_app.command("chars")
@handle_errors
def chars_cmd(
    output: OutOpt,
    langs: LangsOpt = None,
    per_char: Annotated[int, typer.Option("--per-char", min=1, help="Samples per entry.")] = 10,
    size: Annotated[int, typer.Option("--size", help="Square crop side in px.")] = 32,
    fonts: FontsOpt = None,
    config: ConfigOpt = None,
    overrides: SetOpt = None,
    workers: WorkersOpt = 1,
    seed: SeedOpt = 0,
    shard: ShardOpt = None,
    grid: GridOpt = None,
    overwrite: OverwriteOpt = False,
    resume: ResumeOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Square crops of every charset entry (marks on their script's carrier); stores
    the subtype in `type-%09d`."""
    from strtool.synth.chars import synth_chars

    _check_outputs(output, grid, overwrite, [config, *(fonts or [])])
    cfg = load_config(SynthConfig, config, list(overrides or []))
    _produce(output, "synth chars", grid, json_out, quiet, lambda cb: synth_chars(
        output, langs, per_char, cfg, fonts, seed, size, workers, parse_shard(shard),
        overwrite, cb, resume=resume,
    ))  # fmt: skip


# ---- lines, pages and stitching (issue 11: line and page recognition) --------------


def _layout_config(config: Path | None, preset: str, overrides: list[str]) -> SynthConfig:
    """The synth config of `synth lines|pages`: --config, else the command's preset."""
    return load_config(SynthConfig, config if config is not None else preset, overrides)


@synth_app.command("lines")
@handle_errors
def lines_cmd(
    output: OutOpt,
    langs: LangsOpt = None,
    num: Annotated[int, typer.Option("--num", "-n", min=1, help="Samples (all shards).")] = 1000,
    fonts: FontsOpt = None,
    config: ConfigOpt = None,
    overrides: SetOpt = None,
    corpus: CorpusOpt = None,
    bg_dir: BgDirOpt = None,
    height: Annotated[int, typer.Option("--height", help="Crop height in px.")] = 32,
    workers: WorkersOpt = 1,
    seed: SeedOpt = 0,
    shard: ShardOpt = None,
    grid: GridOpt = None,
    overwrite: OverwriteOpt = False,
    resume: ResumeOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Single text lines (line.chars code points: words, numbers and punctuation from
    the corpora) rendered as `synth words` renders words: same fonts, shaping (Arabic
    right to left, labels in logical order), augmentations, seeds and LMDB format.
    Without --config the synth/lines preset is used."""
    from strtool.synth.lines import LINES_PRESET, synth_lines

    _check_outputs(output, grid, overwrite, [config, bg_dir, *(corpus or []), *(fonts or [])])
    cfg = _layout_config(config, LINES_PRESET, list(overrides or []))
    _produce(output, "synth lines", grid, json_out, quiet, lambda cb: synth_lines(
        output, num, langs, cfg, fonts, seed, workers, parse_shard(shard), height,
        list(corpus or []), bg_dir, overwrite, cb,
        resume=resume,
    ))  # fmt: skip


@synth_app.command("pages")
@handle_errors
def pages_cmd(
    output: OutOpt,
    langs: LangsOpt = None,
    num: Annotated[int, typer.Option("--num", "-n", min=1, help="Pages (all shards).")] = 100,
    style: Annotated[
        str | None,
        typer.Option("--style", help="handwriting, print or mixed (sets page.style)."),
    ] = None,
    fonts: FontsOpt = None,
    config: ConfigOpt = None,
    overrides: SetOpt = None,
    corpus: CorpusOpt = None,
    bg_dir: BgDirOpt = None,
    width: Annotated[int, typer.Option("--width", help="Page width in px.")] = 512,
    workers: WorkersOpt = 1,
    seed: SeedOpt = 0,
    shard: ShardOpt = None,
    grid: GridOpt = None,
    overwrite: OverwriteOpt = False,
    resume: ResumeOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Paragraph/page images of page.lines lines (ragged right, varied spacing,
    indentation, skew, warp, paper backgrounds), labelled with the lines joined by a
    line break in reading order. --style handwriting uses the handwriting-like
    shipped faces (Dancing Script, Kaushan Script, Comic Neue, Klee One, Nanum Pen,
    ...), print the others, mixed both. Without --config the synth/page preset is used."""
    from strtool.synth.page import PAGE_PRESET, synth_pages

    _check_outputs(output, grid, overwrite, [config, bg_dir, *(corpus or []), *(fonts or [])])
    sets = list(overrides or []) + ([f"page.style={style}"] if style is not None else [])
    cfg = _layout_config(config, PAGE_PRESET, sets)
    _produce(output, "synth pages", grid, json_out, quiet, lambda cb: synth_pages(
        output, num, langs, cfg, fonts, seed, workers, parse_shard(shard), width,
        list(corpus or []), bg_dir, overwrite, cb,
        resume=resume,
    ))  # fmt: skip


@synth_app.command("stitch")
@handle_errors
def stitch_cmd(
    output: OutOpt,
    source: Annotated[Path, typer.Option("--from", help="Word LMDB whose crops are composed.")],
    pages: Annotated[
        bool, typer.Option("--pages/--lines", help="Compose pages (default: lines).")
    ] = False,
    num: Annotated[int, typer.Option("--num", "-n", min=1, help="Samples (all shards).")] = 1000,
    epoch: Annotated[int, typer.Option("--epoch", min=0, help="Epoch of the compositions.")] = 0,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Stitch YAML (StitchConfig keys).")
    ] = None,
    overrides: SetOpt = None,
    workers: WorkersOpt = 1,
    seed: SeedOpt = 0,
    shard: ShardOpt = None,
    grid: GridOpt = None,
    overwrite: OverwriteOpt = False,
    resume: ResumeOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Lines (or pages) composed from the word crops of a word LMDB (a user's real
    crops too), as FPHTR augments IAM: words side by side, lines stacked, labels
    joined by spaces and line breaks. Sample i of --epoch e is fixed by (seed, e, i);
    another epoch gives new compositions."""
    from strtool.data.stitch import StitchConfig, Stitcher, StitchJob, stitch_meta
    from strtool.synth.pipeline import run_shard

    _check_outputs(output, grid, overwrite, [source, config])
    cfg = load_config(StitchConfig, config, list(overrides or []))
    stitcher = Stitcher(str(source), cfg, "pages" if pages else "lines", seed)
    _produce(output, "synth stitch", grid, json_out, quiet, lambda cb: run_shard(
        StitchJob(stitcher, epoch), output, num, parse_shard(shard),
        stitch_meta(stitcher, epoch), workers, overwrite, cb, resume, inputs=[source],
    ))  # fmt: skip
