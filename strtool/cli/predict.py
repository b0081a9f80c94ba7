"""`strtool predict`: recognise text in image files with a checkpoint."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from strtool.cli.common import JsonOpt, QuietOpt, handle_errors, info, print_json, warn


@handle_errors
def predict_cmd(
    paths: Annotated[list[str], typer.Argument(help="Image files, folders or globs.")],
    model: Annotated[Path, typer.Option("--model", "-m", help="Checkpoint (.pt).")],
    batch_size: Annotated[int, typer.Option("--batch-size", "-b", min=1)] = 64,
    rotate_vertical: Annotated[
        bool, typer.Option("--rotate-vertical", help="Rotate crops with h/w >= 1.5 by 90 deg.")
    ] = False,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda.")] = "auto",
    json_: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Print `path<TAB>text<TAB>confidence` lines (or JSON) for each image."""
    from strtool.engine.evaluate import load_recognizer
    from strtool.engine.predict import expand_inputs, predict_paths

    files = expand_inputs(paths)
    from strtool.cli.mstr import is_mstr_model, predict_mstr_cmd  # Spotter / Refiner checkpoints

    if is_mstr_model(model):
        return predict_mstr_cmd(files, model, batch_size, device, json_, quiet)
    rec = load_recognizer(model, device)
    info(f"{len(files)} images, model {rec.config.model.arch}", quiet)
    preds = predict_paths(rec, files, batch_size, rotate_vertical)
    failed = 0
    if json_:
        out = [asdict(p) for p in preds]
        failed = sum(p["error"] is not None for p in out)
        print_json(out)
    else:
        for p in preds:
            if p.error:
                failed += 1
                warn(p.error)
                continue
            sys.stdout.write(f"{p.path}\t{p.text}\t{p.confidence:.4f}\n")
    if failed:
        warn(f"{failed} image(s) could not be read")
