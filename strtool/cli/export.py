"""`strtool export onnx`: export a checkpoint to ONNX."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from strtool.cli.common import (
    JsonOpt,
    OverwriteOpt,
    handle_errors,
    print_json,
    print_table,
    warn,
)

export_app = typer.Typer(help="Export trained models.", no_args_is_help=True)


@export_app.command("onnx")
@handle_errors
def onnx_cmd(
    model: Annotated[Path, typer.Option("--model", "-m", help="Checkpoint (.pt).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="ONNX file to write.")],
    opset: Annotated[int, typer.Option("--opset", help="ONNX opset, 11 to 20.")] = 17,
    overwrite: OverwriteOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Export to ONNX (dynamic batch) and check against PyTorch with onnxruntime.
    --overwrite replaces only an ONNX file strtool exported."""
    from strtool.engine.export import export_onnx

    result = export_onnx(model, output, opset, overwrite=overwrite)
    if result["max_abs_diff"] is None:
        warn("onnxruntime not installed: outputs not checked")
    if json_:
        print_json(result)
    else:
        print_table([[k, v] for k, v in result.items()], ["export", "value"])
