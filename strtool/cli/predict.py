"""`strtool predict`: recognise text in image files with any checkpoint."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated

import typer

from strtool.cli.common import (
    BeamOpt,
    JointCtcOpt,
    JsonOpt,
    LangsOpt,
    MaxWidthOpt,
    QuietOpt,
    check_device,
    handle_errors,
    info,
    print_json,
    warn,
)
from strtool.errors import InputError

if TYPE_CHECKING:
    from strtool.engine.predict import Prediction


@handle_errors
def predict_cmd(
    paths: Annotated[list[str], typer.Argument(help="Image files, folders or globs.")],
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Checkpoint (.pt), or a shipped model: default (words), lines. "
            "Default: default, or lines with --segment.",
        ),
    ] = None,
    langs: LangsOpt = None,
    batch_size: Annotated[int, typer.Option("--batch-size", "-b", min=1)] = 64,
    vertical: Annotated[
        str,
        typer.Option(
            "--vertical",
            help="Tall crops (h/w >= 1.5): auto = read as is, as upright vertical CJK "
            "glyphs and turned both ways, keep the most confident; cells; rotate; none.",
        ),
    ] = "auto",
    rotate_vertical: Annotated[
        bool, typer.Option("--rotate-vertical", help="Same as --vertical rotate.")
    ] = False,
    segment: Annotated[
        bool,
        typer.Option(
            "--segment",
            help="Each image is a page: cut it into text lines (deskewed) and read them "
            "one by one (best with a line model); prints the lines joined by line breaks "
            "(JSON: each line's text, confidence and box); --vertical does not apply.",
        ),
    ] = False,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda[:N], mps.")] = "auto",
    beam: BeamOpt = None,
    joint_ctc: JointCtcOpt = None,
    max_width: MaxWidthOpt = None,
    runtime: Annotated[
        str,
        typer.Option(
            "--runtime",
            help="torch, or onnx: run the model by ONNX Runtime on the CPU (CTC models; "
            "faster per crop, a few seconds to start; needs strtool[onnx]).",
        ),
    ] = "torch",
    skip_bad: Annotated[
        bool,
        typer.Option(
            "--skip-bad",
            help="Exit 0 even when some images cannot be read (they still get an error row).",
        ),
    ] = False,
    json_: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Print `path<TAB>text<TAB>confidence` for each image (or JSON). Every input gets a
    row: an image that cannot be read gets `path<TAB><TAB>0.0000<TAB>error: reason` (JSON:
    `error` set), a warning naming the file, and exit code 1 unless --skip-bad. In the
    TSV text a backslash is written `\\\\`, a tab `\\t` and a line break `\\n` (line
    and page models); JSON keeps the text as is and, for those models, gives `lines`
    (text and confidence of each line)."""
    from strtool.engine.orient import VERTICAL_MODES
    from strtool.engine.predict import expand_inputs, predict_paths
    from strtool.engine.reader import SHIPPED_MODELS, open_reader
    from strtool.tasks.base import DecodingOptions

    check_device(device)
    if vertical not in VERTICAL_MODES:
        raise InputError(f"--vertical: '{vertical}' is not one of {', '.join(VERTICAL_MODES)}")
    files = expand_inputs(paths)
    lang_list = [x for x in langs.split(",") if x.strip()] if langs else None
    model = model or ("lines" if segment else "default")
    rec = open_reader(model, device, lang_list, runtime,
                      decoding=DecodingOptions(beam, joint_ctc, max_width))  # fmt: skip
    via = ", ONNX Runtime" if runtime == "onnx" else ""
    what = "pages read line by line" if segment else "images"
    shipped = f"{model} " if model in SHIPPED_MODELS else ""
    info(f"{len(files)} {what}, model {shipped}({rec.config.model.arch}, {rec.family}{via})", quiet)
    preds = predict_paths(rec, files, batch_size, rotate_vertical, vertical, segment)  # type: ignore[arg-type]
    paged: list[tuple[str, int]] = []  # images read as one crop that hold several lines
    preds = _note_pages(preds, paged)
    failed = 0
    if json_:
        out = [asdict(p) for p in preds]
        failed = sum(row["error"] is not None for row in out)
        for row in out:
            if row["error"]:
                warn(row["error"])
        print_json(out)
    else:
        for p in preds:
            if p.error:
                failed += 1
                warn(p.error)
                sys.stdout.write(f"{p.path}\t\t0.0000\terror: {_one_line(p.error)}\n")
                continue
            sys.stdout.write(f"{p.path}\t{_one_line(p.text)}\t{p.confidence:.4f}\n")
    if paged:
        warn(f"{len(paged)} image(s) hold several text lines, e.g. {paged[0][0]} "
             f"({paged[0][1]} lines), and were read as one crop: read pages with "
             "--segment")  # fmt: skip
    if failed:
        warn(f"{failed} of {len(files)} image(s) could not be read" + ("" if skip_bad else
             " (exit code 1; --skip-bad exits 0)"))  # fmt: skip
        if not skip_bad:
            raise typer.Exit(1)


def _note_pages(preds: Iterable[Prediction], paged: list[tuple[str, int]]) -> Iterator[Prediction]:
    """`preds` as they come, noting in `paged` (path, lines) those that are pages."""
    for p in preds:
        if p.page_lines:
            paged.append((p.path, p.page_lines))
        yield p


def _one_line(text: str) -> str:
    """A text for one TSV field: backslash, tab and newline escaped."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
